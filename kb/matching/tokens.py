"""Error-aware tokens for retrieval: what in an error line is worth looking up, and in which form.

Plain words are lower-cased and stemmed (Snowball English, like PostgreSQL's ``english`` text search), so
"connections" finds "connection". Error-looking pieces keep their whole form next to their parts:

- dotted names (``sqlalchemy.exc.OperationalError``) give the whole name, each part, and each part's
  CamelCase words (``operational``, ``error``); a CamelCase identifier (``QueuePool``,
  ``CrashLoopBackOff``) gives itself and its words;
- errno names (``ECONNREFUSED``), ``errno 111`` / ``[Errno 111]``, HTTP statuses (``404``), hex and
  HRESULT codes (``0x80070003``) and signals are kept as they are;
- other numbers (ports, ids, sizes, times) vary between occurrences of the same error and are dropped.

Quoted fragments (``"features"``, ``'agent_factory'``) are returned separately by ``quoted_fragments``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from ..search.query import ERRNO_NAMES, STOP_WORDS

MAX_TOKEN_CHARS = 80
# Words so common in logs that they say nothing about which error it is (the level names, mostly).
LOG_NOISE = frozenset(
    ["error", "errors", "err", "erro", "warn", "warning", "info", "debug", "trace", "fatal", "critical", "crit", "notice", "line", "file", "at", "failed", "fail", "true", "false", "null", "none", "nil"]
)

_PIECE_RE = re.compile(r"[A-Za-z0-9_$][\w$]*(?:[.:\-/][A-Za-z0-9_$][\w$]*)*")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_HEX_RE = re.compile(r"0x[0-9a-f]{4,16}", re.IGNORECASE)
_ERRNO_NUMBER_RE = re.compile(r"\berrno\s*:?\s*(-?\d{1,4})\b|\[errno\s+(\d{1,4})\]", re.IGNORECASE)
_HTTP_STATUS_RE = re.compile(r"(?<![\w.:/-])([1-5]\d\d)(?![\w:/-]|\.\d)")
_QUOTED_RE = re.compile(r"""["'`“‘]([^"'`”’\n]{3,80})["'`”’]""")
_WORD_RE = re.compile(r"[^\W_]+")
_SIGNAL_RE = re.compile(r"SIG[A-Z]{3,6}")
_PART_SPLIT_RE = re.compile(r"[.:\-/]")
_IDENTIFIER_RE = re.compile(r"[a-z][A-Z]|[A-Z]{2,}[a-z]|_|\.")

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def _camel_words(piece: str) -> list[str]:
    return [w.lower() for w in _CAMEL_RE.findall(piece)]


def _is_identifier(piece: str) -> bool:
    """CamelCase (QueuePool), snake_case constants or dotted names: kept whole as well as split."""
    return bool(_IDENTIFIER_RE.search(piece)) and any(c.isalpha() for c in piece)


def words_plain(text: str) -> list[str]:
    """Lower-case words with stop words left in: the form synonym phrases are matched in."""
    return [w for w in _WORD_RE.findall(text.lower()) if len(w) <= MAX_TOKEN_CHARS]


def error_tokens(text: str) -> list[str]:
    """The lookup tokens of a text, in order of first appearance, repeated as often as they occur."""
    tokens: list[str] = []
    lowered = text.lower()
    for match in _HEX_RE.finditer(lowered):
        tokens.append(match.group(0))
    for first, second in _ERRNO_NUMBER_RE.findall(lowered):
        tokens.append(f"errno{first or second}")
    for status in _HTTP_STATUS_RE.findall(text):
        if status[0] in "45":
            tokens.append(f"http{status}")
    for piece in _PIECE_RE.findall(text):
        if len(piece) > MAX_TOKEN_CHARS * 2:
            piece = piece[: MAX_TOKEN_CHARS * 2]
        if piece in ERRNO_NAMES or _SIGNAL_RE.fullmatch(piece):
            tokens.append(piece.lower())
            continue
        parts = _PART_SPLIT_RE.split(piece)
        if len(parts) > 1 and sum(p[:1].isalpha() for p in parts) >= 2 and len(piece) <= MAX_TOKEN_CHARS:
            tokens.append(piece.lower())  # the whole dotted or hyphenated name
        for part in parts:
            if not part:
                continue
            if _is_identifier(part) and len(part) <= MAX_TOKEN_CHARS:
                tokens.append(part.lower())
            for word in _camel_words(part) if any(c.isupper() for c in part[1:]) else _WORD_RE.findall(part.lower()):
                if word.isdigit() or len(word) < 2 or word in STOP_WORDS:
                    continue
                tokens.append(stem(word))
    return tokens


def query_tokens(text: str) -> list[str]:
    """``error_tokens`` without log-level noise: what a pasted line is looked up by."""
    return [t for t in error_tokens(text) if t not in LOG_NOISE]


def quoted_fragments(text: str) -> list[str]:
    """Quoted pieces ("features", 'agent_factory'): often the one distinctive name in an error."""
    return [m.group(1).strip().lower() for m in _QUOTED_RE.finditer(text) if m.group(1).strip()]
