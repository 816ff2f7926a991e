"""How one signature matches one line, and which signatures are refused.

A literal is masked (kb.matching.masking) and must appear in the masked line, whole (strict) or as its
pieces in order with a few words between them (loose). A pattern is RE2, case-insensitive, on the raw
line; user-written patterns never run in Python's ``re``. The engine applies the same rules in bulk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2

from ..models import Signature
from .masking import MASK, SEPARATORS, distinctive_letters, literal_anchor, mask_line, signature_pieces

MIN_SIGNATURE_LETTERS = 6
# How far apart the pieces of a loosely matching literal may be, in characters of the masked line.
LOOSE_GAP = 80
SPACE_CLASS = r"[\t\x0b\x0c\r ]+"


@dataclass(frozen=True)
class SignatureSpec:
    id: int
    symptom_id: int
    kind: str
    text: str


def re2_options(*, max_mem: int | None = None) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    if max_mem:
        options.max_mem = max_mem
    return options


def re2_error_reason(error: Exception) -> str:
    reason = error.args[0] if error.args else str(error)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return str(reason)


def pattern_compile(text: str) -> Any:
    """Compile a user's pattern with RE2 (case-insensitive); raises ``re2.error`` with RE2's reason."""
    return re2.compile(text, re2_options())


def literal_problem(text: str) -> str | None:
    """Why a literal cannot be a signature, or None when it can."""
    masked = mask_line(text)
    if not masked:
        return "A literal signature cannot be empty."
    if "\n" in text.strip():
        return "A signature matches one line; remove the line breaks."
    if distinctive_letters(masked) < MIN_SIGNATURE_LETTERS or not literal_anchor(masked):
        return (
            "Too generic: once numbers, ids, hosts, ports and paths are masked, too little is left "
            f"(“{masked}”). Include more of the message."
        )
    return None


def pattern_problem(text: str) -> str | None:
    """Why a pattern cannot be a signature (RE2 refuses it, or it matches everything), or None."""
    if not text.strip():
        return "A pattern cannot be empty."
    try:
        compiled = pattern_compile(text)
    except re2.error as error:
        return f"RE2 cannot compile this pattern: {re2_error_reason(error)}."
    if compiled.search("") is not None:
        return "This pattern matches an empty line, so it would match every line."
    return None


def signature_matches_line(*, kind: str, text: str, line: str) -> bool:
    """Whether one signature matches one line, exactly as the engine decides it."""
    if kind == Signature.Kind.PATTERN:
        return pattern_compile(text).search(line) is not None
    needle, masked = mask_line(text), mask_line(line)
    if not needle:
        return False
    if needle in masked:
        return True
    pieces = signature_pieces(needle)
    return len(pieces) > 1 and loose_match(tuple(pieces), masked)



def loose_match(pieces: tuple[tuple[str, bool], ...], line: str) -> bool:
    """The pieces in order, at most LOOSE_GAP characters apart; where the signature had a variable part
    (between pieces, before the first or after the last) the line must have one too."""
    first, variable_first = pieces[0]
    start = line.find(first)
    for _ in range(5):  # a few occurrences of the first piece, not all of a pathological line
        if start < 0:
            return False
        if not variable_first or MASK in line[max(0, start - LOOSE_GAP):start]:
            position, matched = start + len(first), True
            for piece, variable in pieces[1:]:
                if not piece:  # the signature ends with a variable part
                    matched = MASK in line[position:position + LOOSE_GAP]
                    break
                found = line.find(piece, position)
                if found < 0 or found - position > LOOSE_GAP or (variable and MASK not in line[position:found]):
                    matched = False
                    break
                position = found + len(piece)
            if matched:
                return True
        start = line.find(first, start + 1)
    return False



def literal_locators(masked: str) -> tuple[Any, Any]:
    """RE2 regexes that find where a masked literal sits in the raw line, for highlighting: the strict
    shape (each placeholder one variable token) and the loose one (pieces with a few words between)."""
    token = f"[^{SEPARATORS}]+"
    strict = []
    for part in re.split(f"({re.escape(MASK)})", masked):
        if part == MASK:
            strict.append(token)
        elif part:
            strict.append(re.escape(part).replace("\\ ", SPACE_CLASS))
    pieces = signature_pieces(masked)
    loose = f".{{0,{LOOSE_GAP * 2}}}?".join(
        re.escape(piece).replace("\\ ", SPACE_CLASS) for piece, _ in pieces if piece)
    if pieces and pieces[0][1]:
        loose = f"{token}[\\t ]*{loose}"
    if pieces and pieces[-1] == ("", True):
        loose = f"{loose}[\\t ]*{token}"
    return re2.compile("".join(strict), re2_options()), re2.compile(loose, re2_options())


