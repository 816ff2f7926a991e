"""The operations vocabulary: groups of words and phrases that mean the same ("OOM" = "out of memory").

Groups are ``SearchSynonym`` rows (seeded from ``synonyms.txt`` by a migration, extended by staff in the
admin). ``synonym_expand`` finds where a query's words say one member of a group and returns the
other members as alternatives; search turns each into an OR group on both engines, retrieval adds
their tokens at a lower weight. This process keeps the parsed groups until ``synonyms_changed`` moves
the cache token (the admin calls it after every edit).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from django.core.cache import cache

from ..models import SearchSynonym
from .query import STOP_WORDS, ParsedQuery, plain_words, words_of

logger = logging.getLogger(__name__)

DEFAULTS_FILE = Path(__file__).with_name("synonyms.txt")
MAX_GROUP_TERMS = 12
_VERSION_KEY = "kb:synonyms:version"
_lock = threading.Lock()
# How long this process trusts its copy before asking the cache whether the groups changed.
RECHECK_SECONDS = 2.0
_loaded: tuple[str, dict[tuple[str, ...], tuple[tuple[str, ...], ...]], int] | None = None
_checked_at = 0.0

Alternative = tuple[str, ...]


@dataclass(frozen=True)
class Expansion:
    """Words ``start:end`` of the query say ``alternatives[0]``; the other alternatives mean the same."""

    start: int
    end: int
    alternatives: tuple[Alternative, ...]


def parse_terms(terms: str) -> list[Alternative]:
    """"oom, Out of memory" -> [("oom",), ("out", "of", "memory")]; duplicates and empties dropped."""
    found = [tuple(words_of(part)) for part in terms.split(",")]
    return list(dict.fromkeys(a for a in found if a))[:MAX_GROUP_TERMS]


def default_groups() -> list[str]:
    """The groups in the shipped data file, one comma-separated line each."""
    lines = DEFAULTS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def synonyms_changed() -> None:
    """Tell every process to reload the groups (call after adding, editing or deleting one)."""
    global _loaded
    _loaded = None
    try:
        cache.set(_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # a cache outage must not fail an admin edit; this process reloads anyway
        logger.warning("synonyms: could not bump the version key in the cache", exc_info=True)


def _groups() -> tuple[dict[Alternative, tuple[Alternative, ...]], int]:
    """Each alternative -> its whole group (itself first), and the longest alternative's length."""
    global _loaded, _checked_at
    current = _loaded
    now = time.monotonic()
    if current is not None and now - _checked_at < RECHECK_SECONDS:
        return current[1], current[2]
    try:
        token = cache.get(_VERSION_KEY) or "-"
    except Exception:
        token = "?"
    _checked_at = now
    if current is not None and current[0] == token:
        return current[1], current[2]
    with _lock:
        by_alternative: dict[Alternative, tuple[Alternative, ...]] = {}
        for terms in SearchSynonym.objects.values_list("terms", flat=True):
            group = parse_terms(terms)
            if len(group) < 2:
                continue
            for alternative in group:
                others = [a for a in group if a != alternative]
                merged = by_alternative.get(alternative, (alternative,))
                by_alternative[alternative] = tuple(dict.fromkeys([*merged, *others]))[:MAX_GROUP_TERMS]
        longest = max((len(a) for a in by_alternative), default=0)
        _loaded = (token, by_alternative, longest)
        return by_alternative, longest


def synonym_expand(words: list[str]) -> list[Expansion]:
    """Where these lower-case words (stop words kept) say a member of a group, longest first, no overlaps."""
    if not words:
        return []
    global _loaded, _checked_at
    try:
        groups, longest = _groups()
    except Exception:  # no table yet (a migration running) or a database hiccup: search without synonyms
        logger.warning("synonyms: could not load the groups", exc_info=True)
        # Try again after RECHECK_SECONDS, not on every query ("!" is never a cache token).
        _loaded, _checked_at = ("!", {}, 0), time.monotonic()
        return []
    found: list[Expansion] = []
    position = 0
    while position < len(words):
        for size in range(min(longest, len(words) - position), 0, -1):
            key = tuple(words[position : position + size])
            if key in groups:
                found.append(Expansion(start=position, end=position + size, alternatives=groups[key]))
                position += size
                break
        else:
            position += 1
    return found


def synonyms_apply(query: ParsedQuery) -> ParsedQuery:
    """The query with each phrase of the operations vocabulary turned into an OR group of its synonyms.

    Only words typed outside quotes are expanded (a quoted phrase means exactly that); the word still
    being typed is left alone. A group's own words leave ``terms``, so a strict match needs any one
    alternative, never all of them.
    """
    words = plain_words(query.raw)
    if query.prefix and words and words[-1] == query.prefix:
        words = words[:-1]
    expansions = synonym_expand(words)
    if not expansions:
        return query
    groups, used = [], set()
    for expansion in expansions:
        said = expansion.alternatives[0]
        content = [w for w in said if w not in STOP_WORDS]
        if not content:
            continue
        if any(set(expansion.alternatives) == set(group) for group in groups):
            continue  # "frozen, not responding": one group said twice needs matching once
        used.update(content)
        groups.append(expansion.alternatives)
    if not groups:
        return query
    terms = tuple(t for t in query.terms if t not in used)
    return replace(query, terms=terms, groups=tuple(dict.fromkeys(groups))[:8])
