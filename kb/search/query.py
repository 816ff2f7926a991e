"""The search query language, parsed once: words, phrases, exclusions, filters and error tokens.

Each engine only translates a ``ParsedQuery`` into its own syntax, so the same query finds the same
articles on PostgreSQL and SQLite. Another module that already has its words (the log matcher's
tokens, say) builds a ``ParsedQuery`` with ``query_from_words`` and skips the text parser.
"""

from __future__ import annotations

import errno
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_QUERY_CHARS = 1000
MAX_TERMS = 24
MAX_TERM_LENGTH = 64

# PostgreSQL's English stop words (tsearch_data/english.stop); dropped from queries on both engines so
# SQLite, which indexes them, behaves like PostgreSQL, which ignores them.
_STOP_WORD_TEXT = """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these those
    am is are was were be been being have has had having do does did doing a an the and but if or because
    as until while of at by for with about against between into through during before after above below to
    from up down in out on off over under again further then once here there when where why how all any
    both each few more most other some such no nor not only own same so than too very s t can will just
    don should now"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())

ERRNO_NAMES = frozenset(errno.errorcode.values()) | {"ENOTFOUND", "EAI_AGAIN", "ESOCKETTIMEDOUT", "EPROTO"}
_WORD_RE = re.compile(r"[^\W_]+")
_TOKEN_RE = re.compile(
    r"""(?P<neg>(?<!\S)-)?"(?P<phrase>[^"]*)"        # "exact phrase", optionally -"excluded phrase"
      | (?<!\S)(?P<key>system|tag):(?P<value>\S+)   # system:ares  tag:redis
      | (?P<word>\S+)""",
    re.IGNORECASE | re.VERBOSE,
)
_ERRNO_RE = re.compile(r"\b(E[A-Z0-9_]{2,})\b")
_ERRNO_NUMBER_RE = re.compile(r"\berrno\s*:?\s*(\d{1,4})\b", re.IGNORECASE)
_HTTP_STATUS_RE = re.compile(r"(?<![\w.:/-])([45]\d\d)(?![\w:/-]|\.\d)")
_EXCEPTION_RE = re.compile(
    r"\b(?:[A-Za-z_][\w]*\.)*([A-Za-z][A-Za-z0-9]*(?:Error|Exception|Killed|BackOff|Failure|Fault|Timeout|"
    r"Refused|Denied|Exceeded|Exit))\b"
)
_CONSTANT_RE = re.compile(r"\b([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)\b")
_SIGNAL_RE = re.compile(r"\b(SIG[A-Z]{3,6})\b")
_EXIT_CODE_RE = re.compile(r"\bexit(?:ed)?\s+(?:with\s+)?(?:code|status)\s*:?\s*(\d{1,3})\b", re.IGNORECASE)
_LOGGY_RE = re.compile(r"""[:=/"'\[\](){}<>]|\d\.\d""")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")


class QueryError(ValueError):
    """The query cannot be used at all; the message is meant for the person who typed it."""


@dataclass(frozen=True)
class ErrorToken:
    """An error-looking token; ``pattern`` is a lower-case regex valid in Python and PostgreSQL."""

    label: str
    pattern: str
    literal: str  # a plain substring every match contains (for the trigram pre-filter)
    words: str = ""  # the words every match contains (for the full-text pre-filter); the label by default

    @property
    def index_words(self) -> str:
        return self.words or self.label


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded_terms: tuple[str, ...] = ()
    excluded_phrases: tuple[tuple[str, ...], ...] = ()
    systems: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    error_tokens: tuple[ErrorToken, ...] = ()
    fragments: tuple[str, ...] = ()
    prefix: str = ""  # the word still being typed (search-as-you-type), matched as a prefix
    # Synonym groups (kb.search.synonyms): each must match through any one of its alternatives (word
    # tuples, the words the person typed first); their words are not repeated in ``terms``.
    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()

    @property
    def has_positive(self) -> bool:
        return bool(self.terms or self.phrases or self.prefix or self.error_tokens or self.fragments or self.groups)

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases or self.prefix or self.groups)

    @property
    def word_count(self) -> int:
        """Words and synonym groups a strict match needs, plus the prefix: how specific the query is."""
        return len(self.terms) + len(self.groups) + bool(self.prefix)

    @property
    def all_words(self) -> tuple[str, ...]:
        words = list(self.terms) + [w for p in self.phrases for w in p if w not in STOP_WORDS]
        words += [w for g in self.groups for a in g for w in a if w not in STOP_WORDS]
        if self.prefix:
            words.append(self.prefix)
        return tuple(dict.fromkeys(words))

    @property
    def normalized(self) -> str:
        """A canonical spelling for logs and grouping: lower case, operators kept, order kept."""
        parts = list(self.terms) + [" ".join(g[0]) for g in self.groups] + [f'"{" ".join(p)}"' for p in self.phrases]
        if self.prefix:
            parts.append(self.prefix)
        parts += [f"-{t}" for t in self.excluded_terms] + [f'-"{" ".join(p)}"' for p in self.excluded_phrases]
        parts += [f"system:{s}" for s in self.systems] + [f"tag:{t}" for t in self.tags]
        if not parts:
            parts = [e.label.lower() for e in self.error_tokens] + [f.lower() for f in self.fragments]
        return " ".join(parts)[:500]


def clean_query_text(text: str) -> str:
    """NFKC-normalise and drop control characters (NUL included) and our highlight markers."""
    text = unicodedata.normalize("NFKC", text or "")
    return _CONTROL_RE.sub(" ", text)


def words_of(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower()) if len(w) <= MAX_TERM_LENGTH]


def slug_of(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "", value.lower())[:120]


def _boundary_pattern(core: str) -> str:
    return rf"(^|[^a-z0-9]){core}([^a-z0-9]|$)"


def error_tokens(text: str) -> tuple[ErrorToken, ...]:
    """Error names, errno numbers, HTTP statuses, exception classes and signals found in the text."""
    found: dict[str, ErrorToken] = {}

    def add(label: str, core: str, literal: str, words: str = "") -> None:
        found.setdefault(label.lower(), ErrorToken(label=label, pattern=_boundary_pattern(core), literal=literal,
                                                   words=words))

    for name in _ERRNO_RE.findall(text):
        if name in ERRNO_NAMES:
            add(name, re.escape(name.lower()), name.lower())
    for number in _ERRNO_NUMBER_RE.findall(text):
        add(f"Errno {number}", rf"errno\s*:?\s*{number}", "errno")
    for status in _HTTP_STATUS_RE.findall(text):
        add(status, status, status)
    for name in _EXCEPTION_RE.findall(text):
        if len(name) >= 6:
            add(name, re.escape(name.lower()), name.lower())
    for name in _CONSTANT_RE.findall(text):
        if name not in ERRNO_NAMES and len(name) >= 5:
            add(name, re.escape(name.lower()), name.lower())
    for name in _SIGNAL_RE.findall(text):
        add(name, name.lower(), name.lower())
    for code in _EXIT_CODE_RE.findall(text):
        add(f"exit code {code}", rf"exit(ed)?\s+(with\s+)?(code|status)\s*:?\s*{code}", "exit", f"exit {code}")
    return tuple(list(found.values())[:8])


def plain_words(raw: str) -> list[str]:
    """The words typed outside quotes, exclusions and filters, stop words kept, in order."""
    words: list[str] = []
    for match in _TOKEN_RE.finditer(raw):
        word = match.group("word")
        if word is None:
            continue
        if len(word) > 1 and word[0] == "-" and word[1] != "-" and (word[1].isalpha() or word[1] == "_"):
            continue
        words.extend(words_of(word))
    return words


def parse_query(text: str, *, as_you_type: bool = False) -> ParsedQuery:
    """Turn what a person typed into words, phrases, exclusions, filters and error tokens.

    Never raises on odd input (unbalanced quotes, operators, punctuation); only an over-long query is
    refused with ``QueryError``. Stop words are dropped from plain words but kept inside phrases.
    """
    if len(text or "") > MAX_QUERY_CHARS:
        raise QueryError(
            f"That query is {len(text):,} characters long; search takes at most {MAX_QUERY_CHARS:,}. "
            "Paste just the error line (the log matcher takes whole logs)."
        )
    raw = clean_query_text(text).strip()
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded_terms: list[str] = []
    excluded_phrases: list[tuple[str, ...]] = []
    systems: list[str] = []
    tags: list[str] = []
    fragments: list[str] = []
    plain: list[str] = []  # the unquoted, unfiltered words as typed, for the pasted-log-line check
    last_word_open = as_you_type and bool(raw) and not text.endswith((" ", '"'))
    prefix = ""

    matches = list(_TOKEN_RE.finditer(raw))
    for index, match in enumerate(matches):
        if match.group("phrase") is not None:
            words = tuple(words_of(match.group("phrase")))
            if not words:
                continue
            if match.group("neg"):
                (excluded_phrases.append(words) if len(words) > 1 else excluded_terms.append(words[0]))
                continue
            if len(words) > 1:
                phrases.append(words)
            elif words[0] not in STOP_WORDS:
                terms.append(words[0])
            if len(match.group("phrase").strip()) >= 4:
                fragments.append(" ".join(match.group("phrase").split()))
        elif match.group("key"):
            value = slug_of(match.group("value"))
            if value:
                (systems if match.group("key").lower() == "system" else tags).append(value)
        else:
            word = match.group("word")
            plain.append(word)
            negative = len(word) > 1 and word[0] == "-" and word[1] != "-" and (word[1].isalpha() or word[1] == "_")
            words = words_of(word[1:] if negative else word)
            if len(words) > 1 and all(w.isdigit() for w in words):
                # An address or version (10.0.3.7:6379, 127.0.0.1): its short pieces match nearly
                # everything, so only ports and other long numbers are worth searching for.
                words = [w for w in words if len(w) >= 3]
            if negative:
                plain.pop()
                excluded_terms.extend(w for w in words if w not in STOP_WORDS)
                continue
            is_last = index == len(matches) - 1
            for position, w in enumerate(words):
                if last_word_open and is_last and position == len(words) - 1:
                    prefix = w if len(w) >= 3 else ""
                    if not prefix and w not in STOP_WORDS and len(w) > 1:
                        terms.append(w)
                elif w not in STOP_WORDS:
                    terms.append(w)

    terms = list(dict.fromkeys(terms))[:MAX_TERMS]
    if prefix in terms:
        prefix = ""
    unquoted = " ".join(plain)
    if len(words_of(unquoted)) >= 2 and _LOGGY_RE.search(unquoted) and 8 <= len(unquoted) <= 300:
        fragments.append(unquoted)
    return ParsedQuery(
        raw=raw,
        terms=tuple(terms),
        phrases=tuple(dict.fromkeys(phrases))[:8],
        excluded_terms=tuple(dict.fromkeys(excluded_terms))[:8],
        excluded_phrases=tuple(dict.fromkeys(excluded_phrases))[:4],
        systems=tuple(dict.fromkeys(systems)),
        tags=tuple(dict.fromkeys(tags)),
        error_tokens=error_tokens(raw),
        fragments=tuple(dict.fromkeys(fragments))[:4],
        prefix=prefix,
    )


def query_from_words(words: Iterable[str], *, phrases: Iterable[Iterable[str]] = ()) -> ParsedQuery:
    """A query from words another module already has (no operators, filters or error tokens).

    Words are normalised as the parser would (lower case, split at punctuation, stop words and
    over-long words dropped), so an engine's ``candidates`` treats them like typed words.
    """
    terms = [w for word in words for w in words_of(word) if w not in STOP_WORDS]
    phrase_words = [tuple(words_of(" ".join(phrase))) for phrase in phrases]
    return ParsedQuery(
        raw=" ".join(terms),
        terms=tuple(dict.fromkeys(terms))[:MAX_TERMS],
        phrases=tuple(dict.fromkeys(p for p in phrase_words if len(p) > 1))[:8],
    )
