"""One section's blocks -> its symptoms, solutions and summary.

Labels ("**Symptoms**", "### Solution") switch the walk between lead, symptoms, solution and other
modes; tables with symptom/fix columns and code blocks of error output are read as symptoms too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import Block, blocks_of
from .classify import heading_label_kind, label_kind
from .extract import (
    ERROR_LABEL_RE,
    INTRODUCES_OUTPUT_RE,
    OUTPUT_LANGS,
    error_block_lines,
    looks_like_code,
    looks_like_error,
    message_of,
    printed_line_messages,
    prose_error_strings,
    quoted_error_strings,
    risk_for,
    shorten,
    signature_text,
    unique,
)
from .forms import message_forms
from .shapes import ParsedSolution, ParsedSymptom


@dataclass
class SectionAnalysis:
    symptoms: list[ParsedSymptom] = field(default_factory=list)
    solutions: list[ParsedSolution] = field(default_factory=list)
    summary: str = ""


class _SolutionDraft:
    def __init__(self, title: str, steps: list[str] | None = None, symptom_titles: list[str] | None = None):
        self.title = title
        self.steps = list(steps or [])
        self.symptom_titles = list(symptom_titles or [])

    def build(self) -> ParsedSolution | None:
        steps = "\n\n".join(s.strip("\n") for s in self.steps if s.strip()).strip()
        if not steps:
            return None
        return ParsedSolution(title=self.title[:255], steps_markdown=steps, risk=risk_for(steps),
                              symptom_titles=self.symptom_titles)


def add_symptom(symptoms: list[ParsedSymptom], new: ParsedSymptom) -> None:
    title = new.title.strip()
    if len(title) > 2 and title[0] in "\"“" and title[-1] in "\"”":
        title = title[1:-1]
    new.title = shorten(title, 255)
    if not new.title:
        return
    for existing in symptoms:
        if existing.title.lower() == new.title.lower():
            existing.signatures = unique(existing.signatures + new.signatures)
            existing.description = existing.description or new.description
            return
    new.signatures = unique(new.signatures)
    symptoms.append(new)


_ERROR_INTRO_RE = re.compile(r"\b(errors?|error messages?|fails? with|warns?|warnings?)\b[^.!?]{0,60}:\s*$", re.IGNORECASE)
# Emphasis and code marks, but not the underscores inside names such as ERR_REQUIRE_ESM.
_EMPHASIS_RE = re.compile(r"[*`]|(?<!\w)_+|_+(?!\w)")
_FENCED_RE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.MULTILINE | re.DOTALL)


def _blockquote_errors(source: str) -> list[str]:
    """Messages in a blockquote: each quoted line that reads as an error, and what it quotes."""
    found: list[str] = []
    paragraph: list[str] = []
    for raw in [*source.split("\n"), ""]:
        line = re.sub(r"^\s*(>\s?)+", "", raw).strip()
        if not line or line.startswith("[!"):
            # A message the author wrapped over several quoted lines is one message.
            joined = " ".join(paragraph)
            if len(paragraph) > 1 and len(joined) <= 600 and looks_like_error(joined) and not looks_like_code(joined):
                found += message_forms(message_of(joined))
            paragraph = []
            continue
        plain = _EMPHASIS_RE.sub("", line)
        paragraph.append(plain)
        if len(plain) <= 300 and looks_like_error(plain) and not looks_like_code(plain):
            found += message_forms(message_of(plain))
        found += prose_error_strings(line)
    return found


_MESSAGE_HEADER_RE = re.compile(r"\b(?:error|message)s?\b", re.IGNORECASE)


def _table_columns(header: list[str]) -> tuple[int | None, int | None, int | None]:
    symptom = cause = fix = None
    for index, cell in enumerate(header):
        lower = cell.lower()
        if symptom is None and re.search(r"symptom|error|problem|issue|message", lower):
            symptom = index
        elif cause is None and "cause" in lower:
            cause = index
        elif fix is None and re.search(r"fix|solution|action|resolution|remedy|workaround", lower):
            fix = index
    return symptom, cause, fix


def analyse_section(blocks: list[Block], *, title: str, is_problem: bool, heading_signatures: list[str]) -> SectionAnalysis:
    """Walk a section's blocks; labels switch between lead, symptoms, solution and other modes."""
    result = SectionAnalysis()
    mode = "lead"
    label_word = "Solution"
    drafts: list[_SolutionDraft] = []
    current: _SolutionDraft | None = None
    error_lines: list[str] = []
    lead_code: list[str] = []
    lead_text: list[str] = []
    cause_text = ""
    prose_errors: list[str] = []  # messages quoted in the text, outside symptom lists

    def start_default(word: str, steps: list[str] | None = None) -> _SolutionDraft:
        draft = _SolutionDraft(f"{word}: {title}", steps)
        drafts.append(draft)
        return draft

    previous_text = ""  # the paragraph right before this block, which may introduce it as output
    for position, block in enumerate(blocks):
        previous = blocks[position - 1] if position else None
        previous_text = previous.plain if previous is not None and previous.kind == "paragraph" else ""
        if block.kind == "heading":
            kind = heading_label_kind(block.plain)
            mode, current = (kind or "info"), None
            label_word = "Workaround" if kind == "workaround" else "Solution"
            continue

        quoting = mode not in ("solution", "workaround")  # a fix's quotes are commands and values
        if block.kind == "paragraph":
            prose_errors += prose_error_strings(block.source) if quoting else []
            prose_errors += [form for line in block.lines if quoting and not line.label
                             for form in printed_line_messages(line.plain)]
            for line in block.lines:
                kind = label_kind(line.label) if line.label else None
                if kind:
                    mode, current = kind, None
                    if kind == "symptoms" and line.rest:
                        # "**Error message:** Bind for ... failed": after an error label the text is the message.
                        printed = (message_forms(line.rest) if ERROR_LABEL_RE.match(line.label or "")
                                   and looks_like_error(line.rest) and not looks_like_code(line.rest) else [])
                        add_symptom(result.symptoms, ParsedSymptom(
                            title=line.rest, signatures=quoted_error_strings(line.rest_source) + printed))
                    elif kind in ("solution", "workaround"):
                        label_word = "Workaround" if kind == "workaround" else "Solution"
                        if line.rest:
                            name = line.rest.rstrip(":").strip()
                            draft_title = name if kind == "solution" and len(name) <= 120 else f"{label_word}: {title}"
                            current = _SolutionDraft(draft_title, [line.rest_source])
                            drafts.append(current)
                    elif kind == "cause" and line.rest and not cause_text:
                        cause_text = line.rest
                    continue
                if mode == "lead" and line.plain and not line.label:
                    lead_text.append(line.plain)
                elif mode == "symptoms" and line.plain:
                    add_symptom(result.symptoms, ParsedSymptom(
                        title=line.plain, signatures=quoted_error_strings(line.source)
                        + printed_line_messages(line.plain)))
                elif mode in ("solution", "workaround"):
                    current = current or start_default(label_word)
                    current.steps.append(line.source)
            if mode == "lead" and lead_text and not result.summary:
                result.summary = " ".join(lead_text)
            continue

        if not quoting:
            pass
        elif block.kind == "other" and block.source.lstrip().startswith(">"):
            prose_errors += _blockquote_errors(block.source)
        elif block.kind == "list":
            for item in block.items:
                prose_errors += prose_error_strings(_FENCED_RE.sub("", item.source))
                if "```" in item.source or "~~~" in item.source:
                    # Output shown inside a step ("3. ... you don't see messages such as: ```...```").
                    for inner in blocks_of(item.source):
                        if inner.kind == "fence":
                            prose_errors += error_block_lines(inner, is_problem=False)
            if mode not in ("symptoms", "solution", "workaround"):
                # "- **Installation failed with error 0x80070003**": a bold item that reads as an error
                # names a problem of its own.
                for item in block.items:
                    if item.bold and looks_like_error(item.bold) and not looks_like_code(item.bold):
                        add_symptom(result.symptoms, ParsedSymptom(
                            title=item.bold, signatures=[item.bold.rstrip(":").strip()]
                            + prose_error_strings(item.source.split("\n", 1)[0])))

        if block.kind == "table":
            rows = block.rows
            symptom_col, cause_col, fix_col = _table_columns(rows[0]) if rows else (None, None, None)
            if symptom_col is not None:
                for row in rows[1:]:
                    if symptom_col >= len(row) or not row[symptom_col]:
                        continue
                    cause = row[cause_col] if cause_col is not None and cause_col < len(row) else ""
                    symptom_title = row[symptom_col]
                    # Under an "Error" or "Message" header the cell is the message itself; under "Symptom"
                    # or "Problem" it describes one, and only what it quotes is a message.
                    printed = (message_forms(symptom_title) if _MESSAGE_HEADER_RE.search(rows[0][symptom_col])
                               and looks_like_error(symptom_title) and not looks_like_code(symptom_title) else [])
                    add_symptom(result.symptoms, ParsedSymptom(
                        title=symptom_title, signatures=quoted_error_strings(symptom_title) + printed,
                        description=f"Likely cause: {cause}" if cause else ""))
                    if fix_col is not None and fix_col < len(row) and row[fix_col]:
                        steps = row[fix_col] + (f"\n\nLikely cause: {cause}." if cause else "")
                        drafts.append(_SolutionDraft(row[fix_col], [steps], [shorten(symptom_title, 255)]))
                continue

        if (block.kind == "fence" and mode not in ("lead", "symptoms", "solution", "workaround")
                and ((block.info.split() or [""])[0].lower() in OUTPUT_LANGS
                     or (not block.info and INTRODUCES_OUTPUT_RE.search(previous_text)))):
            # Output shown while diagnosing or explaining a cause (not a script or a command): its error
            # lines are what a reader sees.
            error_lines += error_block_lines(block, is_problem=False,
                                             introduced=bool(INTRODUCES_OUTPUT_RE.search(previous_text)))
        elif block.kind == "fence" and not quoting and _ERROR_INTRO_RE.search(previous_text):
            # A fix that says what failure to expect ("If you then see this error:") shows output, not steps.
            error_lines += error_block_lines(block, is_problem=False, introduced=True)

        if mode in ("lead", "symptoms"):
            if block.kind == "fence":
                lines = error_block_lines(block, is_problem=is_problem or mode == "symptoms",
                                          introduced=bool(INTRODUCES_OUTPUT_RE.search(previous_text)))
                if lines or mode == "symptoms":
                    error_lines += lines or [
                        signature_text(line) for line in block.content.splitlines()
                        if line.strip() and looks_like_error(line) and not looks_like_code(line)
                    ]
                    continue
                lead_code.append(block.source)
            elif block.kind == "list" and mode == "symptoms":
                for item in block.items:
                    add_symptom(result.symptoms, ParsedSymptom(
                        title=item.plain, signatures=quoted_error_strings(item.source.split("\n", 1)[0])
                        + printed_line_messages(item.plain)))
            continue

        if mode in ("solution", "workaround"):
            if block.kind == "list" and block.items and sum(1 for it in block.items if it.bold) * 2 > len(block.items):
                for item in block.items:
                    if item.bold:
                        current = _SolutionDraft(item.bold, [item.after_bold_source])
                        drafts.append(current)
                    elif current:
                        current.steps.append(item.source)
            else:
                current = current or start_default(label_word)
                current.steps.append(block.source)

    # Messages quoted in the text that no symptom holds yet belong to the section's own symptom.
    held = {sig for symptom in result.symptoms for sig in symptom.signatures}
    error_lines += [message for message in unique(prose_errors) if message not in held]
    # The section heading itself names the problem ("Issue: Port Already in Use").
    if is_problem or error_lines or heading_signatures:
        head = ParsedSymptom(title=shorten(title, 255), signatures=unique(heading_signatures + error_lines))
        same = next((s for s in result.symptoms if s.title.lower() == head.title.lower()), None)
        if same is not None:
            result.symptoms.remove(same)
            head.signatures = unique(head.signatures + same.signatures)
            head.description = same.description
        result.symptoms.insert(0, head)
    problem = bool(is_problem or error_lines or result.symptoms)
    if problem and not drafts and lead_code:
        drafts.append(_SolutionDraft(f"Solution: {title}", lead_code))

    seen_titles: dict[str, int] = {}
    for draft in drafts:
        built = draft.build()
        if built is None:
            continue
        key = built.title.lower()
        if key in seen_titles:
            seen_titles[key] += 1
            built.title = f"{built.title} ({seen_titles[key]})"[:255]
        else:
            seen_titles[key] = 1
        result.solutions.append(built)

    if not result.summary:
        result.summary = cause_text or (result.symptoms[0].signatures[0] if result.symptoms and
                                        result.symptoms[0].signatures else "")
    result.summary = shorten(result.summary)
    return result
