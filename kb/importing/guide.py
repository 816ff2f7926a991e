"""A Markdown guide -> its problem sections. Pure: no database access.

Headings are found with markdown-it tokens (so a `# comment` inside a code block is never a heading),
label headings and bold labels stay inside their section, FAQ text is split at its questions, and a
heading whose text is all code is split into the scenarios the code describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it.token import Token

from .analysis import add_symptom, analyse_section
from .blocks import MD, MD_BLOCKS, Block, blocks_of, inline_plain
from .classify import (
    QUESTION_RE,
    SKIP_SECTION_RE,
    anchor_for,
    asked_messages,
    clean_heading,
    heading_label_kind,
    heading_messages,
    heading_name,
    label_kind,
    normalise_label,
)
from .docsyntax import strip_doc_syntax
from .errorish import looks_like_error, unique
from .extract import quoted_error_strings, risk_for, shorten, tags_for
from .forms import heading_message_forms, message_forms
from .repair import decode_guide, repair_text
from .scenarios import code_scenarios, failure_messages, scenario_section
from .shapes import GuideRejected, ParsedSection, ParsedSolution, ParsedSymptom


@dataclass
class _Heading:
    level: int
    line: int  # first line of the heading
    end: int  # line after the heading
    plain: str
    label: str | None
    segment: str = ""
    title: str = ""
    is_problem: bool = False
    signatures: list[str] = field(default_factory=list)
    path: str = ""
    skipped: bool = False
    has_children: bool = False
    parent: _Heading | None = None
    # Messages of a parent heading that has no article of its own ("I'm getting "Unable to resolve
    # module"" over three sub-sections, one per cause): each sub-section carries them.
    inherited: list[str] = field(default_factory=list)


def _body_markdown(text: str) -> str:
    """The section's Markdown, with its sub-headings moved so the first is an h2 under the title."""
    blocks_lines = text.split("\n")
    tokens = MD_BLOCKS.parse(text)
    headings = [(t.map[0], int(t.tag[1:])) for t in tokens if t.type == "heading_open" and t.level == 0 and t.map]
    if headings:
        shift = min(level for _, level in headings) - 2
        for line_no, level in headings:
            line = blocks_lines[line_no]
            stripped = line.lstrip()
            if stripped.startswith("#"):
                hashes = "#" * max(2, min(6, level - shift))
                blocks_lines[line_no] = line[: len(line) - len(stripped)] + hashes + stripped.lstrip("#")
    return "\n".join(blocks_lines).strip("\n")


def _substantial(blocks: list[Block]) -> bool:
    """Whether a parent heading's own text is more than a one-line lead-in to its sub-sections."""
    if any(b.kind in ("fence", "list", "table") for b in blocks):
        return True
    return sum(len(b.plain) for b in blocks) > 240


def _question_groups(blocks: list[Block]) -> list[tuple[str, list[Block]]] | None:
    """Split FAQ text at "Q: ..." paragraphs; None when the section has no questions."""
    groups: list[tuple[str, list[Block]]] = []
    preamble: list[Block] = []
    for block in blocks:
        question = QUESTION_RE.match(block.lines[0].plain) if block.kind == "paragraph" and block.lines else None
        if question:
            rest = [line.source for line in block.lines[1:]]
            groups.append((question.group(1).strip().strip("*").strip(), []))
            if rest:
                groups[-1][1].extend(blocks_of("\n".join(rest)))
        elif groups:
            groups[-1][1].append(block)
        else:
            preamble.append(block)
    if not groups:
        return None
    if preamble and _substantial(preamble):
        groups.insert(0, ("", preamble))
    return groups


def _section(*, title: str, path: str, anchor: str, text: str, blocks: list[Block], is_problem: bool,
             heading_signatures: list[str]) -> ParsedSection:
    analysis = analyse_section(blocks, title=title, is_problem=is_problem, heading_signatures=heading_signatures)
    body = _body_markdown(text)
    return ParsedSection(
        title=title, heading_path=path[:500], anchor=anchor, body_markdown=body,
        summary=analysis.summary, symptoms=analysis.symptoms, solutions=analysis.solutions,
        tags=tags_for(title, body),
    )


def _sections_for(heading: _Heading, text: str) -> list[ParsedSection]:
    blocks = blocks_of(text)
    if not blocks or (heading.has_children and not _substantial(blocks)):
        return []
    anchor = anchor_for(heading.plain)
    questions = _question_groups(blocks)
    if questions:
        sections = []
        for question, answer in questions:
            answer_text = "\n\n".join(b.source for b in answer)
            if not answer_text.strip():
                continue
            if not question:
                sections.append(_section(title=heading.title, path=heading.path, anchor=anchor, text=answer_text,
                                         blocks=answer, is_problem=False, heading_signatures=[]))
                continue
            body = _body_markdown(answer_text)
            q_title = shorten(question, 255)
            # The messages the question quotes or names, and those its answer shows.
            asked = quoted_error_strings(question) + [
                form for message in asked_messages(question) if looks_like_error(message)
                for form in message_forms(message)]
            shown = analyse_section(answer, title=q_title, is_problem=False,
                                    heading_signatures=asked).symptoms if asked else []
            sections.append(ParsedSection(
                title=q_title, heading_path=f"{heading.path} / {q_title}"[:500],
                anchor=f"{anchor}-{anchor_for(q_title)}"[:255], body_markdown=body,
                summary=shorten(next((b.plain for b in answer if b.kind == "paragraph"), "")),
                symptoms=shown[:1],
                solutions=[ParsedSolution(title=f"Answer: {q_title}"[:255], steps_markdown=body,
                                          risk=risk_for(body))],
                tags=tags_for(q_title, body),
            ))
        return sections

    section = _section(title=heading.title, path=heading.path, anchor=anchor, text=text, blocks=blocks,
                       is_problem=heading.is_problem, heading_signatures=heading.signatures)
    sections = [section]
    if not section.symptoms and not section.solutions:
        # A heading whose text is all code: split out the scenarios that code describes, and keep the
        # failure messages the code prints as this section's symptoms.
        messages = failure_messages("\n".join(b.content for b in blocks if b.kind == "fence"))
        for message in messages:
            add_symptom(section.symptoms, ParsedSymptom(title=message, signatures=[message]))
        for scenario in code_scenarios(blocks):
            child = scenario_section(scenario, parent_path=heading.path, parent_anchor=anchor)
            own = [m for m in messages if any(m in excerpt for _, excerpt in scenario.excerpts)]
            if own and child.symptoms:
                child.symptoms[0].signatures = unique(child.symptoms[0].signatures + own)
            sections.append(child)
    return sections


_LABEL_LINE_RE = re.compile(r"^ {0,3}(\*\*|__)([^*_\n]{1,60}?)\1")


def _separate_label_lines(text: str) -> tuple[str, list[Token] | None]:
    """Start a new paragraph at each "**Workaround**:"-style line; returns the text and, when it did not
    change, its block tokens.

    Guides write labels on the line right after a list ("- last item\n**Workaround**: ..."), which
    Markdown folds into the last list item as a lazy continuation; a blank line keeps it a label.
    """
    tokens = MD_BLOCKS.parse(text)
    code_lines: set[int] = set()
    for token in tokens:
        if token.type in ("fence", "code_block", "html_block") and token.map:
            code_lines.update(range(*token.map))
    lines = text.split("\n")
    out: list[str] = []
    for number, line in enumerate(lines):
        match = _LABEL_LINE_RE.match(line)
        if (match and number > 0 and number not in code_lines and number - 1 not in code_lines
                and lines[number - 1].strip() and label_kind(match.group(2))):
            out.append("")
        out.append(line)
    if len(out) == len(lines):
        return text, tokens
    return "\n".join(out), None


def parse_guide(text: str) -> list[ParsedSection]:
    """Split a Markdown guide into problem sections. Pure: no database access.

    Raises GuideRejected when the text has no headings at all.
    """
    text = repair_text(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    text = strip_doc_syntax(text)
    text, tokens = _separate_label_lines(text)
    lines = text.split("\n")
    tokens = tokens if tokens is not None else MD_BLOCKS.parse(text)
    headings: list[_Heading] = []
    for index, token in enumerate(tokens):
        # Level 0 only: headings in lists or quotes, and `#` lines in code, are not sections.
        if token.type == "heading_open" and token.level == 0 and token.map:
            inline = tokens[index + 1]
            plain = inline_plain(MD.parseInline(inline.content)[0].children or [])
            heading = _Heading(level=int(token.tag[1:]), line=token.map[0], end=token.map[1], plain=plain,
                               label=heading_label_kind(plain))
            heading.segment, heading.title, heading.is_problem = clean_heading(plain)
            heading.signatures = quoted_error_strings(inline.content) + [
                form for message in heading_messages(plain) if looks_like_error(message)
                for form in heading_message_forms(message)]
            if not heading.signatures:
                heading.signatures = [form for message in asked_messages(plain) if looks_like_error(message)
                                      for form in message_forms(message)] + [heading_name(plain)]
                heading.signatures = [signature for signature in heading.signatures if signature]
            headings.append(heading)
    if not headings:
        raise GuideRejected("guide has no headings, so there is nothing to split into articles")

    # A lone h1 at the top is the guide's title, not a section.
    h1s = [h for h in headings if h.level == 1]
    if len(h1s) == 1 and headings[0] is h1s[0]:
        headings = headings[1:]
    structural = [h for h in headings if not h.label]

    stack: list[_Heading] = []
    for heading in structural:
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        if stack:
            stack[-1].has_children = True
        parent = stack[-1] if stack else None
        heading.parent = parent
        heading.skipped = bool(SKIP_SECTION_RE.match(normalise_label(heading.title))) or bool(
            parent and parent.skipped)
        heading.path = f"{parent.path} / {heading.segment}" if parent else heading.segment
        stack.append(heading)

    sections: list[ParsedSection] = []
    for position, heading in enumerate(structural):
        if heading.skipped:
            continue
        end = structural[position + 1].line if position + 1 < len(structural) else len(lines)
        if heading.parent is not None and heading.parent.inherited:
            heading.signatures = unique(heading.parent.inherited + heading.signatures)
        produced = _sections_for(heading, "\n".join(lines[heading.end:end]))
        if not produced and heading.has_children:
            heading.inherited = heading.signatures
        sections += produced

    # Keys must be unique within a guide: number repeated heading paths.
    seen: dict[str, int] = {}
    for section in sections:
        count = seen.get(section.heading_path, 0) + 1
        seen[section.heading_path] = count
        if count > 1:
            section.heading_path = f"{section.heading_path[:490]} ({count})"
            section.anchor = f"{section.anchor}-{count}"[:255]
    return sections


def guide_parse_bytes(*, data: bytes, filename: str = "") -> list[ParsedSection]:
    """Decode, check and parse an uploaded guide; GuideRejected says why it cannot be imported."""
    sections = parse_guide(decode_guide(data))
    if not sections:
        raise GuideRejected("guide has no problem sections (every heading was empty or a table of contents)")
    return sections
