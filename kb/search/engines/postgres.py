"""PostgreSQL search: a stored weighted ``search_vector`` kept by a trigger, GIN indexes, BM25, ts_headline.

Title is weight A, symptom signatures/titles and tags B, summary C, body D; ``search_head`` indexes only
titles, symptoms and tags (for the priority fetch and the signature pre-filter) and pg_trgm gives typo
tolerance. Matches are ranked by BM25 as SQLite's FTS5 ranks them (see ``bm25``): ``ts_rank_cd`` of each
query item alone gives its field-weighted count, ``kb_search_matches`` its document frequency. The DDL
lives in ``kb/migrations/0002_search.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..highlight import HIGHLIGHT_START, HIGHLIGHT_STOP
from ..query import ParsedQuery
from ..spelling import max_edits
from .base import SIGNATURE_LIMIT, STRICT, Candidate, Engine, Filters
from .bm25 import bm25_idf, bm25_score

# Document frequencies of query items for the current article-table stamp (see rank_idfs), per process.
FREQUENCY_CACHE_SIZE = 50_000
_frequencies: dict[tuple, dict[tuple[str, str], int]] = {}


class PostgresEngine(Engine):
    vendor = "postgresql"
    # BM25 on FTS5's scale: a good title match is ~8 (as on SQLite).
    rank_scale = 0.25
    # D (body), C (summary), B (signatures, tags), A (title): SQLite's bm25 column weights 1, 2, 4, 10 over
    # ten, since ts_rank_cd takes weights up to 1; RANK_WEIGHT_SCALE turns its counts back into FTS5's.
    WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
    RANK_WEIGHT_SCALE = 10.0
    # Document frequencies are counted up to this many matches (a bound on the work for a common word);
    # in a larger knowledge base the commonest words then weigh a little more than they should.
    FREQUENCY_LIMIT = 1000
    # Up to this many articles are counted exactly; past it the planner's estimate of the table will do.
    ARTICLE_COUNT_LIMIT = 10000
    HEADLINE_OPTIONS = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxWords=30, MinWords=15"

    def __init__(self, using: str) -> None:
        super().__init__(using)
        # Per search (an engine lives for one): its stages rank the same items, counted once.
        self._idfs: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self._stamp: tuple[tuple, int] | None = None

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

    @staticmethod
    def _alternative(words: tuple[str, ...]) -> str:
        return words[0] if len(words) == 1 else f'"{" ".join(words)}"'

    def tsquery(self, query: ParsedQuery, mode: str) -> tuple[str, list[Any]]:
        """SQL for the tsquery of one stage; every word is already alphanumeric, so nothing can inject."""
        parts, params = [], []
        exclusions = " ".join([f"-{t}" for t in query.excluded_terms] +
                              [f'-"{" ".join(p)}"' for p in query.excluded_phrases])
        if mode == STRICT or query.word_count <= 1:
            text = " ".join(x for x in (self._websearch(query.terms, query.phrases), exclusions) if x)
            if text:
                parts.append("websearch_to_tsquery('english', %s)")
                params.append(text)
            if query.prefix:
                parts.append("to_tsquery('english', %s)")
                params.append(f"{query.prefix}:*")
            for group in query.groups:
                # A synonym group matches through any of its words or phrases.
                parts.append("(" + " || ".join(["websearch_to_tsquery('english', %s)"] * len(group)) + ")")
                params += [self._alternative(a) for a in group]
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
            for alternative in (a for group in query.groups for a in group):
                any_parts.append("websearch_to_tsquery('english', %s)")
                any_params.append(self._alternative(alternative))
            parts.append("(" + " || ".join(any_parts) + ")")
            params += any_params
        return "(" + " && ".join(parts) + ")", params

    @staticmethod
    def rank_items(query: ParsedQuery) -> list[tuple[str, str]]:
        """What BM25 counts, as FTS5 counts each phrase of its MATCH expression: every word, quoted phrase,
        synonym alternative and the prefix, each as (tsquery function, its text)."""
        items = [("phraseto_tsquery", term) for term in query.terms]
        items += [("phraseto_tsquery", " ".join(words)) for words in query.phrases]
        items += [("phraseto_tsquery", " ".join(words)) for group in query.groups for words in group]
        if query.prefix:
            items.append(("to_tsquery", f"{query.prefix}:*"))
        return list(dict.fromkeys(items))

    def rank_idfs(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """Each item's BM25 weight from how many articles it matches (drafts too, as in FTS5).

        Counting matches is most of a ranked search's cost on a large knowledge base, and the same words
        come back search after search: counts are kept per process, keyed by a stamp of the article table
        (newest id and edit, two index lookups), so any new or edited article starts them afresh."""
        key = tuple(items)
        if key not in self._idfs:
            stamp, articles = self._frequency_stamp()
            known = _frequencies.get(stamp, {})
            missing = [item for item in dict.fromkeys(items) if item not in known]
            if missing:
                counts = ", ".join([f"kb_search_matches({function}('english', %s), %s)" for function, _ in missing])
                params: list[Any] = [value for _, text in missing for value in (text, self.FREQUENCY_LIMIT)]
                row = self._rows(f"SELECT {counts}", params)[0]
                fresh = {item: int(matches) for item, matches in zip(missing, row, strict=True)}
                known = {**known, **fresh} if len(known) < FREQUENCY_CACHE_SIZE else fresh
                _frequencies.clear()  # one stamp at a time: older counts are of an older table
                _frequencies[stamp] = known
            self._idfs[key] = [bm25_idf(known[item], articles) for item in items]
        return self._idfs[key]

    def _frequency_stamp(self) -> tuple[tuple, int]:
        """(stamp of the article table, number of articles): the planner's estimate on a large table,
        counted (up to ARTICLE_COUNT_LIMIT) on a small one. Read once per search, whatever its stages."""
        if self._stamp is None:
            newest_id, newest_edit, estimate = self._rows(
                "SELECT MAX(id), MAX(updated_at), (SELECT reltuples::bigint FROM pg_class "
                "WHERE oid = 'kb_article'::regclass) FROM kb_article", [])[0]
            articles = int(estimate or 0)
            if articles < self.ARTICLE_COUNT_LIMIT:
                articles = max(articles, int(self._rows(
                    "SELECT count(*) FROM (SELECT 1 FROM kb_article LIMIT %s) n", [self.ARTICLE_COUNT_LIMIT])[0][0]))
            self._stamp = (self.using, newest_id, newest_edit, articles), articles
        return self._stamp

    def rank_sql(self, items: Sequence[tuple[str, str]]) -> tuple[str, list[Any]]:
        """Two columns: the article's length (distinct words) and each item's field-weighted count in it
        (ts_rank_cd of a single word or phrase sums the weights of its occurrences)."""
        counts = ", ".join(f"ts_rank_cd('{self.WEIGHTS}', a.search_vector, {function}('english', %s), 0)"
                           for function, _ in items)
        return f"length(a.search_vector), ARRAY[{counts}]::float8[]", [text for _, text in items]

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
        items = self.rank_items(query) if rank else []
        rank_sql, rank_params = self.rank_sql(items) if items else ("0, NULL", [])
        order = "ORDER BY a.updated_at DESC" if sort == "recent" else ""
        rows = self._rows(
            f"SELECT {self.CANDIDATE_COLUMNS.format(rank='0')}, {rank_sql} "
            f"FROM kb_article a WHERE {match_sql} AND {where} {order} LIMIT %s",
            [*rank_params, *match_params, *where_params, limit],
        )
        found = self._candidate_rows(rows)
        if items and rows:
            idfs = self.rank_idfs(items)
            # Lengths relative to the matches' average: the whole table's would cost a scan per search.
            average = sum(r[-2] for r in rows) / len(rows)
            for candidate, row in zip(found, rows, strict=True):
                frequencies = [self.RANK_WEIGHT_SCALE * f for f in row[-1]]
                candidate.text_rank = self.normalise_rank(
                    bm25_score(frequencies, idfs, length=row[-2], average_length=average))
        return found

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
        if query.terms or query.phrases or query.groups:
            alternatives = [a for group in query.groups for a in group]
            parts.append("websearch_to_tsquery('english', %s)")
            params.append(self._websearch(query.terms, (*query.phrases, *alternatives), joiner=" or "))
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


