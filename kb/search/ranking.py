"""Ranking: the score that orders candidates.

Signature hits outrank everything, then strict (all words) over loose (any word); inside a tier the
text rank (0..1) times the bounded outcome multiplier orders articles, so helpful votes and incidents
resolved move an article up or down but never past a better text match tier.

With the semantic rerank (kb.search.semantic), ``candidates_fuse`` then merges that lexical order with
the order of similarity to the query by reciprocal-rank fusion; articles with signature hits stay first.
"""

from __future__ import annotations

import math

from .engines.base import Candidate

SIGNATURE_WEIGHT = 4.0
TIER_WEIGHT = 2.0
VOTE_BOOST_BOUNDS = (-0.15, 0.25)
RESOLVED_BOOST_MAX = 0.2


def outcome_multiplier(*, helpful: int, not_helpful: int, resolved: int) -> float:
    """1.0 for no signal; votes move it within VOTE_BOOST_BOUNDS, resolved incidents add up to 0.2."""
    votes = helpful + not_helpful
    vote = 0.3 * (helpful - not_helpful) / (votes + 5) if votes else 0.0
    low, high = VOTE_BOOST_BOUNDS
    resolved_boost = min(RESOLVED_BOOST_MAX, 0.05 * math.log2(1 + resolved)) if resolved > 0 else 0.0
    return 1.0 + min(high, max(low, vote)) + resolved_boost


def candidates_order(candidates: list[Candidate], *, sort: str, rank: bool) -> None:
    """Sort in place: by score (computed here) when ranking by relevance, newest first for "recent",
    else in the order the stages found them."""
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


# Reciprocal-rank fusion: 1 / (FUSION_K + lexical rank) + SEMANTIC_WEIGHT / (FUSION_K + semantic rank), ranks
# from 1. A small K lets a clear first place on either side count; tuned on the benchmark's dev guides.
FUSION_K = 5.0
SEMANTIC_WEIGHT = 1.5


def candidates_fuse(candidates: list[Candidate], similarities: dict[int, float]) -> None:
    """Reorder candidates already ordered lexically (``candidates_order``) by fusing in their rank by
    similarity; ``similarities`` holds every article the search may show, so ranks are global. Articles
    with signature hits keep their place above the rest; candidates found only semantically (tier -1)
    have no lexical rank."""
    if not similarities or not candidates:
        return
    ranked = sorted(similarities, key=lambda pk: -similarities[pk])
    semantic_rank = {pk: i + 1 for i, pk in enumerate(ranked)}
    lexical_rank = 0
    for c in candidates:
        c.semantic = similarities.get(c.id)
        fused = 0.0
        if c.tier >= 0:
            lexical_rank += 1
            fused += 1.0 / (FUSION_K + lexical_rank)
        if c.id in semantic_rank:
            fused += SEMANTIC_WEIGHT / (FUSION_K + semantic_rank[c.id])
        # Votes and resolved incidents weigh on the fused score as on the lexical one.
        fused *= outcome_multiplier(helpful=c.helpful, not_helpful=c.not_helpful, resolved=c.resolved)
        c.score = SIGNATURE_WEIGHT * c.signature_hits + fused
    candidates.sort(key=lambda c: (-c.score, -c.helpful, c.id))
