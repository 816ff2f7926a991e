"""A guide's top-level Markdown blocks (headings, paragraphs split into lines, code, lists, tables),
read from markdown-it tokens, each with the Markdown source it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

MD = MarkdownIt("commonmark", {"html": True}).enable("table")
# Block structure only (no inline parsing): enough to find headings and code blocks, at half the cost.
MD_BLOCKS = MarkdownIt("commonmark", {"html": True}).enable("table").disable("inline")


@dataclass
class Line:
    """One line of a paragraph, split at soft breaks so "**Status**: x" lines act on their own."""

    plain: str
    source: str
    label: str | None = None  # the bold label, e.g. "Solution"
    rest: str = ""  # plain text after the label
    rest_source: str = ""


@dataclass
class Block:
    kind: str  # heading, paragraph, fence, list, table, other
    source: str
    level: int = 0
    plain: str = ""
    lines: list[Line] = field(default_factory=list)
    info: str = ""
    content: str = ""
    ordered: bool = False
    items: list[Item] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Item:
    source: str  # the item's Markdown, marker removed and dedented
    plain: str  # plain text of its first paragraph
    bold: str = ""  # bold text the item starts with, if any
    after_bold_source: str = ""


def inline_plain(children: list[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(inline_plain(child.children or []))
        # html_inline is dropped on purpose: titles and summaries are plain text.
    return " ".join("".join(parts).split())


def _split_inline_lines(children: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            lines.append([])
        else:
            lines[-1].append(child)
    return lines


_BOLD_PREFIX_RE = re.compile(r"^\s*(\*\*|__)(.+?)\1\s*:?\s*")


def _label_of(children: list[Token]) -> tuple[str, str] | None:
    """(label, rest) when the line starts with bold text that is followed by a colon or nothing."""
    meaningful = [c for c in children if not (c.type == "text" and not c.content.strip())]
    if not meaningful or meaningful[0].type != "strong_open":
        return None
    depth, label_parts, close = 0, [], len(meaningful)
    for position, child in enumerate(meaningful):
        if child.type == "strong_open":
            depth += 1
        elif child.type == "strong_close":
            depth -= 1
            if depth == 0:
                close = position
                break
        elif child.type in ("text", "code_inline"):
            label_parts.append(child.content)
    label = "".join(label_parts).strip()
    rest = inline_plain(meaningful[close + 1:])
    if label.endswith(":"):
        return label.rstrip(":").strip(), rest
    if rest.startswith(":"):
        return label, rest[1:].strip()
    if not rest:
        return label, ""
    return None


def _item_of(tokens: list[Token], start: int, end: int, lines: list[str]) -> Item:
    item_open = tokens[start]
    first, last = item_open.map or (0, 0)
    raw = lines[first:last]
    marker = re.match(r"^(\s*)([-*+]|\d+[.)])(\s+|$)", raw[0]) if raw else None
    width = len(marker.group(0)) if marker else 0
    body = [raw[0][width:]] + [line[width:] if line[:width].strip() == "" else line.lstrip() for line in raw[1:]]
    source = "\n".join(body).strip("\n")
    plain, bold, after_bold = "", "", ""
    for j in range(start + 1, end):
        token = tokens[j]
        if token.type == "inline" and token.level == item_open.level + 2:
            plain = inline_plain(token.children or [])
            label = _label_of(_split_inline_lines(token.children or [])[0])
            if label:
                bold = label[0]
                first_line = source.split("\n", 1)
                stripped = _BOLD_PREFIX_RE.sub("", first_line[0], count=1)
                after_bold = "\n".join([stripped] + first_line[1:]).strip("\n")
            break
    return Item(source=source, plain=plain, bold=bold, after_bold_source=after_bold)


def _table_rows(tokens: list[Token], start: int, end: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for j in range(start, end):
        token = tokens[j]
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(inline_plain(token.children or []))
    return rows


def blocks_of(text: str) -> list[Block]:
    """The top-level blocks of a Markdown fragment, with their source lines."""
    lines = text.split("\n")
    tokens = MD.parse(text)
    blocks: list[Block] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0:
            i += 1
            continue
        end = i
        if token.nesting == 1:
            end = i + 1
            while end < len(tokens) and not (tokens[end].level == 0 and tokens[end].nesting == -1):
                end += 1
        first, last = token.map or (0, 0)
        source = "\n".join(lines[first:last])
        if token.type == "heading_open":
            inline = tokens[i + 1]
            blocks.append(Block("heading", source, level=int(token.tag[1:]),
                                 plain=inline_plain(inline.children or [])))
        elif token.type == "paragraph_open":
            inline = tokens[i + 1]
            para_lines: list[Line] = []
            for k, children in enumerate(_split_inline_lines(inline.children or [])):
                line_source = lines[first + k] if first + k < last else ""
                line = Line(plain=inline_plain(children), source=line_source)
                label = _label_of(children)
                if label:
                    line.label, line.rest = label
                    line.rest_source = _BOLD_PREFIX_RE.sub("", line_source, count=1).strip()
                para_lines.append(line)
            blocks.append(Block("paragraph", source, plain=inline_plain(inline.children or []),
                                 lines=para_lines))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("fence", source, info=(token.info or "").strip(), content=token.content))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            items = []
            for j in range(i + 1, end):
                if tokens[j].type == "list_item_open" and tokens[j].level == 1:
                    k = j + 1
                    while not (tokens[k].type == "list_item_close" and tokens[k].level == 1):
                        k += 1
                    items.append(_item_of(tokens, j, k, lines))
            blocks.append(Block("list", source, ordered=token.type == "ordered_list_open", items=items))
        elif token.type == "table_open":
            blocks.append(Block("table", source, rows=_table_rows(tokens, i, end)))
        else:
            blocks.append(Block("other", source))
        i = end + 1
    return blocks
