"""Doc-site syntax -> plain Markdown, keeping every word a reader sees.

Guides come from static-site generators that add their own syntax around Markdown: front matter, Hugo
shortcodes (`{{< warning >}}`, `{{% capture body %}}`), MkDocs admonitions (`!!! note "Title"` with an
indented body, which Markdown would otherwise read as a code block), Docusaurus admonitions (`:::tip`),
heading anchors (`{#anchor}`), inline HTML anchors (`<a name="x"></a>`), MDX imports and component tags,
Liquid tags (`{% ifversion %}`, `{% data reusables.x %}`) and DocFX alerts (`> [!NOTE]`). The markup goes;
the text inside it stays. Lines inside fenced code are never touched.

Two kinds of markup say more than their text: a Hugo shortcode that wraps code (Hugo's `{{< highlight go >}}`,
Istio's `{{< text plain >}}`) becomes the fenced block it renders as, so its output lines are read as
output; the body of an MkDocs `!!! error` (or `failure`) admonition that holds no code block becomes a
blockquote, as it renders, so the message it shows is read as a quoted message, not as prose.
"""

from __future__ import annotations

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
_DOCFX_ALERT_RE = re.compile(r"^([ \t]*>[ \t]*)\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*$", re.IGNORECASE)


def _strip_inline(line: str) -> str:
    line = _SHORTCODE_RE.sub("", line)
    line = _LIQUID_RE.sub("", line)
    line = _HTML_ANCHOR_RE.sub("", line)
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


def strip_doc_syntax(text: str) -> str:
    """The guide without doc-site markup; plain Markdown passes through unchanged."""
    text = _FRONT_MATTER_RE.sub("", text, count=1)
    out: list[str] = []
    fence: str | None = None
    dedent: int | None = None  # inside an MkDocs admonition body: how far its lines are indented
    quoted = False  # that body is an error message, written out as a blockquote
    shortcode_end: int | None = None  # inside a code shortcode: the line that closes it
    shortcode_fence = ""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if shortcode_end is not None:
            if number == shortcode_end:
                out.append(shortcode_fence)
                shortcode_end = None
            else:
                out.append(line)
            continue
        if dedent is not None:
            if not line.strip():
                out.append("")
                continue
            width = len(line) - len(line.lstrip(" \t"))
            if width >= dedent:
                line = line[dedent:]
                if quoted:
                    out.append(f"> {_strip_inline(line)}")
                    continue
            else:
                if quoted:
                    out.append("")  # or the next paragraph would continue the quote
                dedent, quoted = None, False
        match = _FENCE_RE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if match:
            fence = match.group(1)
            out.append(line)
            continue
        shortcode = _CODE_SHORTCODE_RE.match(line)
        end = _code_shortcode_end(lines, number, shortcode.group("name")) if shortcode else None
        if shortcode and end is not None:
            body = "\n".join(lines[number + 1:end])
            ticks = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
            shortcode_fence = shortcode.group("indent") + ticks
            out.append(shortcode_fence + (shortcode.group("lang") or ""))
            shortcode_end = end
            continue
        admonition = _ADMONITION_RE.match(line) or _CONTENT_TAB_RE.match(line)
        if admonition:
            # The title is text the reader sees; the body is indented one level under the marker.
            if admonition.group("title"):
                out += [admonition.group("indent") + admonition.group("title"), ""]
            dedent = len(admonition.group("indent")) + 4
            kind = admonition.groupdict().get("kind") or ""
            quoted = kind.lower() in _ERROR_ADMONITIONS and not _body_has_fence(lines, number + 1, dedent)
            continue
        colon = _COLON_FENCE_RE.match(line)
        if colon:
            title = colon.group("bracket") or colon.group("title")
            if title:
                out += [title, ""]
            continue
        if _MDX_IMPORT_RE.match(line) or _COMPONENT_LINE_RE.match(line):
            out.append("")
            continue
        alert = _DOCFX_ALERT_RE.match(line)
        if alert:
            out.append(alert.group(1).rstrip())
            continue
        stripped = _strip_inline(line)
        if stripped != line and not stripped.strip():
            # A line that held only markup: keep a blank line so paragraphs around it stay apart.
            out.append("")
            continue
        out.append(stripped)
    return "\n".join(out)
