"""SQLite search: an FTS5 table (porter stemming, bm25 column weights in PostgreSQL's proportions) and FTS5
trigram tables for typo tolerance and the signature pre-filter. The DDL lives in ``kb/migrations/0002_search.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..highlight import HIGHLIGHT_START, HIGHLIGHT_STOP
from ..query import ParsedQuery, words_of
from ..spelling import max_edits
from .base import SIGNATURE_LIMIT, STRICT, Candidate, Engine, Filters


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
        # A synonym group matches through any of its words or phrases.
        words += ["(" + " OR ".join(self._quote(" ".join(a)) for a in group) + ")" for group in query.groups]
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
        words += [self._quote(" ".join(a)) for group in query.groups for a in group]
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
        grams = sorted({w[i : i + 3] for w in words_of(text) for i in range(len(w) - 2)})[:40]
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


