"""Markdown to sanitised HTML, done once on write (never per request)."""

import html
import re
from dataclasses import dataclass

import markdown
import nh3
from django.core.exceptions import ValidationError
from pygments.token import STANDARD_TYPES

# superfences (pymdown-extensions) rather than fenced_code: it also handles code blocks inside list items,
# which is how solution steps carry their commands.
EXTENSIONS = ["pymdownx.superfences", "tables", "toc", "codehilite", "sane_lists", "attr_list"]
EXTENSION_CONFIGS = {
    "codehilite": {"css_class": "highlight", "guess_lang": False},
    "toc": {"permalink": False, "toc_depth": "2-4"},
}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
# id and class only where our renderer puts them: ids on headings (the table of contents links to them),
# classes on the code highlighter's and the table of contents' div and span elements. Anything else could
# restyle the page or clobber the ids our own pages and scripts use.
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ALLOWED_ATTRIBUTES = {
    "*": {"title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "div": {"class"},
    "span": {"class"},
    **{heading: {"id"} for heading in HEADINGS},
}
_DIV_CLASSES = frozenset({"highlight", "toc"})
# The short class names Pygments gives its tokens (k, nf, s2, c1, err...), and its highlighted-line class.
_SPAN_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name) | {"hll"}
_HEADING_ID = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,99}$")
_IMG = re.compile(r"<img\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([a-z]+)="([^"]*)"')
URL_SCHEMES = {"http", "https", "mailto"}
# Long enough for any real runbook; past it, rendering on every edit or preview gets slow.
MARKDOWN_MAX_CHARS = 200_000


@dataclass(frozen=True)
class Rendered:
    html: str
    toc_html: str
    # True when the source could not be rendered (e.g. nesting too deep) and is shown escaped instead.
    degraded: bool = False


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        if tag == "div":
            kept = [name for name in value.split() if name in _DIV_CLASSES]
        else:
            kept = [name for name in value.split() if name in _SPAN_CLASSES]
        return " ".join(kept) or None
    if attribute == "id":
        return value if _HEADING_ID.match(value) else None
    return value


def _external_image_as_link(match: re.Match[str]) -> str:
    """``<img>`` of another site becomes a link to it: reading an article never fetches a third-party URL."""
    attributes = dict(_ATTRIBUTE.findall(match.group(1)))
    src = attributes.get("src", "")
    if not re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", src, re.IGNORECASE):
        return match.group(0)  # a path on this site
    label = attributes.get("alt") or "image"
    return f'<a href="{src}" rel="noopener noreferrer nofollow">{label}</a>'


def sanitize_html(html: str) -> str:
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    # nh3's output quotes and escapes every attribute, so this pattern sees well-formed tags only.
    return _IMG.sub(_external_image_as_link, cleaned) if "<img" in cleaned else cleaned


# Python-Markdown's link parser is quadratic in the number of unmatched "[" in one paragraph
# (4,000 take seconds). No real paragraph has this many, so past the limit its brackets are escaped.
MAX_BRACKETS_PER_PARAGRAPH = 200
FENCE = re.compile(r"^\s*(```|~~~)")


def _defuse_brackets(text: str) -> str:
    if text.count("[") <= MAX_BRACKETS_PER_PARAGRAPH:
        return text
    out: list[str] = []
    paragraph: list[str] = []
    in_fence = False

    def flush() -> None:
        block = "\n".join(paragraph)
        if block.count("[") > MAX_BRACKETS_PER_PARAGRAPH:
            block = block.replace("[", "\\[").replace("]", "\\]")
        out.extend(block.split("\n") if paragraph else [])
        paragraph.clear()

    for line in text.split("\n"):
        if FENCE.match(line):
            flush()
            in_fence = not in_fence
            out.append(line)
        elif in_fence:
            out.append(line)
        elif not line.strip():
            flush()
            out.append(line)
        else:
            paragraph.append(line)
    flush()
    return "\n".join(out)


INDENTED_HEADING = re.compile(r"^ {1,3}(#{1,6}(?:[ \t]|$))")


def _dedent_headings(text: str) -> str:
    """CommonMark allows up to three spaces before a "#" heading; Python-Markdown wants none."""
    if " #" not in text:
        return text
    out: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            line = INDENTED_HEADING.sub(r"\1", line)
        out.append(line)
    return "\n".join(out)


def render_markdown(text: str) -> Rendered:
    """Render Markdown with fenced code, tables, TOC and Pygments highlighting, then sanitise.

    Never raises on hostile input: pathological nesting falls back to the escaped source.
    """
    source = _dedent_headings(_defuse_brackets(text.replace("\x00", "")))
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    try:
        body = md.convert(source)
    except RecursionError:
        return Rendered(html=f"<pre>{html.escape(source)}</pre>", toc_html="", degraded=True)
    toc_html = md.toc if getattr(md, "toc_tokens", None) else ""
    return Rendered(html=sanitize_html(body), toc_html=sanitize_html(toc_html))


def render_markdown_or_error(body: str) -> str:
    """Rendered, sanitised HTML, or a ValidationError for Markdown that can only be shown escaped."""
    rendered = render_markdown(body)
    if rendered.degraded:
        # Deeply nested lists/quotes exceed Python-Markdown's recursion limit; tell the editor, not a 500.
        raise ValidationError(
            "This Markdown could not be rendered (nesting too deep). Check for very deeply nested lists or quotes.",
            code="unrenderable",
        )
    return rendered.html
