"""Masking: reduce a log line to its stable shape so one signature covers many occurrences.

Both sides go through the same function: a signature written from
``Error 111 connecting to localhost:6379`` and the log line ``Error 111 connecting to redis-0:6380``
both become ``error # connecting to #``, and a plain substring test then matches them.

The rule: text is split into tokens at whitespace, quotes, brackets, ``,;=``; a token that holds a
digit or a slash is variable and becomes ``#`` as a whole. That one rule covers timestamps, IP
addresses, host:port pairs, UUIDs, hex ids, numbers, versions, URLs and file paths alike
(``redis-0:6380``, ``/var/lib/app/x.db``, ``2025-06-01T12:00:00Z``, ``e29b41d4``). Case is folded and
runs of horizontal whitespace become one space. Newlines are kept, so a block of lines can be masked
in one call and split afterwards.

It is built from C-speed string operations (``lower``, ``translate``, slicing) and three regexes that
each start with a fixed character, so Python's regex engine can skip ahead quickly. The patterns
here are ours and fixed; user-written patterns never go through Python's ``re`` (they are RE2).
"""

import re

MASK = "#"

_MARK = "\x01"
# Characters that end a token. (A raw string: the backslashes are for the regex character class.)
SEPARATORS = r" \t\r\n\f\v\"'`()\[\]{}<>,;="
# Digits and slashes become a marker; odd horizontal whitespace becomes a plain space.
_TRANSLATE = str.maketrans({**{c: _MARK for c in "0123456789/\\"}, **{c: " " for c in "\t\r\f\v"}})
# From a marker to the end of its token...
_MARKED_TOKEN_TAIL = re.compile(f"{_MARK}[^{SEPARATORS}]*+")
# ...and, run over the reversed text, from a mask back to the start of its token.
_MASKED_TOKEN_HEAD = re.compile(f"{MASK}[^{SEPARATORS}{MASK}]++")
_SPACES = re.compile("  +")
# What a signature must keep after masking to be worth matching at all.
_WORD_CHARS = re.compile(r"[^\W\d_]")
_ASCII_NON_LETTERS = {code: None for code in range(128) if not chr(code).isalpha()}

# Leading clutter of a log line: a timestamp, the level, [thread] or [logger] tags without spaces.
_LOG_PREFIX = re.compile(
    r"""^\s*
    (?P<ts>[\[(]?(?:
          \d{4}-\d\d-\d\d(?:[Tt\ ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:[Zz]|[+-]\d\d:?\d\d)?)?
        | [A-Z][a-z]{2}\ +\d{1,2}\ \d\d:\d\d:\d\d
        | \d\d:\d\d:\d\d(?:[.,]\d+)?
    )[\])]?:?\s+(?:[-|]\s+)?)?
    (?:\[[^\]\s]{1,60}\]:?\s+)?
    # A level in capitals ("ERROR"), or in brackets in any case ("[error]"); a bare "Error:" is part of the
    # message in many runtimes, so it stays.
    (?P<level>(?:[\[(<](?i:trace|debug|info|notice|warn|warning|error|err|critical|crit|fatal|severe)[\])>]
        |(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|FATAL|SEVERE))(?::|\s+-)?\s+)?
    (?:\[[^\]\s]{1,60}\]:?\s+){0,3}
    """,
    re.VERBOSE,
)


# A guide's template placeholder (`{database_host}`, `\{constraint}`, `{{ $labels.pod }}`, `{}`) stands for a
# variable part, so it masks like one. Quotes and colons are not allowed inside, so JSON never matches.
_PLACEHOLDER = re.compile(r"\\?\{\{?[ \t]*[$A-Za-z_.]?[\w$.| \t-]{0,60}\}?\}")


def mask_text(text: str) -> str:
    """Lower-case, replace variable tokens with ``#`` and fold horizontal whitespace; keeps newlines."""
    if "{" in text:
        text = _PLACEHOLDER.sub("0", text)
    marked = text.lower().translate(_TRANSLATE)
    masked = _MARKED_TOKEN_TAIL.sub(MASK, marked)
    masked = _MASKED_TOKEN_HEAD.sub(MASK, masked[::-1])[::-1]
    return _SPACES.sub(" ", masked)


def mask_line(line: str) -> str:
    """Mask one line (or one signature) and trim its ends."""
    return mask_text(line).strip()


def distinctive_letters(masked: str) -> int:
    """How many letters survive masking: a signature with too few matches almost anything."""
    if masked.isascii():
        return len(masked.translate(_ASCII_NON_LETTERS))
    return len(_WORD_CHARS.findall(masked))


# Where a masked signature may be split into pieces for the loose comparison: at a placeholder (the gap
# must then hold a variable part) or after clause punctuation (": ", ". ", "; ", ", ", " - ").
_PIECE_SPLIT = re.compile(r"\s*(#)\s*|(?<=[:.;,])\s+|\s+-\s+")


def signature_pieces(masked: str) -> list[tuple[str, bool]]:
    """A masked signature as (piece, a variable part sits before it) pairs, in order; when a variable
    part ends it, the last pair is ("", True).

    A strict match needs the whole masked signature in the masked line. A loose match accepts the
    pieces in order with a few words between them, as real messages add detail to what a guide quotes:
    ``redis.exceptions.ConnectionError: Connection refused`` loosely matches
    ``redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.``
    """
    # split() with a group gives [piece, "#" or None, piece, ...]: "#" where the cut was a placeholder.
    parts = _PIECE_SPLIT.split(masked)
    pieces: list[tuple[str, bool]] = []
    variable = False
    for position in range(0, len(parts), 2):
        piece = parts[position].strip()
        if piece:
            pieces.append((piece, variable))
            variable = False
        if position + 1 < len(parts) and parts[position + 1]:
            variable = True
    if variable and pieces:
        # A variable part ends the signature: an empty last piece says so.
        pieces.append(("", True))
    return pieces


def literal_anchor(masked: str) -> str:
    """The longest piece of the masked text (see signature_pieces): it appears verbatim, up to case and
    whitespace, in any raw line the signature matches, strictly or loosely."""
    pieces = [piece for piece, _ in signature_pieces(masked) if piece]
    if not masked.isascii():
        # Prefer ASCII pieces: Python's lower() and RE2's case folding agree on them exactly.
        pieces = [piece for piece in pieces if piece.isascii()] or pieces
    return max(pieces, key=len) if pieces else ""


def strip_log_prefix(line: str) -> str:
    """Drop a leading timestamp, level and [thread]/[logger] tags, keeping the message itself."""
    found = _LOG_PREFIX.match(line)
    if found is None or not (found.group("ts") or found.group("level")):
        return line.strip()
    return line[found.end():].strip() or line.strip()
