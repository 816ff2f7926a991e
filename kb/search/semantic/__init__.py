"""Semantic rerank: sentence vectors of articles and queries, fused with the lexical order.

- ``encoder``: the packaged all-MiniLM-L6-v2 model run in numpy (loaded once per process, lazily);
- ``store``: which passages of an article are embedded, ``embeddings_refresh`` and the in-process index;
- ``rerank``: the query's similarities to the articles a search may show (missing vectors of a few
  articles are computed on the spot) and the closest articles no lexical stage found;
- ``refresh``: after a write commits, a task (kb.tasks) re-encodes the articles whose text changed.

Off (``TRIAGE_SEMANTIC``), without the model package, or on any failure, search is purely lexical.
"""

from .encoder import encoder_get, model_available
from .refresh import article_embeddings_enqueue, article_embeddings_refresh
from .rerank import semantic_candidate_ids, semantic_enabled, semantic_similarities, semantic_text
from .store import embeddings_refresh, embeddings_stale

__all__ = [
    "article_embeddings_enqueue", "article_embeddings_refresh", "embeddings_refresh", "embeddings_stale", "encoder_get", "model_available", "semantic_candidate_ids",
    "semantic_enabled", "semantic_similarities", "semantic_text",
]
