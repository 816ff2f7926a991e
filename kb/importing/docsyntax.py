"""Doc-site syntax -> plain Markdown, keeping every word a reader sees.

Guides come from static-site generators that add their own syntax around Markdown: front matter, Hugo
shortcodes (`{{< warning >}}`, `{{% capture body %}}`), MkDocs admonitions (`!!! note "Title"` with an
indented body, which Markdown would otherwise read as a code block), Docusaurus admonitions (`:::tip`),
heading anchors (`{#anchor}`), inline HTML anchors (`<a name="x"></a>`), MDX imports and component tags,
Liquid tags (`{% ifversion %}`, `{% data reusables.x %}`) and DocFX alerts (`> [!NOTE]`). The markup goes;
the text inside it stays. Lines inside fenced code are never touched.
"""

from __future__ import annotations

import re

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER_RE = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+)[ \t]*(?:\n|\Z)", re.DOTALL)
# A whole line that is only a shortcode or a Liquid tag: dropped (its arguments are markup, not text).
_SHORTCODE_RE = re.compile(r"\{\{[<%]-?\s*/?\s*[\w./-]+[^\n]*?-?[%>]\}\}")
_LIQUID_RE = re.compile(r"\{%-?\s*[^\n]*?-?%\}")
_ADMONITION_RE = re.compile(r"^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+[\w-]+)*(?:[ \t]+\"(?P<title>[^\"\n]*)\")?[ \t]*$")
# MkDocs Material content tabs: '=== "macOS"' with the tab's text indented under it, like an admonition.
_CONTENT_TAB_RE = re.compile(r"^(?P<indent>[ \t]*)===[+!]?[ \t]+\"(?P<title>[^\"\n]*)\"[ \t]*$")
_COLON_FENCE_RE = re.compile(r"^[ \t]*:{3,}[ \t]*(?:[\w-]+)?(?:\[(?P<bracket>[^\]\n]*)\]|[ \t]+(?P<title>.+?))?[ \t]*$")
_HEADING_ANCHOR_RE = re.compile(r"[ \t]*\{#[\w.:-]+\}[ \t]*$")
_HTML_ANCHOR_RE = re.compile(r"<a\s+(?:name|id)=\"[^\"\n]*\"\s*>\s*</a>|<a\s+(?:name|id)=\"[^\"\n]*\"\s*/>", re.IGNORECASE)
_MDX_IMPORT_RE = re.compile(r"^(?:import|export)\s+(?:[\w*{}\s,]+\s+from\s+)?['\"][^'\"\n]+['\"];?[ \t]*$")
# A line that is only JSX component tags (capitalised names): <TopBlock>, </Admonition>, <Tabs groupId="x">.
_COMPONENT_LINE_RE = re.compile(r"^[ \t]*(?:</?[A-Z][\w.]*(?:\s+[^<>\n]*)?/?>[ \t]*)+$")
_DOCFX_ALERT_RE = re.compile(r"^([ \t]*>[ \t]*)\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*$", re.IGNORECASE)


def _strip_inline(line: str) -> str:
    line = _SHORTCODE_RE.sub("", line)
    line = _LIQUID_RE.sub("", line)
    line = _HTML_ANCHOR_RE.sub("", line)
    if line.lstrip().startswith("#"):
        line = _HEADING_ANCHOR_RE.sub("", line)
    return line


def strip_doc_syntax(text: str) -> str:
    """The guide without doc-site markup; plain Markdown passes through unchanged."""
    text = _FRONT_MATTER_RE.sub("", text, count=1)
    out: list[str] = []
    fence: str | None = None
    dedent: int | None = None  # inside an MkDocs admonition body: how far its lines are indented
    for line in text.split("\n"):
        if dedent is not None:
            if not line.strip():
                out.append("")
                continue
            width = len(line) - len(line.lstrip(" \t"))
            if width >= dedent:
                line = line[dedent:]
            else:
                dedent = None
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
        admonition = _ADMONITION_RE.match(line) or _CONTENT_TAB_RE.match(line)
        if admonition:
            # The title is text the reader sees; the body is indented one level under the marker.
            if admonition.group("title"):
                out += [admonition.group("indent") + admonition.group("title"), ""]
            dedent = len(admonition.group("indent")) + 4
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
