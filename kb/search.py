"""Full-text search over the knowledge base (PostgreSQL tsvector + pg_trgm, SQLite FTS5)."""

from collections.abc import Iterable


def index_articles(article_ids: Iterable[int]) -> None:
    """Bring the search index up to date for these articles (called after every write)."""
