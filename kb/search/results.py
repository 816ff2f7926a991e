"""What a search returns: a page of hits with highlights, counts, facets and a spelling suggestion."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils.safestring import SafeString

from ..models import Article
from .query import ParsedQuery

PAGE_SIZE = 10
MAX_PAGE_SIZE = 50



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


