"""Full-text search over the knowledge base: one interface, two engines chosen by the database vendor.

- ``query``: what a person typed, parsed once into words, phrases, exclusions, filters and error tokens;
- ``engines/``: ``postgres`` (weighted tsvector, GIN, ts_headline, pg_trgm) and ``sqlite`` (FTS5 and
  trigram tables) translate a parsed query into SQL and return candidates, both ranked by the same
  BM25 (FTS5's own ``bm25()``; ``engines/bm25`` over ``ts_rank_cd`` counts on PostgreSQL);
- ``spelling``: "did you mean" and the trigram similarity both engines share;
- ``synonyms``: the operations vocabulary (``SearchSynonym`` groups: "OOM" = "out of memory"), turned
  into OR groups that both engines match through any one alternative;
- ``ranking``: the score (signature hits, match tier, text rank, bounded vote/outcome multiplier);
- ``service``: ``search()``, the stages from strict to fuzzy, the page, highlights and facets;
- ``index``: ``index_articles()`` after writes; ``querylog``: the query log and knowledge-gaps report.

Callers use the names below; another engine user (the log matcher's retrieval, say) imports
``engines.engine_for`` and ``query.query_from_words`` directly.
"""

from .engines import engine_for
from .highlight import mark_highlight
from .index import index_articles, index_words
from .query import MAX_QUERY_CHARS, ParsedQuery, QueryError, clean_query_text, parse_query, query_from_words
from .querylog import search_gaps, search_log_click, search_log_record
from .ranking import outcome_multiplier
from .results import MAX_PAGE_SIZE, PAGE_SIZE, Facet, SearchHit, SearchResults
from .service import search

__all__ = [
    "MAX_PAGE_SIZE", "MAX_QUERY_CHARS", "PAGE_SIZE", "Facet", "ParsedQuery", "QueryError", "SearchHit",
    "SearchResults", "clean_query_text", "engine_for", "index_articles", "index_words", "mark_highlight",
    "outcome_multiplier", "parse_query", "query_from_words", "search", "search_gaps", "search_log_click",
    "search_log_record",
]
