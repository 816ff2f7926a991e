"""STUB (matchui branch only): the retrieval interface, returning nothing.

The real engine is written on the retrieval branch and replaces this whole file at merge. It exists so
the match service, API and page can call the interface and be tested (tests monkeypatch
``related_lookup``). ``STUB`` tells tests that no real retrieval is behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Article, Symptom

STUB = True


@dataclass(frozen=True)
class RelatedHit:
    article: Article
    articles: list[Article]
    symptom: Symptom | None
    score: float
    why: list[str]
    query: str


def related_lookup(*, events: list[str], system: str | None = None, exclude_symptom_ids: set[int] = frozenset(),
                   user: Any = None, limit: int = 5) -> list[RelatedHit]:
    """Stub: no related hits."""
    return []


def system_detect(text: str) -> str | None:
    """Stub: no system detected."""
    return None
