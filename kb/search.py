"""Full-text search over the knowledge base: one interface, two engines chosen by the database vendor.

PostgreSQL: a stored, weighted ``search_vector`` (title A, symptom signatures/titles + tags B, summary C,
body D) kept current by a trigger, a GIN index, ``websearch_to_tsquery``, ``ts_rank`` over a bounded
candidate set, ``ts_headline`` only for the rows on the page, and pg_trgm for typo tolerance.
SQLite: an FTS5 table (porter stemming, bm25 column weights in the same proportions) and FTS5 trigram
tables for the same typo tolerance. The DDL lives in ``kb/migrations/0002_search.py``.

The query is parsed here, once, into words, phrases, exclusions, filters and error tokens; each engine
only translates that structure into its own syntax, so the same sane query finds the same articles on
both. A search runs in stages and stops as soon as it has enough: every word (strict); corrected
spellings when a word matches nothing; any word (loose); a quoted line's words without the quotes; and
finally trigram similarity on titles and signatures. Each stage scores at most CANDIDATE_LIMIT matches;
when a common word matches more, the matches in titles, symptoms and tags are fetched as well (from a
small second index on PostgreSQL), so truncation never drops the articles most about it. Error-looking
tokens (``ECONNREFUSED``, ``Errno 111``, ``401``, ``OOMKilled``, quoted log fragments) are matched exactly
against symptom signatures and rank those articles first. Helpful votes and incidents resolved move an
article up or down within fixed bounds, never past a better text match tier.
"""

from __future__ import annotations

import errno
import html
import json
import math
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.db import connections
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from .models import Article, ArticleVote, SearchQueryLog, Symptom, System, Tag

MAX_QUERY_CHARS = 1000
PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
# How many matches are scored at most; keeps a one-word query over a million articles as cheap as a
# rare one. Relevance inside a real knowledge base (thousands of articles) is never truncated by it.
CANDIDATE_LIMIT = 200
# When a stage is truncated, up to this many more matches with the words in a title, symptom or tag.
PRIORITY_LIMIT = 50
PRIORITY_MAX_WORDS = 3
SIGNATURE_LIMIT = 200
# Fewer strict matches than this and the search widens (any word, then corrected spellings).
FEW_RESULTS = 3
MAX_TERMS = 24
MAX_TERM_LENGTH = 64
FUZZY_THRESHOLD = 0.6

# Score layout: signature hits outrank everything, then strict (all words) over loose (any word);
# inside a tier the text rank (0..1) times the bounded outcome multiplier orders articles.
SIGNATURE_WEIGHT = 4.0
TIER_WEIGHT = 2.0
VOTE_BOOST_BOUNDS = (-0.15, 0.25)
RESOLVED_BOOST_MAX = 0.2

HIGHLIGHT_START, HIGHLIGHT_STOP = "\ue000", "\ue001"

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

    @property
    def has_positive(self) -> bool:
        return bool(self.terms or self.phrases or self.prefix or self.error_tokens or self.fragments)

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases or self.prefix)

    @property
    def all_words(self) -> tuple[str, ...]:
        words = list(self.terms) + [w for p in self.phrases for w in p if w not in STOP_WORDS]
        if self.prefix:
            words.append(self.prefix)
        return tuple(dict.fromkeys(words))

    @property
    def normalized(self) -> str:
        """A canonical spelling for logs and grouping: lower case, operators kept, order kept."""
        parts = list(self.terms) + [f'"{" ".join(p)}"' for p in self.phrases]
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


def _words(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower()) if len(w) <= MAX_TERM_LENGTH]


def _slug(value: str) -> str:
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
            words = tuple(_words(match.group("phrase")))
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
            value = _slug(match.group("value"))
            if value:
                (systems if match.group("key").lower() == "system" else tags).append(value)
        else:
            word = match.group("word")
            plain.append(word)
            negative = len(word) > 1 and word[0] == "-" and word[1] != "-" and (word[1].isalpha() or word[1] == "_")
            words = _words(word[1:] if negative else word)
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
    if len(_words(unquoted)) >= 2 and _LOGGY_RE.search(unquoted) and 8 <= len(unquoted) <= 300:
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


# ---------------------------------------------------------------------------------------------------
# Similarity helpers shared by both engines, so "did you mean" and the fuzzy fallback decide alike.


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each lower-case word padded with two spaces in front and one behind."""
    grams: set[str] = set()
    for word in _words(text):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def word_similarity(needle: str, haystack: str) -> float:
    """Share of the needle's trigrams found in the haystack (close to pg_trgm's word_similarity)."""
    wanted = trigrams(needle)
    return len(wanted & trigrams(haystack)) / len(wanted) if wanted else 0.0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), cut off above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def max_edits(word: str) -> int:
    return 1 if len(word) <= 5 else 2 if len(word) <= 9 else 3


def mark_highlight(text: str) -> SafeString:
    """Escape everything, then turn our private-use markers into <mark> (always balanced)."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    out, open_ = [], False
    for chunk in re.split(f"([{HIGHLIGHT_START}{HIGHLIGHT_STOP}])", escaped):
        if chunk == HIGHLIGHT_START and not open_:
            out.append("<mark>")
            open_ = True
        elif chunk == HIGHLIGHT_STOP and open_:
            out.append("</mark>")
            open_ = False
        elif chunk not in (HIGHLIGHT_START, HIGHLIGHT_STOP):
            out.append(chunk)
    if open_:
        out.append("</mark>")
    return mark_safe("".join(out))


# ---------------------------------------------------------------------------------------------------
# Engines. Each one turns a ParsedQuery into SQL for its database; rows come back as Candidates.


@dataclass
class Filters:
    system_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()
    include_drafts: bool = False


@dataclass
class Candidate:
    id: int
    system_id: int
    updated_at: Any
    helpful: int
    not_helpful: int
    text_rank: float = 0.0
    tier: int = 0
    signature_hits: int = 0
    resolved: int = 0
    order: int = 0
    score: float = 0.0


STRICT, LOOSE = "strict", "loose"


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


class Engine:
    vendor = ""
    rank_scale = 1.0

    def __init__(self, using: str) -> None:
        self.using = using
        self.connection = connections[using]

    def ids_sql(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        """``<column> {sql}`` tests membership in a list of ids with a single parameter."""
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def filter_sql(self, filters: Filters) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if not filters.include_drafts:
            clauses.append("a.status = %s")
            params.append(Article.Status.PUBLISHED)
        if filters.system_ids:
            clauses.append(f"a.system_id IN ({_placeholders(filters.system_ids)})")
            params.extend(filters.system_ids)
        for tag_id in filters.tag_ids:
            clauses.append("EXISTS (SELECT 1 FROM kb_article_tags t WHERE t.article_id = a.id AND t.tag_id = %s)")
            params.append(tag_id)
        return (" AND ".join(clauses) or "1 = 1"), params

    def normalise_rank(self, value: float) -> float:
        value = max(0.0, float(value or 0.0)) * self.rank_scale
        return value / (value + 1.0)

    # Everything ranking needs about a candidate, in the statement that finds it: no second round trip.
    # The resolved-incident count is a correlated lookup, so it costs an index probe per candidate only.
    CANDIDATE_COLUMNS = (
        "a.id, {rank}, a.updated_at, a.helpful_count, a.not_helpful_count, a.system_id, "
        "(SELECT coalesce(sum(so.resolved_count), 0) FROM kb_solution_articles sa "
        "JOIN kb_solution so ON so.id = sa.solution_id WHERE sa.article_id = a.id AND so.resolved_count > 0)"
    )

    def _candidate_rows(self, rows: Iterable[tuple]) -> list[Candidate]:
        return [
            Candidate(id=r[0], text_rank=self.normalise_rank(r[1]), updated_at=r[2], helpful=r[3] or 0,
                      not_helpful=r[4] or 0, system_id=r[5], resolved=int(r[6] or 0), order=i)
            for i, r in enumerate(rows)
        ]

    def rows_for_ids(self, ids: Sequence[int]) -> list[Candidate]:
        if not ids:
            return []
        in_ids, params = self.ids_sql(ids)
        rows = self._rows(
            f"SELECT {self.CANDIDATE_COLUMNS.format(rank='0')} FROM kb_article a WHERE a.id {in_ids}", params,
        )
        return self._candidate_rows(rows)

    def browse(self, filters: Filters, limit: int) -> list[Candidate]:
        where, params = self.filter_sql(filters)
        rows = self._rows(
            f"SELECT {self.CANDIDATE_COLUMNS.format(rank='0')} FROM kb_article a WHERE {where} "
            "ORDER BY a.updated_at DESC LIMIT %s",
            [*params, limit],
        )
        return self._candidate_rows(rows)

    def word_known(self, word: str, *, prefix: bool = False) -> bool:
        """Seen in the vocabulary, or matched by the index (which also knows other forms of the word)."""
        raise NotImplementedError

    def unknown_words(self, words: Sequence[tuple[str, bool]]) -> set[str]:
        """The (word, is_prefix) pairs that match nothing."""
        return {word for word, prefix in words if not self.word_known(word, prefix=prefix)}

    def add_words(self, words: Sequence[str]) -> None:
        raise NotImplementedError

    # Implemented per engine:
    def candidates(self, query: ParsedQuery, mode: str, filters: Filters, *, sort: str, rank: bool,
                   limit: int, priority: bool = False) -> list[Candidate]:
        """Matches of one stage (at most ``limit``); ``priority``: only those matching in title/symptoms/tags."""
        raise NotImplementedError

    def signature_hits(self, query: ParsedQuery, filters: Filters) -> dict[int, int]:
        raise NotImplementedError

    def headlines(self, query: ParsedQuery, ids: Sequence[int]) -> dict[int, str]:
        raise NotImplementedError

    PAGE_SELECT = (
        "SELECT a.id, a.title, a.slug, a.summary, substr(a.body, 1, 400), a.status, a.helpful_count, s.id, "
        "s.slug, s.name, {symptoms}{headline} FROM kb_article a JOIN kb_system s ON s.id = a.system_id "
        "WHERE a.id {in_ids}"
    )

    SYMPTOMS_JSON = ""  # per engine: a JSON array of [symptom id, title, signature text] for article a

    def page_rows(self, query: ParsedQuery, ids: Sequence[int], *, highlight: bool) -> list[tuple]:
        """The page's articles with their system and symptoms, then a highlighted snippet (or "")."""
        in_ids, params = self.ids_sql(ids)
        rows = self._rows(self.PAGE_SELECT.format(headline="", in_ids=in_ids, symptoms=self.SYMPTOMS_JSON), params)
        snippets = self.headlines(query, ids) if highlight else {}
        return [(*row, snippets.get(row[0], "")) for row in rows]

    def fuzzy(self, text: str, filters: Filters, limit: int) -> list[tuple[int, str]]:
        raise NotImplementedError

    def word_matches(self, word: str, limit: int = 1, *, prefix: bool = False) -> int:
        raise NotImplementedError

    def near_words(self, word: str) -> list[str]:
        raise NotImplementedError


class PostgresEngine(Engine):
    vendor = "postgresql"
    # ts_rank of a good title match is ~0.6; scaled so typical matches spread over the 0..1 range.
    rank_scale = 3.0
    WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"  # D (body), C (summary), B (signatures, tags), A (title)
    HEADLINE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxWords=30, MinWords=15"

    def ids_sql(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        return "= ANY(%s)", [list(ids)]


    SYMPTOMS_JSON = (
        "(SELECT coalesce(json_agg(json_build_array(sy.id, sy.title, sg.text) ORDER BY sy.id, sg.id), '[]') "
        "FROM kb_symptom_articles sa JOIN kb_symptom sy ON sy.id = sa.symptom_id "
        "LEFT JOIN kb_signature sg ON sg.symptom_id = sy.id WHERE sa.article_id = a.id)"
    )

    @staticmethod
    def _websearch(words: Iterable[str], phrases: Iterable[tuple[str, ...]], *, joiner: str = " ") -> str:
        parts = list(words) + [f'"{" ".join(p)}"' for p in phrases]
        return joiner.join(parts)

    def tsquery(self, query: ParsedQuery, mode: str) -> tuple[str, list[Any]]:
        """SQL for the tsquery of one stage; every word is already alphanumeric, so nothing can inject."""
        parts, params = [], []
        exclusions = " ".join([f"-{t}" for t in query.excluded_terms] +
                              [f'-"{" ".join(p)}"' for p in query.excluded_phrases])
        if mode == STRICT or len(query.terms) + bool(query.prefix) <= 1:
            text = " ".join(x for x in (self._websearch(query.terms, query.phrases), exclusions) if x)
            if text:
                parts.append("websearch_to_tsquery('english', %s)")
                params.append(text)
            if query.prefix:
                parts.append("to_tsquery('english', %s)")
                params.append(f"{query.prefix}:*")
        else:
            required = " ".join(x for x in (self._websearch((), query.phrases), exclusions) if x)
            if required:
                parts.append("websearch_to_tsquery('english', %s)")
                params.append(required)
            any_parts, any_params = [], []
            if query.terms:
                any_parts.append("websearch_to_tsquery('english', %s)")
                any_params.append(" or ".join(query.terms))
            if query.prefix:
                any_parts.append("to_tsquery('english', %s)")
                any_params.append(f"{query.prefix}:*")
            parts.append("(" + " || ".join(any_parts) + ")")
            params += any_params
        return "(" + " && ".join(parts) + ")", params

    def candidates(self, query: ParsedQuery, mode: str, filters: Filters, *, sort: str, rank: bool,
                   limit: int, priority: bool = False) -> list[Candidate]:
        tsq, tsq_params = self.tsquery(query, mode)
        match_sql, match_params = f"a.search_vector @@ {tsq}", tsq_params
        if priority:
            # The same match within titles, symptoms and tags only: the small search_head index alone.
            # Exclusions must still hold for the whole article.
            match_sql = f"a.search_head @@ {tsq}"
            if query.excluded_terms or query.excluded_phrases:
                match_sql, match_params = f"{match_sql} AND a.search_vector @@ {tsq}", [*tsq_params, *tsq_params]
        where, where_params = self.filter_sql(filters)
        rank_sql, rank_params = (f"ts_rank('{self.WEIGHTS}', a.search_vector, {tsq}, 0)", tsq_params) if rank \
            else ("0", [])
        order = "ORDER BY a.updated_at DESC" if sort == "recent" else ""
        rows = self._rows(
            f"SELECT {self.CANDIDATE_COLUMNS.format(rank=rank_sql)} "
            f"FROM kb_article a WHERE {match_sql} AND {where} {order} LIMIT %s",
            [*rank_params, *match_params, *where_params, limit],
        )
        return self._candidate_rows(rows)

    def signature_hits(self, query: ParsedQuery, filters: Filters) -> dict[int, int]:
        checks, params, prefilters, prefilter_params = [], [], [], []
        for token in query.error_tokens:
            checks.append("a.search_signatures ~* %s")
            params.append(token.pattern)
            prefilters.append(token.index_words)
        for fragment in query.fragments:
            checks.append("a.search_signatures ILIKE %s")
            params.append("%" + re.sub(r"([\\%_])", r"\\\1", fragment) + "%")
            prefilters.append(fragment)
        if not checks:
            return {}
        # Signatures are in search_head too, so its exact word index narrows each check to a handful of
        # rows before the regex or ILIKE runs (a trigram scan of common trigrams would not).
        conditions = []
        for check, param, words in zip(checks, params, prefilters, strict=True):
            conditions.append(f"(a.search_head @@ plainto_tsquery('english', kb_search_clean(%s)) AND {check})")
            prefilter_params += [words, param]
        where, where_params = self.filter_sql(filters)
        hits = " + ".join(f"({c})::int" for c in checks)
        exclude_sql, exclude_params = "", []
        if query.excluded_terms or query.excluded_phrases:
            exclude_sql = "AND NOT a.search_vector @@ websearch_to_tsquery('english', %s)"
            exclude_params = [" or ".join(list(query.excluded_terms) +
                                          [f'"{" ".join(p)}"' for p in query.excluded_phrases])]
        rows = self._rows(
            f"SELECT a.id, {hits} FROM kb_article a WHERE ({' OR '.join(conditions)}) AND {where} {exclude_sql} "
            "LIMIT %s",
            [*params, *prefilter_params, *where_params, *exclude_params, SIGNATURE_LIMIT],
        )
        return {r[0]: int(r[1]) for r in rows if r[1]}

    def headline_query(self, query: ParsedQuery) -> tuple[str, list[Any]]:
        """Any of the words or phrases, so every match in the snippet is marked."""
        parts, params = [], []
        if query.terms or query.phrases:
            parts.append("websearch_to_tsquery('english', %s)")
            params.append(self._websearch(query.terms, query.phrases, joiner=" or "))
        if query.prefix:
            parts.append("to_tsquery('english', %s)")
            params.append(f"{query.prefix}:*")
        return (f"({' || '.join(parts)})" if parts else ""), params

    def headlines(self, query: ParsedQuery, ids: Sequence[int]) -> dict[int, str]:
        return {row[0]: row[-1] for row in self.page_rows(query, ids, highlight=True)}

    def page_rows(self, query: ParsedQuery, ids: Sequence[int], *, highlight: bool) -> list[tuple]:
        """One round trip: ts_headline runs only for these rows, in the same statement."""
        tsq, tsq_params = self.headline_query(query)
        in_ids, params = self.ids_sql(ids)
        if not highlight or not tsq:
            sql = self.PAGE_SELECT.format(headline="", in_ids=in_ids, symptoms=self.SYMPTOMS_JSON)
            return [(*row, "") for row in self._rows(sql, params)]
        headline = (", ts_headline('english', kb_search_plain(a.summary || E'\\n\\n' || left(a.body, 20000)), "
                    f"{tsq}, %s)")
        return self._rows(self.PAGE_SELECT.format(headline=headline, in_ids=in_ids, symptoms=self.SYMPTOMS_JSON),
                          [*tsq_params, self.HEADLINE_OPTIONS, *params])

    def fuzzy(self, text: str, filters: Filters, limit: int) -> list[tuple[int, str]]:
        where, where_params = self.filter_sql(filters)
        text = text.lower()[:200]
        rows = self._rows(
            "SELECT a.id, a.title || E'\\n' || a.search_signatures FROM kb_article a "
            f"WHERE (%s <%% a.title OR %s <%% a.search_signatures) AND {where} "
            "ORDER BY greatest(word_similarity(%s, a.title), word_similarity(%s, a.search_signatures)) DESC "
            "LIMIT %s",
            [text, text, *where_params, text, text, limit],
        )
        return [(r[0], r[1]) for r in rows]

    # kb_search_matches() (see the migration) counts through the GIN index whatever the planner thinks:
    # an unknown word has no statistics, and "EXISTS ... LIMIT 1" would otherwise scan every row.
    def word_known(self, word: str, *, prefix: bool = False) -> bool:
        return not self.unknown_words([(word, prefix)])

    def word_matches(self, word: str, limit: int = 1, *, prefix: bool = False) -> int:
        tsq = "to_tsquery('english', %s)" if prefix else "plainto_tsquery('english', %s)"
        rows = self._rows(f"SELECT kb_search_matches({tsq}, %s)", [f"{word}:*" if prefix else word, limit])
        return int(rows[0][0])

    def unknown_words(self, words: Sequence[tuple[str, bool]]) -> set[str]:
        if not words:
            return set()
        # CASE fixes the order: the vocabulary lookup first, the index only for words it does not know
        # (a common word's posting list is long even when one match would do).
        rows = self._rows(
            "SELECT w.word FROM unnest(%s::text[], %s::boolean[]) AS w(word, prefix) "
            "WHERE CASE WHEN EXISTS (SELECT 1 FROM kb_search_word v WHERE v.word = w.word) THEN false "
            "ELSE kb_search_matches(CASE WHEN w.prefix THEN to_tsquery('english', w.word || ':*') "
            "ELSE plainto_tsquery('english', w.word) END, 1) = 0 END",
            [[w for w, _ in words], [p for _, p in words]],
        )
        return {r[0] for r in rows}

    def near_words(self, word: str) -> list[str]:
        # pg_trgm's nearest neighbours through the GiST index; no WHERE clause, so the planner always
        # walks the index (a length filter here made it scan and sort the whole vocabulary instead).
        slack = max_edits(word)
        rows = self._rows("SELECT word FROM kb_search_word ORDER BY word <-> %s LIMIT 30", [word])
        return [r[0] for r in rows if abs(len(r[0]) - len(word)) <= slack]

    def add_words(self, words: Sequence[str]) -> None:
        if words:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO kb_search_word (word) SELECT unnest(%s::varchar[]) ON CONFLICT DO NOTHING",
                    [list(words)],
                )


class SqliteEngine(Engine):
    vendor = "sqlite"
    # bm25 of a good title match is ~8 with our column weights.
    rank_scale = 0.25
    BM25 = "bm25(kb_article_fts, 10.0, 4.0, 2.0, 1.0)"  # title, related (signatures, tags), summary, body

    def ids_sql(self, ids: Sequence[int]) -> tuple[str, list[Any]]:
        return "IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]

    SYMPTOMS_JSON = (
        "(SELECT json_group_array(json_array(x.id, x.title, x.text)) FROM (SELECT sy.id, sy.title, sg.text "
        "FROM kb_symptom_articles sa JOIN kb_symptom sy ON sy.id = sa.symptom_id "
        "LEFT JOIN kb_signature sg ON sg.symptom_id = sy.id WHERE sa.article_id = a.id ORDER BY sy.id, sg.id) x)"
    )

    @staticmethod
    def _quote(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    def match(self, query: ParsedQuery, mode: str) -> str:
        """An FTS5 expression; every word and phrase is quoted, so operators in input stay literal."""
        phrases = [self._quote(" ".join(p)) for p in query.phrases]
        words = [self._quote(t) for t in query.terms]
        if query.prefix:
            words.append(self._quote(query.prefix) + " *")
        if mode == STRICT or len(words) <= 1:
            expression = " AND ".join(phrases + words)
        else:
            expression = " AND ".join(phrases + ["(" + " OR ".join(words) + ")"])
        excluded = [self._quote(t) for t in query.excluded_terms] + [
            self._quote(" ".join(p)) for p in query.excluded_phrases
        ]
        if excluded:
            expression = f"({expression}) NOT ({' OR '.join(excluded)})"
        return expression

    def candidates(self, query: ParsedQuery, mode: str, filters: Filters, *, sort: str, rank: bool,
                   limit: int, priority: bool = False) -> list[Candidate]:
        where, where_params = self.filter_sql(filters)
        order = "ORDER BY a.updated_at DESC" if sort == "recent" else ""
        match = self.match(query, mode)
        if priority:
            # The same match within titles, symptoms and tags only (the first two columns); exclusions
            # still apply to the whole article.
            match = f"({match}) AND ({{title related}} : ({self.match(replace(query, excluded_terms=(), excluded_phrases=()), mode)}))"
        columns = self.CANDIDATE_COLUMNS.format(rank=("-" + self.BM25) if rank else "0")
        rows = self._rows(
            f"SELECT {columns} FROM kb_article_fts JOIN kb_article a ON a.id = kb_article_fts.rowid "
            f"WHERE kb_article_fts MATCH %s AND {where} {order} LIMIT %s",
            [match, *where_params, limit],
        )
        return self._candidate_rows(rows)

    def signature_hits(self, query: ParsedQuery, filters: Filters) -> dict[int, int]:
        checks, params, literals = [], [], []
        for token in query.error_tokens:
            checks.append("kb_article_trgm.signatures REGEXP %s")
            params.append("(?i)" + token.pattern)
            literals.append(token.literal)
        for fragment in query.fragments:
            checks.append("instr(lower(kb_article_trgm.signatures), %s) > 0")
            params.append(fragment.lower())
            literals.append(fragment)
        literals = [lit for lit in literals if len(lit) >= 3]
        if not checks or not literals:
            return {}
        where, where_params = self.filter_sql(filters)
        hits = " + ".join(f"(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in checks)
        exclude_sql, exclude_params = "", []
        excluded = [self._quote(t) for t in query.excluded_terms] + [
            self._quote(" ".join(p)) for p in query.excluded_phrases
        ]
        if excluded:
            exclude_sql = "AND a.id NOT IN (SELECT rowid FROM kb_article_fts WHERE kb_article_fts MATCH %s)"
            exclude_params = [" OR ".join(excluded)]
        prefilter = "signatures : (" + " OR ".join(self._quote(lit) for lit in literals) + ")"
        rows = self._rows(
            f"SELECT a.id, {hits} FROM kb_article_trgm JOIN kb_article a ON a.id = kb_article_trgm.rowid "
            f"WHERE kb_article_trgm MATCH %s AND ({' OR '.join(checks)}) AND {where} {exclude_sql} LIMIT %s",
            [*params, prefilter, *params, *where_params, *exclude_params, SIGNATURE_LIMIT],
        )
        return {r[0]: int(r[1]) for r in rows if r[1]}

    def headlines(self, query: ParsedQuery, ids: Sequence[int]) -> dict[int, str]:
        words = [self._quote(t) for t in query.terms] + [self._quote(" ".join(p)) for p in query.phrases]
        if query.prefix:
            words.append(self._quote(query.prefix) + " *")
        if not ids or not words:
            return {}
        in_ids, params = self.ids_sql(ids)
        rows = self._rows(
            "SELECT rowid, snippet(kb_article_fts, -1, %s, %s, ' … ', 24) FROM kb_article_fts "
            f"WHERE kb_article_fts MATCH %s AND rowid {in_ids}",
            [HIGHLIGHT_START, HIGHLIGHT_STOP, "{summary body} : (" + " OR ".join(words) + ")", *params],
        )
        return {r[0]: r[1] for r in rows}

    def fuzzy(self, text: str, filters: Filters, limit: int) -> list[tuple[int, str]]:
        grams = sorted({w[i : i + 3] for w in _words(text) for i in range(len(w) - 2)})[:40]
        if not grams:
            return []
        where, where_params = self.filter_sql(filters)
        rows = self._rows(
            "SELECT a.id, kb_article_trgm.title || char(10) || kb_article_trgm.signatures FROM kb_article_trgm "
            "JOIN kb_article a ON a.id = kb_article_trgm.rowid "
            f"WHERE kb_article_trgm MATCH %s AND {where} ORDER BY kb_article_trgm.rank LIMIT %s",
            [" OR ".join(self._quote(g) for g in grams), *where_params, limit * 5],
        )
        return [(r[0], r[1]) for r in rows]

    def word_known(self, word: str, *, prefix: bool = False) -> bool:
        rows = self._rows(
            "SELECT EXISTS (SELECT 1 FROM kb_search_word WHERE word = %s) "
            "OR EXISTS (SELECT 1 FROM kb_article_fts WHERE kb_article_fts MATCH %s)",
            [word, self._quote(word) + (" *" if prefix else "")],
        )
        return bool(rows[0][0])

    def word_matches(self, word: str, limit: int = 1, *, prefix: bool = False) -> int:
        rows = self._rows(
            "SELECT count(*) FROM (SELECT 1 FROM kb_article_fts WHERE kb_article_fts MATCH %s LIMIT %s)",
            [self._quote(word) + (" *" if prefix else ""), limit],
        )
        return int(rows[0][0])

    def near_words(self, word: str) -> list[str]:
        grams = sorted({word[i : i + 3] for i in range(len(word) - 2)})
        if not grams:
            return []
        slack = max_edits(word)
        rows = self._rows(
            "SELECT word FROM kb_search_word_trgm WHERE kb_search_word_trgm MATCH %s "
            "AND length(word) BETWEEN %s AND %s ORDER BY rank LIMIT 400",
            [" OR ".join(self._quote(g) for g in grams), len(word) - slack, len(word) + slack],
        )
        return [r[0] for r in rows]

    def add_words(self, words: Sequence[str]) -> None:
        if words:
            with self.connection.cursor() as cursor:
                cursor.executemany("INSERT OR IGNORE INTO kb_search_word (word) VALUES (%s)", [(w,) for w in words])


def engine_for(using: str = "default") -> Engine:
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return PostgresEngine(using)
    if vendor == "sqlite":
        return SqliteEngine(using)
    raise NotImplementedError(f"Search supports PostgreSQL and SQLite, not {vendor}")


# ---------------------------------------------------------------------------------------------------
# Index maintenance.

_INDEX_WORD_RE = re.compile(r"[^\W_]{3,32}")


def index_words(text: str) -> set[str]:
    """Words worth offering as spelling corrections: 3-32 characters with at least one letter."""
    return {w for w in _INDEX_WORD_RE.findall(text.lower()) if not w.isdigit()}


def index_articles(article_ids: Iterable[int], *, using: str = "default") -> None:
    """Bring the search index up to date for these articles (called after every write).

    The database trigger recomputes an article's index entry from its own text, its symptoms'
    titles and signatures and its tags; this re-fires it (symptoms and tags live in other tables) and
    records new words for "did you mean". Two statements per call, whatever the number of articles.
    """
    ids = sorted({int(i) for i in article_ids if i is not None})
    if not ids:
        return
    engine = engine_for(using)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        with engine.connection.cursor() as cursor:
            cursor.execute(f"UPDATE kb_article SET title = title WHERE id IN ({_placeholders(chunk)})", chunk)
        words: set[str] = set()
        articles = Article.objects.using(using).filter(pk__in=chunk)
        for title, summary, body in articles.values_list("title", "summary", "body"):
            words |= index_words(f"{title} {summary} {body[:200000]}")
        for text in Symptom.objects.using(using).filter(articles__in=chunk).values_list("title", "signatures__text"):
            words |= index_words(" ".join(t for t in text if t))
        for name in Tag.objects.using(using).filter(articles__in=chunk).values_list("name", flat=True):
            words |= index_words(name)
        engine.add_words(sorted(words))


# ---------------------------------------------------------------------------------------------------
# The search itself.


@dataclass
class Facet:
    slug: str
    name: str
    count: int


@dataclass
class SearchHit:
    # A listing-only instance: id, title, slug, summary, status, helpful_count and system (no body).
    article: Article
    score: float
    highlight: SafeString
    symptom: str = ""
    signature: str = ""


@dataclass
class SearchResults:
    query: ParsedQuery
    hits: list[SearchHit] = field(default_factory=list)
    count: int = 0
    more: bool = False  # the candidate bound was reached: there are more matches than counted
    page: int = 1
    per_page: int = PAGE_SIZE
    sort: str = "relevance"
    suggestion: str = ""
    corrections: dict[str, str] = field(default_factory=dict)
    corrected: bool = False  # results come from the suggestion because the query as typed found nothing
    message: str = ""
    usable: bool = True
    systems: list[Facet] = field(default_factory=list)
    tags: list[Facet] = field(default_factory=list)
    took_ms: float = 0.0

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def start_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.hits else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.hits) - 1 if self.hits else 0


def outcome_multiplier(*, helpful: int, not_helpful: int, resolved: int) -> float:
    """1.0 for no signal; votes move it within VOTE_BOOST_BOUNDS, resolved incidents add up to 0.2."""
    votes = helpful + not_helpful
    vote = 0.3 * (helpful - not_helpful) / (votes + 5) if votes else 0.0
    low, high = VOTE_BOOST_BOUNDS
    resolved_boost = min(RESOLVED_BOOST_MAX, 0.05 * math.log2(1 + resolved)) if resolved > 0 else 0.0
    return 1.0 + min(high, max(low, vote)) + resolved_boost


def _merge(pool: dict[int, Candidate], found: Iterable[Candidate], tier: int) -> None:
    for candidate in found:
        existing = pool.get(candidate.id)
        candidate.tier = tier
        candidate.order = len(pool)
        if existing is None:
            pool[candidate.id] = candidate
        elif (tier, candidate.text_rank) > (existing.tier, existing.text_rank):
            existing.tier, existing.text_rank = tier, candidate.text_rank


def suggest_corrections(engine: Engine, query: ParsedQuery) -> dict[str, str]:
    """Replacement spellings for words that match nothing, chosen by edit distance then popularity."""
    corrections: dict[str, str] = {}
    words = [(t, False) for t in query.terms] + ([(query.prefix, True)] if query.prefix else [])
    unknown = engine.unknown_words([(w, p) for w, p in words if len(w) >= 4 and not w.isdigit()])
    for word, _ in words:
        if word not in unknown:
            continue
        limit = max_edits(word)
        scored = []
        for candidate in engine.near_words(word):
            if candidate == word or candidate in STOP_WORDS:
                continue
            distance = edit_distance(word, candidate, limit)
            if distance <= limit:
                scored.append((distance, -word_similarity(word, candidate), candidate))
        if not scored:
            continue
        scored.sort()
        best = [s for s in scored if s[:2] == scored[0][:2]][:5]
        if len(best) > 1:
            best.sort(key=lambda s: (-engine.word_matches(s[2], limit=200), s[2]))
        corrections[word] = best[0][2]
    return corrections


def _apply_corrections(query: ParsedQuery, corrections: dict[str, str]) -> ParsedQuery:
    terms = tuple(dict.fromkeys(corrections.get(t, t) for t in query.terms))
    prefix = query.prefix
    if prefix in corrections:
        # A completed correction is a whole word, not a prefix any more.
        terms, prefix = tuple(dict.fromkeys((*terms, corrections[prefix]))), ""
    return replace(query, terms=terms, prefix=prefix)


def _suggestion_text(raw: str, corrections: dict[str, str]) -> str:
    def swap(match: re.Match) -> str:
        word = match.group(0)
        return corrections.get(word.lower(), word)

    return _WORD_RE.sub(swap, raw)


def _resolve_filters(query: ParsedQuery, *, systems: Sequence[str], tags: Sequence[str], user: Any,
                     using: str) -> tuple[Filters, str]:
    system_slugs = tuple(dict.fromkeys([*map(_slug, systems), *query.systems]))
    tag_slugs = tuple(dict.fromkeys([*map(_slug, tags), *query.tags]))
    filters = Filters(include_drafts=bool(user is not None and getattr(user, "is_staff", False)))
    messages = []
    if system_slugs:
        found = dict(System.objects.using(using).filter(slug__in=system_slugs).values_list("slug", "pk"))
        missing = [s for s in system_slugs if s not in found]
        if missing:
            messages.append(f"No system called “{missing[0]}”.")
        filters.system_ids = tuple(found.values()) or (-1,)
    if tag_slugs:
        found = dict(Tag.objects.using(using).filter(slug__in=tag_slugs).values_list("slug", "pk"))
        missing = [t for t in tag_slugs if t not in found]
        if missing:
            messages.append(f"No tag called “{missing[0]}”.")
        filters.tag_ids = tuple(found.values()) + ((-1,) if missing else ())
    return filters, " ".join(messages)


def _fetch(engine: Engine, query: ParsedQuery, mode: str, filters: Filters, *, sort: str, rank: bool,
           results: SearchResults) -> list[Candidate]:
    """One stage's matches. When they exceed the bound, the matches in titles, symptoms and tags are
    fetched too, so truncating a common word's matches never drops the articles most about it."""
    found = engine.candidates(query, mode, filters, sort=sort, rank=rank, limit=CANDIDATE_LIMIT)
    # Short queries are the ones whose matches get truncated arbitrarily; a long pasted line is specific
    # already, and its signature stage puts the right article first.
    short = 0 < len(query.terms) + bool(query.prefix) <= PRIORITY_MAX_WORDS
    if len(found) >= CANDIDATE_LIMIT and sort == "relevance" and short:
        results.more = True
        seen = {c.id for c in found}
        extra = engine.candidates(query, mode, filters, sort=sort, rank=rank, limit=PRIORITY_LIMIT, priority=True)
        found += [c for c in extra if c.id not in seen]
    elif len(found) >= CANDIDATE_LIMIT:
        results.more = True
    return found


def _collect(engine: Engine, query: ParsedQuery, filters: Filters, *, sort: str, rank: bool,
             pool: dict[int, Candidate], results: SearchResults) -> None:
    """Every word; then, when that finds few, corrected spellings; then any word (of either spelling)."""
    if not query.has_text:
        return
    queries = [query]
    strict = _fetch(engine, query, STRICT, filters, sort=sort, rank=rank, results=results)
    _merge(pool, strict, 2)
    # A strict match means every word is in some article, so there is nothing to correct.
    if not strict:
        corrections = suggest_corrections(engine, query)
        if corrections:
            corrected = _apply_corrections(query, corrections)
            queries.append(corrected)
            results.suggestion = _suggestion_text(query.raw, corrections)
            results.corrections = corrections
            found = _fetch(engine, corrected, STRICT, filters, sort=sort, rank=rank, results=results)
            results.corrected = not strict and bool(found)
            _merge(pool, found, 2)
    for variant in queries:
        if len(pool) < FEW_RESULTS and len(variant.terms) + bool(variant.prefix) > 1:
            _merge(pool, _fetch(engine, variant, LOOSE, filters, sort=sort, rank=rank, results=results), 1)


def search(
    text: str,
    *,
    user: Any = None,
    systems: Sequence[str] = (),
    tags: Sequence[str] = (),
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PAGE_SIZE,
    as_you_type: bool = False,
    highlight: bool = True,
    rank: bool = True,
    using: str = "default",
) -> SearchResults:
    """Search articles visible to ``user``; see the module docstring for the stages.

    Raises ``QueryError`` only for a query too long to use; everything else (empty, punctuation only,
    unknown filters) comes back as results with ``usable``/``message`` set.
    """
    started = time.perf_counter()
    query = parse_query(text, as_you_type=as_you_type)
    sort = "recent" if sort == "recent" else "relevance"
    per_page = max(1, min(MAX_PAGE_SIZE, int(per_page)))
    page = max(1, int(page))
    results = SearchResults(query=query, page=page, per_page=per_page, sort=sort)
    filters, filter_message = _resolve_filters(query, systems=systems, tags=tags, user=user, using=using)
    if not query.has_positive and not (filters.system_ids or filters.tag_ids):
        results.usable = False
        results.message = (
            "Nothing searchable in that query: punctuation and very common words (the, is, not) are ignored."
            if query.raw else "Type a few words or paste an error message."
        )
    else:
        _run(engine_for(using), query, filters, results, rank=rank, highlight=highlight)
    if filter_message:
        results.message = filter_message
    results.took_ms = (time.perf_counter() - started) * 1000
    return results


def _run(engine: Engine, query: ParsedQuery, filters: Filters, results: SearchResults, *, rank: bool,
         highlight: bool) -> None:
    """The stages, candidates to page: fills ``results`` in place."""
    sort, page, per_page = results.sort, results.page, results.per_page
    pool: dict[int, Candidate] = {}
    if not query.has_positive:
        # Filters alone browse: newest first.
        found = engine.browse(filters, CANDIDATE_LIMIT)
        _merge(pool, found, 1)
        results.more = len(found) >= CANDIDATE_LIMIT
        sort = results.sort = "recent"
    else:
        _collect(engine, query, filters, sort=sort, rank=rank, pool=pool, results=results)
        signature_hits = engine.signature_hits(query, filters)
        _merge(pool, engine.rows_for_ids([i for i in signature_hits if i not in pool]), 0)
        for article_id, hits in signature_hits.items():
            pool[article_id].signature_hits = hits
        if not pool and query.phrases:
            # A pasted line in quotes rarely recurs word for word (ids, ports, times differ): try its words.
            words = [w for p in query.phrases for w in p if w not in STOP_WORDS]
            relaxed = replace(query, terms=tuple(dict.fromkeys((*query.terms, *words)))[:MAX_TERMS], phrases=())
            _collect(engine, relaxed, filters, sort=sort, rank=rank, pool=pool, results=results)
        if not pool and query.has_text:
            fuzzy_text = " ".join(query.all_words)
            similar = {}
            for article_id, haystack in engine.fuzzy(fuzzy_text, filters, limit=20):
                similarity = word_similarity(fuzzy_text, haystack)
                if similarity >= FUZZY_THRESHOLD:
                    similar[article_id] = similarity
            _merge(pool, engine.rows_for_ids(list(similar)), 0)
            for article_id, similarity in similar.items():
                pool[article_id].text_rank = similarity / 2

    candidates = list(pool.values())
    if rank and sort == "relevance":
        for c in candidates:
            c.score = (
                SIGNATURE_WEIGHT * c.signature_hits
                + TIER_WEIGHT * c.tier
                + c.text_rank * outcome_multiplier(helpful=c.helpful, not_helpful=c.not_helpful, resolved=c.resolved)
            )
        candidates.sort(key=lambda c: (-c.score, -c.helpful, c.id))
    elif sort == "recent":
        candidates.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
    else:
        candidates.sort(key=lambda c: (-c.signature_hits, -c.tier, c.order))

    results.count = len(candidates)
    page_items = candidates[(page - 1) * per_page : page * per_page]
    # Highlight the corrected spellings too: they are what the shown articles matched.
    shown = replace(query, terms=tuple(dict.fromkeys(query.terms + tuple(results.corrections.values()))))
    results.hits = _hits(engine, shown, page_items, highlight=highlight)
    results.systems, results.tags = _facets(engine, candidates)


def _hits(engine: Engine, query: ParsedQuery, page_items: list[Candidate], *, highlight: bool) -> list[SearchHit]:
    if not page_items:
        return []
    ids = [c.id for c in page_items]
    # Raw SQL on purpose: one statement (two on SQLite) instead of the ORM's compile cost per keystroke.
    articles, excerpts, snippets = {}, {}, {}
    symptoms: dict[int, list[tuple[str, list[str]]]] = {}
    for row in engine.page_rows(query, ids, highlight=highlight):
        articles[row[0]] = Article(id=row[0], title=row[1], slug=row[2], summary=row[3], status=row[5],
                                   helpful_count=row[6], system=System(id=row[7], slug=row[8], name=row[9]))
        excerpts[row[0]], snippets[row[0]] = row[4], row[11] or ""
        grouped: dict[int, tuple[str, list[str]]] = {}
        for symptom_id, title, signature in json.loads(row[10]) if isinstance(row[10], str) else row[10] or []:
            if symptom_id is None:
                continue
            entry = grouped.setdefault(symptom_id, (title, []))
            if signature:
                entry[1].append(signature)
        symptoms[row[0]] = list(grouped.values())

    hits = []
    for candidate in page_items:
        article = articles.get(candidate.id)
        if article is None:  # deleted between the two queries
            continue
        symptom, signature = _matching_symptom(query, symptoms.get(article.pk, []))
        snippet = snippets.get(article.pk, "")
        if HIGHLIGHT_START in snippet:
            highlight_html = mark_highlight(snippet)
        elif signature:
            highlight_html = mark_highlight(f"{HIGHLIGHT_START}{signature[:200]}{HIGHLIGHT_STOP}")
        else:
            summary = article.summary or snippet or excerpts.get(article.pk, "")
            highlight_html = mark_highlight(summary[:240] + ("…" if len(summary) > 240 else ""))
        hits.append(SearchHit(article=article, score=round(candidate.score, 4), highlight=highlight_html,
                              symptom=symptom, signature=signature))
    return hits


def _matching_symptom(query: ParsedQuery, symptoms: list[tuple[str, list[str]]]) -> tuple[str, str]:
    """The symptom this query most likely describes: a signature hit first, else the most shared words."""
    patterns = [re.compile(t.pattern, re.IGNORECASE) for t in query.error_tokens]
    fragments = [f.lower() for f in query.fragments]
    for title, signatures in symptoms:
        for signature in signatures:
            lowered = signature.lower()
            if any(p.search(lowered) for p in patterns) or any(f in lowered for f in fragments):
                return title, signature
    stems = {w[: max(4, len(w) - 2)] for w in query.all_words if len(w) >= 3}
    best, best_score = ("", ""), 0
    for title, signatures in symptoms:
        words = set(_words(title + " " + " ".join(signatures)))
        score = sum(1 for stem in stems if any(w.startswith(stem) for w in words))
        if score > best_score:
            best, best_score = (title, ""), score
    return best


def _facets(engine: Engine, candidates: list[Candidate]) -> tuple[list[Facet], list[Facet]]:
    if not candidates:
        return [], []
    by_system: dict[int, int] = {}
    for c in candidates:
        by_system[c.system_id] = by_system.get(c.system_id, 0) + 1
    in_systems, system_params = engine.ids_sql(list(by_system))
    in_ids, params = engine.ids_sql([c.id for c in candidates])
    # System names and tag counts in one round trip.
    rows = engine._rows(
        f"SELECT 0, id, slug, name, 0 FROM kb_system WHERE id {in_systems} UNION ALL "
        "SELECT * FROM (SELECT 1, 0, tg.slug, tg.name, count(*) FROM kb_article_tags at "
        f"JOIN kb_tag tg ON tg.id = at.tag_id WHERE at.article_id {in_ids} GROUP BY tg.slug, tg.name "
        "ORDER BY 5 DESC, 4 LIMIT 12) tags",
        [*system_params, *params],
    )
    names = {r[1]: (r[2], r[3]) for r in rows if r[0] == 0}
    systems = sorted(
        (Facet(slug=names[pk][0], name=names[pk][1], count=n) for pk, n in by_system.items() if pk in names),
        key=lambda f: (-f.count, f.name),
    )
    tags = sorted((Facet(slug=r[2], name=r[3], count=int(r[4])) for r in rows if r[0] == 1),
                  key=lambda f: (-f.count, f.name))
    return systems, tags


# ---------------------------------------------------------------------------------------------------
# Query log and knowledge gaps.

REFINE_WINDOW = timedelta(seconds=90)


def search_log_record(
    *,
    query: str,
    normalized: str,
    result_count: int,
    user: Any = None,
    session_key: str = "",
    source: str = SearchQueryLog.Source.WEB,
) -> SearchQueryLog:
    """Log one search. Typing refines the person's previous row (a prefix either way) instead of adding one."""
    user = user if user is not None and getattr(user, "is_authenticated", False) else None
    query = " ".join(clean_query_text(query).split())  # no NUL (PostgreSQL refuses it) nor control characters
    now = timezone.now()
    owner = Q(user=user) if user else Q(user__isnull=True, session_key=session_key)
    previous = None
    if user or session_key:
        previous = (
            SearchQueryLog.objects.filter(owner, source=source, created_at__gte=now - REFINE_WINDOW,
                                          clicked_article__isnull=True)
            .order_by("-created_at").first()
        )
    if previous is not None and (normalized.startswith(previous.normalized) or
                                 previous.normalized.startswith(normalized)):
        SearchQueryLog.objects.filter(pk=previous.pk).update(
            query=query[:500], normalized=normalized[:500], result_count=result_count, created_at=now
        )
        previous.query, previous.normalized, previous.result_count = query[:500], normalized[:500], result_count
        return previous
    return SearchQueryLog.objects.create(
        query=query[:500], normalized=normalized[:500], result_count=result_count, user=user,
        session_key=session_key[:40], source=source, created_at=now,
    )


def search_log_click(*, log_id: int, article: Article, user: Any = None, session_key: str = "") -> bool:
    """Remember which result a person opened from their own search; others' logs are left alone."""
    user = user if user is not None and getattr(user, "is_authenticated", False) else None
    if user is None and not session_key:
        return False
    owner = Q(user=user) if user else Q(user__isnull=True, session_key=session_key)
    return bool(SearchQueryLog.objects.filter(owner, pk=log_id).update(clicked_article=article))


def search_gaps(*, days: int = 30, limit: int = 50) -> dict[str, QuerySet]:
    """Knowledge gaps: queries that found nothing, and queries whose opened result was voted not helpful."""
    since = timezone.now() - timedelta(days=days)
    recent = SearchQueryLog.objects.filter(created_at__gte=since)
    zero = (
        recent.filter(result_count=0).exclude(normalized="")
        .values("normalized").annotate(searches=Count("id"), last_seen=Max("created_at"), example=Max("query"))
        .order_by("-searches", "-last_seen")[:limit]
    )
    unhelpful_vote = ArticleVote.objects.filter(article=OuterRef("clicked_article"), helpful=False).filter(
        Q(user__isnull=False, user=OuterRef("user"))
        | (Q(user__isnull=True, session_key=OuterRef("session_key")) & ~Q(session_key=""))
    )
    not_helpful = (
        recent.filter(clicked_article__isnull=False).filter(Exists(unhelpful_vote))
        .values("normalized", "clicked_article", "clicked_article__title", "clicked_article__slug",
                "clicked_article__system__slug")
        .annotate(searches=Count("id"), last_seen=Max("created_at"), example=Max("query"))
        .order_by("-searches", "-last_seen")[:limit]
    )
    return {"zero_results": zero, "not_helpful": not_helpful}


__all__ = [
    "QueryError", "ParsedQuery", "SearchResults", "SearchHit", "Facet", "index_articles", "parse_query",
    "search", "search_log_record", "search_log_click", "search_gaps", "engine_for",
]
