"""Index maintenance: keep each article's search entry and the "did you mean" vocabulary current.

The database trigger (``kb/migrations/0002_search.py``) computes an article's entry from its own text,
its symptoms' titles and signatures and its tags; services call ``index_articles`` after every write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..models import Article, Symptom, Tag
from .engines import engine_for
from .engines.base import placeholders
from .semantic.refresh import article_embeddings_enqueue

_INDEX_WORD_RE = re.compile(r"[^\W_]{3,32}")


def index_words(text: str) -> set[str]:
    """Words worth offering as spelling corrections: 3-32 characters with at least one letter."""
    return {w for w in _INDEX_WORD_RE.findall(text.lower()) if not w.isdigit()}


def index_articles(article_ids: Iterable[int], *, using: str = "default") -> None:
    """Bring the search index up to date for these articles (called after every write).

    The database trigger recomputes an article's index entry from its own text, its symptoms'
    titles and signatures and its tags; this re-fires it (symptoms and tags live in other tables) and
    records new words for "did you mean". Two statements per call, whatever the number of articles.
    Once the write commits, the articles' sentence vectors are refreshed by a task (kb.search.semantic).
    """
    ids = sorted({int(i) for i in article_ids if i is not None})
    if not ids:
        return
    engine = engine_for(using)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        with engine.connection.cursor() as cursor:
            cursor.execute(f"UPDATE kb_article SET title = title WHERE id IN ({placeholders(chunk)})", chunk)
        words: set[str] = set()
        articles = Article.objects.using(using).filter(pk__in=chunk)
        for title, summary, body in articles.values_list("title", "summary", "body"):
            words |= index_words(f"{title} {summary} {body[:200000]}")
        for text in Symptom.objects.using(using).filter(articles__in=chunk).values_list("title", "signatures__text"):
            words |= index_words(" ".join(t for t in text if t))
        for name in Tag.objects.using(using).filter(articles__in=chunk).values_list("name", flat=True):
            words |= index_words(name)
        engine.add_words(sorted(words))
    article_embeddings_enqueue(ids, using=using)


