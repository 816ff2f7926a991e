"""Okapi BM25 as SQLite's FTS5 ``bm25()`` computes it, for a database that gives term frequencies only.

PostgreSQL's ``ts_rank`` is no substitute: it has no document frequencies, and it applies the field
weights *after* saturating each word's count, so a word the body repeats scores a tenth of one in the
title while a rare word counts no more than a common one. BM25 weights each field's count first (title
10, symptoms and tags 4, summary 2, body 1, as the FTS5 table does), then saturates the weighted count,
so a section whose body keeps naming a word ranks close to one with it in its title, and rare words
weigh more. Same formula and constants as FTS5 (``fts5_aux.c``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

K1 = 1.2
B = 0.75


def bm25_idf(matches: int, articles: int) -> float:
    """FTS5's inverse document frequency; a word in half the articles or more weighs almost nothing."""
    idf = math.log((articles - matches + 0.5) / (matches + 0.5))
    return idf if idf > 0 else 1e-6


def bm25_score(frequencies: Sequence[float], idfs: Sequence[float], *, length: float, average_length: float) -> float:
    """One article's score: ``frequencies`` are the field-weighted counts of each query item in it (0 when
    absent), ``idfs`` the items' weights from ``bm25_idf``; ``length`` is measured like ``average_length``."""
    relative = length / average_length if average_length > 0 else 1.0
    norm = K1 * (1 - B + B * relative)
    return sum(idf * f * (K1 + 1) / (f + norm) for f, idf in zip(frequencies, idfs, strict=True) if f > 0)
