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


# Words every error message uses: a masked literal made only of these ("# not found", "error: #",
# "failed with #") would match ordinary log lines such as Spark's "Partition rdd_2_1 not found".
_GENERIC_TEXT = """
a an the and or but not no nor is are was were be been being has have had do does did to of in on at by for
from with as into onto than then this that these those it its there here so if when while after before
error errors err fail failed fails failing failure fatal warn warning warnings info debug trace notice
exception exceptions found unable cannot can can't could couldn't invalid unknown missing denied refused
timeout timed out ok true false null none nil status code exit message see got get while please
"""
GENERIC_WORDS = frozenset(_GENERIC_TEXT.split())
_WORD_RE = re.compile(r"[^\W\d_][\w'-]*")


def distinctive_words(masked: str) -> list[str]:
    """The words of a masked literal that are not shared by every error message."""
    return [word for word in _WORD_RE.findall(masked) if word not in GENERIC_WORDS and len(word) >= 3]


def literal_problem(text: str) -> str | None:
    """Why a literal cannot be a signature, or None when it can.

    Masked, it must keep at least MIN_SIGNATURE_LETTERS letters and one distinctive word (one that not
    every error message uses): masking turns "404 Not Found" into "# not found", which the clean INFO
    line "Partition rdd_2_1 not found" would match. Such a message is a pattern (code_pattern) instead.
    """
    masked = mask_line(text)
    if not masked:
        return "A literal signature cannot be empty."
    if "\n" in text.strip():
        return "A signature matches one line; remove the line breaks."
    if (distinctive_letters(masked) < MIN_SIGNATURE_LETTERS or not literal_anchor(masked)
            or not distinctive_words(masked)):
        return (
            "Too generic: once numbers, ids, hosts, ports and paths are masked, too little is left "
            f"(“{masked}”). Include more of the message."
        )
    return None


# Codes that name an error on their own, which masking would turn into "#": HTTP statuses with their
# reason, hex and HRESULT codes, numbered codes such as P1001 (strong), and small numbers after "error",
# "status" or "code" (weak: "Error 1", "exit status 2").
_STRONG_CODE_RE = re.compile(r"^(?:0x[0-9a-f]{2,16}|[A-Z]{1,4}\d{3,5})$", re.IGNORECASE)
_HTTP_STATUS_RE = re.compile(r"^[1-5]\d\d$")
_WEAK_CODE_RE = re.compile(r"^-?\d{1,5}$")
_CODE_WORDS = ("error", "code", "status", "errno", "exit")
_PLACEHOLDER_TOKEN_RE = re.compile(r"\{[^{}]*\}")
_LETTERS_RE = re.compile(r"[^\W\d_]")


def _code_strength(tokens: list[str], position: int) -> int:
    """2 for a strong code at tokens[position], 1 for a weak one, 0 for none."""
    core = tokens[position].strip(".,:;()[]\"'`")
    if not core:
        return 0
    if _STRONG_CODE_RE.match(core) and (core.lower().startswith("0x") or any(c.isalpha() for c in core)):
        return 2
    following = tokens[position + 1] if position + 1 < len(tokens) else ""
    if _HTTP_STATUS_RE.match(core) and following[:1].isupper():
        return 2
    previous = tokens[position - 1].lower().strip(":") if position > 0 else ""
    if _WEAK_CODE_RE.match(core) and previous in _CODE_WORDS:
        return 1
    return 0


def code_pattern(text: str) -> str | None:
    """An RE2 pattern for a message whose code identifies it (``404 Not Found``, ``Error: 0x80070003``,
    ``make: *** [all] Error 1``), or None when it names no code or too little besides.

    The code stays literal; every other variable token (paths, hosts, ids, placeholders) matches any
    token, other words literally, whitespace flexibly. Word boundaries at both ends stop ``404`` from
    matching inside ``14044``.
    """
    tokens = text.strip().split()
    if not tokens or len(tokens) > 40:
        return None
    parts: list[str] = []
    strongest, letters = 0, 0
    for position, token in enumerate(tokens):
        strength = _code_strength(tokens, position)
        if strength:
            strongest = max(strongest, strength)
            parts.append(re.escape(token))
        elif any(ch.isdigit() or ch in "/\\" for ch in token) or _PLACEHOLDER_TOKEN_RE.search(token):
            parts.append(r"\S+")
        else:
            letters += len(_LETTERS_RE.findall(token))
            parts.append(re.escape(token))
    # A bare code ("P1001") or a code with one short word says too little to be read off any log line.
    if not strongest or letters < 4:
        return None
    body = r"\s+".join(parts)
    start = r"\b" if re.match(r"\w", tokens[0]) else ""
    end = r"\b" if re.search(r"\w$", tokens[-1]) else ""
    return f"{start}{body}{end}"


_IDENTIFIER_RE = re.compile(r"^(?:[A-Z][A-Z0-9_]{3,}|\w*[a-z][A-Z]\w*|\w+[._]\w+(?:[._]\w+)*)$")


def signature_for_message(text: str) -> tuple[str, str] | None:
    """How an error message a guide quotes is stored as a signature: (kind, text), or None when it is
    too generic to be one.

    A strong code (HTTP status with reason, hex code, P1001) must be matched, so the message becomes a
    pattern that keeps it. Otherwise it is a masked literal, if enough survives masking; a literal that
    is too generic but carries a weak code ("500 Error", "exit status 2") becomes a pattern with it.
    """
    text = " ".join(text.split())
    if not text or len(text) > 500:
        return None
    tokens = text.split()
    strongest = max((_code_strength(tokens, i) for i in range(len(tokens))), default=0)
    pattern = code_pattern(text) if strongest else None
    if pattern and (strongest == 2 or literal_problem(text)):
        return Signature.Kind.PATTERN.value, pattern
    if len(tokens) == 1 and not _IDENTIFIER_RE.match(text):
        # One plain word ("permissions") is a topic, not a message; ENOENT and ImagePullBackOff are names.
        return None
    if literal_problem(text) is None:
        return Signature.Kind.LITERAL.value, text
    return None


def code_pattern_matches(pattern: str, text: str) -> bool:
    return pattern_compile(pattern).search(text) is not None


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


