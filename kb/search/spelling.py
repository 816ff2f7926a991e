"""Spelling: "did you mean" corrections and the trigram similarity both engines and the fuzzy stage share.

The similarity helpers mirror pg_trgm, so a correction or a fuzzy match is decided alike on both
databases; the engine only supplies candidate words (``near_words``) and how common each is.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from .query import STOP_WORDS, ParsedQuery, words_of

if TYPE_CHECKING:
    from .engines.base import Engine

_WORD_RE = re.compile(r"[^\W_]+")


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each lower-case word padded with two spaces in front and one behind."""
    grams: set[str] = set()
    for word in words_of(text):
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


def apply_corrections(query: ParsedQuery, corrections: dict[str, str]) -> ParsedQuery:
    terms = tuple(dict.fromkeys(corrections.get(t, t) for t in query.terms))
    prefix = query.prefix
    if prefix in corrections:
        # A completed correction is a whole word, not a prefix any more.
        terms, prefix = tuple(dict.fromkeys((*terms, corrections[prefix]))), ""
    return replace(query, terms=terms, prefix=prefix)


def suggestion_text(raw: str, corrections: dict[str, str]) -> str:
    def swap(match: re.Match) -> str:
        word = match.group(0)
        return corrections.get(word.lower(), word)

    return _WORD_RE.sub(swap, raw)


