"""What every search engine offers, and the SQL both databases share.

An engine turns a ``ParsedQuery`` into SQL for its database and returns ``Candidate`` rows; it knows
nothing of stages, ranking or pages (kb.search.service decides those). Any module may call one
directly: ``engine_for(using).candidates(query, LOOSE, Filters(), sort="relevance", rank=True,
limit=50)`` with a query from ``kb.search.query.query_from_words``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections

from ...models import Article
from ..query import ParsedQuery

# Signature hits are few and exact; this only bounds a pathological query.
SIGNATURE_LIMIT = 200


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
    # Similarity of the article's passages to the query (kb.search.semantic); None: not known.
    semantic: float | None = None


STRICT, LOOSE = "strict", "loose"


def placeholders(values: Sequence[Any]) -> str:
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
            clauses.append(f"a.system_id IN ({placeholders(filters.system_ids)})")
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

    def rows_for_ids(self, ids: Sequence[int], filters: Filters | None = None) -> list[Candidate]:
        """Candidates for these ids (in no particular order); with ``filters``, only the ones they allow."""
        if not ids:
            return []
        in_ids, params = self.ids_sql(ids)
        where, filter_params = self.filter_sql(filters) if filters is not None else ("1 = 1", [])
        rows = self._rows(
            f"SELECT {self.CANDIDATE_COLUMNS.format(rank='0')} FROM kb_article a WHERE a.id {in_ids} AND {where}",
            [*params, *filter_params],
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

    def facet_rows(self, system_ids: Sequence[int], article_ids: Sequence[int]) -> list[tuple]:
        """In one round trip: (0, id, slug, name, 0) per system, then (1, 0, slug, name, count) for the
        twelve tags most common among the articles."""
        in_systems, system_params = self.ids_sql(system_ids)
        in_ids, params = self.ids_sql(article_ids)
        return self._rows(
            f"SELECT 0, id, slug, name, 0 FROM kb_system WHERE id {in_systems} UNION ALL "
            "SELECT * FROM (SELECT 1, 0, tg.slug, tg.name, count(*) FROM kb_article_tags at "
            f"JOIN kb_tag tg ON tg.id = at.tag_id WHERE at.article_id {in_ids} GROUP BY tg.slug, tg.name "
            "ORDER BY 5 DESC, 4 LIMIT 12) tags",
            [*system_params, *params],
        )

    def fuzzy(self, text: str, filters: Filters, limit: int) -> list[tuple[int, str]]:
        raise NotImplementedError

    def word_matches(self, word: str, limit: int = 1, *, prefix: bool = False) -> int:
        raise NotImplementedError

    def near_words(self, word: str) -> list[str]:
        raise NotImplementedError


