"""Doc-site syntax -> plain Markdown, keeping every word a reader sees.

Guides come from static-site generators that add their own syntax around Markdown: front matter, Hugo
shortcodes (`{{< warning >}}`, `{{% capture body %}}`), MkDocs admonitions (`!!! note "Title"` with an
indented body, which Markdown would otherwise read as a code block), Docusaurus admonitions (`:::tip`),
heading anchors (`{#anchor}`), inline HTML anchors (`<a name="x"></a>`), MDX imports and component tags,
Liquid tags (`{% ifversion %}`, `{% data reusables.x %}`) and DocFX alerts (`> [!NOTE]`). The markup goes;
the text inside it stays. Lines inside fenced code are never touched. Sphinx MyST adds directives
(```` ```{note} ````, `:::{tip}`, with `:option:` lines), roles (`` {kbd}`Ctrl+C` ``), targets (`(label)=`)
and `%` comments; GitHub wikis add `[[Page]]` links.

Two kinds of markup say more than their text: a Hugo shortcode that wraps code (Hugo's `{{< highlight go >}}`,
Istio's `{{< text plain >}}`) becomes the fenced block it renders as, so its output lines are read as
output; the body of an MkDocs `!!! error` (or `failure`) admonition that holds no code block becomes a
blockquote, as it renders, so the message it shows is read as a quoted message, not as prose. A MyST
directive is unwrapped the same way: a code directive (```` ```{code-block} console ````) becomes a plain
fenced block of its language, an admonition's text becomes Markdown again (an `{error}` one a blockquote),
and any other directive stays the fenced block it was.
"""

from __future__ import annotations

import html
import re

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER_RE = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+)[ \t]*(?:\n|\Z)", re.DOTALL)
# A whole line that is only a shortcode or a Liquid tag: dropped (its arguments are markup, not text).
_SHORTCODE_RE = re.compile(r"\{\{[<%]-?\s*/?\s*[\w./-]+[^\n]*?-?[%>]\}\}")
_LIQUID_RE = re.compile(r"\{%-?\s*[^\n]*?-?%\}")
_ADMONITION_RE = re.compile(r"^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[ \t]+[\w-]+)*(?:[ \t]+\"(?P<title>[^\"\n]*)\")?[ \t]*$")
# MkDocs Material content tabs: '=== "macOS"' with the tab's text indented under it, like an admonition.
_CONTENT_TAB_RE = re.compile(r"^(?P<indent>[ \t]*)===[+!]?[ \t]+\"(?P<title>[^\"\n]*)\"[ \t]*$")
_COLON_FENCE_RE = re.compile(r"^[ \t]*:{3,}[ \t]*(?:[\w-]+)?(?:\[(?P<bracket>[^\]\n]*)\]|[ \t]+(?P<title>.+?))?[ \t]*$")
_HEADING_ANCHOR_RE = re.compile(r"[ \t]*\{#[\w.:-]+\}[ \t]*$")
_HTML_ANCHOR_RE = re.compile(r"<a\s+(?:name|id)=\"[^\"\n]*\"\s*>\s*</a>|<a\s+(?:name|id)=\"[^\"\n]*\"\s*/>", re.IGNORECASE)
_MDX_IMPORT_RE = re.compile(r"^(?:import|export)\s+(?:[\w*{}\s,]+\s+from\s+)?['\"][^'\"\n]+['\"];?[ \t]*$")
# A line that is only JSX component tags (capitalised names): <TopBlock>, </Admonition>, <Tabs groupId="x">.
_COMPONENT_LINE_RE = re.compile(r"^[ \t]*(?:</?[A-Z][\w.]*(?:\s+[^<>\n]*)?/?>[ \t]*)+$")
# Admonitions whose body is the failure the reader sees, not the author's own warning ("danger", "warning").
_ERROR_ADMONITIONS = frozenset({"error", "failure", "fail"})
# Hugo shortcodes that wrap a code block: '{{< text bash yaml >}}' ... '{{< /text >}}' (the first word after
# the name is the language), '{{< highlight go "linenos=table" >}}' ... '{{< /highlight >}}'.
_CODE_SHORTCODE_RE = re.compile(
    r"^(?P<indent>[ \t]*)\{\{[<%]-?\s*(?P<name>highlight|text)(?:\s+\"?(?P<lang>[\w+#.-]+)\"?)?(?:\s[^\n]*?)?\s*-?[%>]\}\}[ \t]*$")
# MyST directives: ```{name} argument / :::{name} argument, then optional ":key: value" lines or a "---" block.
_MYST_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[\w:.-]+)\}[ \t]*(?P<arg>[^\n]*?)[ \t]*$")
_MYST_OPTION_RE = re.compile(r"^[ \t]*:[\w-]+:(?:[ \t].*)?$")
_MYST_CODE = frozenset({"code", "code-block", "sourcecode", "code-cell"})
# Directives whose content is Markdown the reader sees (admonitions, tabs, cards, dropdowns, figures).
_MYST_PROSE = frozenset({
    "admonition", "note", "warning", "tip", "hint", "important", "caution", "attention", "danger", "error",
    "seealso", "topic", "sidebar", "margin", "dropdown", "tab-set", "tab-item", "card", "grid", "grid-item",
    "grid-item-card", "versionadded", "versionchanged", "deprecated", "div", "container", "figure", "epigraph",
    "only", "todo",
})
# Directives that render no text of their own (a table of contents lists other pages).
_MYST_HIDDEN = frozenset({"toctree", "contents", "tableofcontents"})
# Directives whose argument is a title the reader sees (the others' is a version, a class or a path).
_MYST_TITLED = frozenset({"admonition", "dropdown", "tab-item", "card", "grid-item-card", "topic", "sidebar"})
_MYST_TARGET_RE = re.compile(r"^[ \t]*\([\w.:/-]+\)=[ \t]*$")
_MYST_COMMENT_RE = re.compile(r"^%(?:[ \t]|$)|^\+\+\+(?:[ \t].*)?$")
# {role}`text`: cross-references read as their text ("{ref}`Proxy settings <proxy>`" -> "Proxy settings"),
# every other role as inline code ("{kbd}`Ctrl+C`", "{command}`jupyter lab`").
_MYST_ROLE_RE = re.compile(r"(?<![^\s(\[\"'“])\{(?P<role>[a-z][\w:+.-]*)\}`(?P<text>[^`\n]+)`")
_TEXT_ROLES = frozenset({"ref", "doc", "term", "abbr", "numref", "eq", "any", "download", "guilabel",
                         "menuselection", "sub-ref", "external"})
_WIKI_LINK_RE = re.compile(r"\[\[(?:([^\]|\n]+)\|)?([^\]|\n]+)\]\]")
# An HTML preformatted block, as docs write output by hand: "<pre>" ... "</pre>", often with <code> inside.
_PRE_OPEN_RE = re.compile(r"^(?P<indent> {0,3})<pre\b[^<>]*>(?:\s*<code\b[^<>]*>)?(?P<rest>.*)$", re.IGNORECASE)
_PRE_CLOSE_RE = re.compile(r"(?:</code>\s*)?</pre>", re.IGNORECASE)
_TAG_RE = re.compile(r"</?[A-Za-z][^<>\n]*>")
# A collapsible block: "<details>" goes, its "<summary>" line is the bold line a reader sees.
_DETAILS_RE = re.compile(r"^[ \t]*</?details\b[^<>]*>[ \t]*$", re.IGNORECASE)
_SUMMARY_RE = re.compile(r"^[ \t]*(?:<details\b[^<>]*>[ \t]*)?<summary\b[^<>]*>(?P<text>.*?)</summary>[ \t]*$",
                         re.IGNORECASE)
# Inline code written as HTML, which Markdown would read as a tag: "<code>Error: spawn EACCES</code>".
_INLINE_CODE_TAG_RE = re.compile(r"<code>([^<>`\n]+)</code>", re.IGNORECASE)
_DOCFX_ALERT_RE = re.compile(r"^([ \t]*>[ \t]*)\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*$", re.IGNORECASE)


def _role_text(match: re.Match[str]) -> str:
    text = match.group("text")
    if match.group("role").split(":")[-1] in _TEXT_ROLES:
        return re.sub(r"\s*<[^<>]+>$", "", text)
    return f"`{text}`"


def _strip_inline(line: str) -> str:
    line = _SHORTCODE_RE.sub("", line)
    line = _LIQUID_RE.sub("", line)
    line = _HTML_ANCHOR_RE.sub("", line)
    line = _MYST_ROLE_RE.sub(_role_text, line)
    line = _INLINE_CODE_TAG_RE.sub(lambda m: f"`{html.unescape(m.group(1))}`", line)
    line = _WIKI_LINK_RE.sub(lambda m: m.group(1) or m.group(2), line)
    if line.lstrip().startswith("#"):
        line = _HEADING_ANCHOR_RE.sub("", line)
    return line


def _shortcode_close(name: str) -> re.Pattern[str]:
    return re.compile(r"^[ \t]*\{\{[<%]-?\s*/\s*" + name + r"\s*-?[%>]\}\}[ \t]*$")


def _code_shortcode_end(lines: list[str], start: int, name: str) -> int | None:
    """The line that closes the code shortcode opened at `start`, or None (then it is not a code block)."""
    close = _shortcode_close(name)
    return next((number for number in range(start + 1, len(lines)) if close.match(lines[number])), None)


def _body_has_fence(lines: list[str], start: int, indent: int) -> bool:
    """Whether the admonition body that starts at `start`, indented by `indent`, holds fenced code."""
    for line in lines[start:]:
        if line.strip() and len(line) - len(line.lstrip(" \t")) < indent:
            return False
        if _FENCE_RE.match(line[indent:]):
            return True
    return False


def _preformatted(lines: list[str], start: int) -> tuple[list[str], int] | None:
    """The text of the <pre> block opened on line `start` as a reader sees it (tags gone, entities decoded),
    and its last line; None when it is never closed."""
    opened = _PRE_OPEN_RE.match(lines[start])
    if opened is None:
        return None
    raw = [opened.group("rest"), *lines[start + 1:]]
    for offset, line in enumerate(raw):
        closed = _PRE_CLOSE_RE.search(line)
        if closed:
            text = [*raw[:offset], line[:closed.start()]]
            return [html.unescape(_TAG_RE.sub("", item)) for item in text if item.strip()], start + offset
    return None


def _fence_for(text: list[str]) -> str:
    """Backticks enough to fence `text` (more than any run of backticks inside it)."""
    return "`" * max(3, 1 + max((len(run) for line in text for run in re.findall(r"`+", line)), default=0))


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a block opened with `fence` (same character, at least as long, nothing after)."""
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _myst_options_end(lines: list[str], start: int) -> int:
    """The first line after a directive's options: ":key: value" lines, or a YAML block between "---" lines."""
    if start < len(lines) and lines[start].strip() == "---":
        end = next((n for n in range(start + 1, len(lines)) if lines[n].strip() == "---"), None)
        return end + 1 if end is not None else start
    while start < len(lines) and _MYST_OPTION_RE.match(lines[start]):
        start += 1
    return start


def _myst_close(lines: list[str], start: int, fence: str) -> int | None:
    """The line that closes the directive opened before `start`, skipping code fenced inside it."""
    inner: str | None = None
    for number in range(start, len(lines)):
        line = lines[number]
        if inner is not None:
            inner = None if _closes(line, inner) else inner
        elif _closes(line, fence):
            return number
        elif match := _FENCE_RE.match(line):
            inner = match.group(1)
    return None


class _Converter:
    """Walks a guide's lines once, keeping what each open construct needs to know."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.out: list[str] = []
        self.fence: str | None = None  # inside fenced code: its fence
        self.dedent: int | None = None  # inside an MkDocs admonition body: how far its lines are indented
        self.quoted = False  # that body is an error message, written out as a blockquote
        self.shortcode_end: int | None = None  # inside a code shortcode or directive: the line that closes it
        self.shortcode_fence = ""
        self.skip_until = 0  # a directive's option lines are markup
        self.directives: list[tuple[int, bool]] = []  # open MyST prose directives: closing line, quoted

    def convert(self) -> str:
        for number, line in enumerate(self.lines):
            if number >= self.skip_until:
                self.line(number, line)
        return "\n".join(self.out)

    def line(self, number: int, line: str) -> None:  # noqa: C901 - one branch per construct, in order
        if self.shortcode_end is not None:
            if number == self.shortcode_end:
                self.out.append(self.shortcode_fence)
                self.shortcode_end = None
            else:
                self.out.append(line)
            return
        if self.dedent is not None:
            if not line.strip():
                self.out.append("")
                return
            width = len(line) - len(line.lstrip(" \t"))
            if width >= self.dedent:
                line = line[self.dedent:]
                if self.quoted:
                    self.out.append(f"> {_strip_inline(line)}")
                    return
            else:
                if self.quoted:
                    self.out.append("")  # or the next paragraph would continue the quote
                self.dedent, self.quoted = None, False
        match = _FENCE_RE.match(line)
        if self.fence is not None:
            if match and match.group(1)[0] == self.fence[0] and len(match.group(1)) >= len(self.fence):
                self.fence = None
            self.out.append(line)
            return
        if self.directives and number == self.directives[-1][0]:
            self.directives.pop()
            self.out.append("")
            return
        myst = _MYST_FENCE_RE.match(line)
        if myst and self.myst_directive(number, myst):
            return
        if match:
            self.fence = match.group(1)
            self.out.append(line)
            return
        if self.directives and self.directives[-1][1] and line.strip():
            self.out.append(f"> {_strip_inline(line)}")
            return
        pre = _preformatted(self.lines, number)
        if pre is not None:
            text, last = pre
            ticks = _fence_for(text)
            self.out += [ticks, *text, ticks]
            self.skip_until = last + 1
            return
        shortcode = _CODE_SHORTCODE_RE.match(line)
        end = _code_shortcode_end(self.lines, number, shortcode.group("name")) if shortcode else None
        if shortcode and end is not None:
            self.shortcode_fence = shortcode.group("indent") + _fence_for(self.lines[number + 1:end])
            self.out.append(self.shortcode_fence + (shortcode.group("lang") or ""))
            self.shortcode_end = end
            return
        admonition = _ADMONITION_RE.match(line) or _CONTENT_TAB_RE.match(line)
        if admonition:
            # The title is text the reader sees; the body is indented one level under the marker.
            if admonition.group("title"):
                self.out += [admonition.group("indent") + admonition.group("title"), ""]
            self.dedent = len(admonition.group("indent")) + 4
            kind = admonition.groupdict().get("kind") or ""
            self.quoted = kind.lower() in _ERROR_ADMONITIONS and not _body_has_fence(self.lines, number + 1,
                                                                                      self.dedent)
            return
        colon = _COLON_FENCE_RE.match(line)
        if colon:
            title = colon.group("bracket") or colon.group("title")
            if title:
                self.out += [title, ""]
            return
        if _MDX_IMPORT_RE.match(line) or _COMPONENT_LINE_RE.match(line) or _MYST_TARGET_RE.match(line) or (
                _MYST_COMMENT_RE.match(line)):
            self.out.append("")
            return
        if _DETAILS_RE.match(line):
            self.out.append("")
            return
        summary = _SUMMARY_RE.match(line)
        if summary:
            text = html.unescape(_TAG_RE.sub("", summary.group("text"))).strip()
            self.out += ["", f"**{_strip_inline(text)}**" if text else "", ""]
            return
        alert = _DOCFX_ALERT_RE.match(line)
        if alert:
            self.out.append(alert.group(1).rstrip())
            return
        stripped = _strip_inline(line)
        if stripped != line and not stripped.strip():
            # A line that held only markup: keep a blank line so paragraphs around it stay apart.
            self.out.append("")
            return
        self.out.append(stripped)

    def myst_directive(self, number: int, myst: re.Match[str]) -> bool:
        """Write out the MyST directive opened on line `number`; False when it stays a fenced block."""
        name, fence = myst.group("name").lower(), myst.group("fence")
        if name in _MYST_CODE and fence[0] != ":":
            start = _myst_options_end(self.lines, number + 1)
            close = next((n for n in range(start, len(self.lines)) if _closes(self.lines[n], fence)), None)
            if close is None:
                return False
            language = myst.group("arg").split()[0] if myst.group("arg") else ""
            self.shortcode_fence = myst.group("indent") + fence
            self.out.append(self.shortcode_fence + language)
            self.skip_until, self.shortcode_end = start, close
            return True
        if name in _MYST_HIDDEN:
            close = _myst_close(self.lines, number + 1, fence)
            if close is None:
                return False
            self.out.append("")
            self.skip_until = close + 1
            return True
        if name not in _MYST_PROSE and fence[0] != ":":
            return False  # a colon fence holds Markdown whatever its directive; a backtick one may not
        start = _myst_options_end(self.lines, number + 1)
        close = _myst_close(self.lines, start, fence)
        if close is None:
            return False
        if myst.group("arg") and name in _MYST_TITLED:
            self.out += [_strip_inline(myst.group("arg")), ""]
        else:
            self.out.append("")
        quoted = name == "error" and not any(_FENCE_RE.match(line) for line in self.lines[start:close])
        self.directives.append((close, quoted))
        self.skip_until = start
        return True


def strip_doc_syntax(text: str) -> str:
    """The guide without doc-site markup; plain Markdown passes through unchanged."""
    text = _FRONT_MATTER_RE.sub("", text, count=1)
    return _Converter(text.split("\n")).convert()
