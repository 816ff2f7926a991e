"""Query time: the query's vector, the nearest articles, and how they join the lexical candidates.

``semantic_similarities`` returns, for the articles a search may show, how close each one's passages are
to the query (``VectorIndex.similarities``). Vectors missing for a handful of articles (written a moment ago, before the refresh
task ran) are computed on the spot; more than that are left to the task, and those articles are found
lexically meanwhile. With the setting off, the package missing or any failure, it returns nothing and
search stays lexical.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from threading import Lock

import numpy as np
from django.conf import settings

from ..query import ParsedQuery
from .encoder import encoder_get, model_available
from .store import embeddings_refresh, embeddings_stale, index_current, table_version

logger = logging.getLogger(__name__)

# At most this many articles are encoded inside a search (about a second on one core); more wait for the task.
LAZY_LIMIT = 16
_QUERY_CACHE_SIZE = 512
_query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_query_lock = Lock()
_checked_versions: dict[str, tuple] = {}
# Articles that no lexical stage found join the results only when this close, and only the closest few:
# a query about nothing in the knowledge base still finds nothing.
MIN_SIMILARITY = 0.3
MAX_EXTRA = 10
_OPERATOR_RE = re.compile(r"""(?:^|\s)(?:-"[^"]*"|-\S+|(?:system|tag):\S+)""", re.IGNORECASE)


def semantic_enabled() -> bool:
    """The setting is on and the model package is installed (the weights are not read here)."""
    return bool(getattr(settings, "TRIAGE_SEMANTIC", False)) and model_available()


def query_vector(text: str) -> np.ndarray | None:
    """The query's unit vector (cached per process: people repeat and refine queries), or None."""
    key = " ".join(text.split()).lower()[:1000]
    with _query_lock:
        found = _query_cache.get(key)
        if found is not None:
            _query_cache.move_to_end(key)
            return found
    encoder = encoder_get()
    if encoder is None:
        return None
    vector = encoder.encode([key])[0]
    with _query_lock:
        _query_cache[key] = vector
        while len(_query_cache) > _QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vector


def semantic_text(query: ParsedQuery) -> str:
    """What the person typed, as a sentence: filters and exclusions removed, quotes kept as words."""
    return " ".join(_OPERATOR_RE.sub(" ", query.raw).replace('"', " ").split())


def semantic_candidate_ids(similarities: dict[int, float], *, exclude: set[int]) -> list[int]:
    """The closest articles not in ``exclude``, at most MAX_EXTRA, none below MIN_SIMILARITY."""
    closest = sorted((pk for pk, sim in similarities.items() if sim >= MIN_SIMILARITY and pk not in exclude),
                     key=lambda pk: -similarities[pk])
    return closest[:MAX_EXTRA]


def _fill_missing(using: str, version: tuple) -> tuple:
    """Encode the few articles that have no (or outdated) vectors yet; returns the tables' version after."""
    if _checked_versions.get(using) == version:
        return version
    stale = embeddings_stale(using=using, limit=LAZY_LIMIT + 1)
    encoder = encoder_get()
    if stale and len(stale) <= LAZY_LIMIT and encoder is not None:
        embeddings_refresh(encoder=encoder, article_ids=stale, using=using)
        version = table_version(using)
    _checked_versions[using] = version
    return version


def semantic_similarities(text: str, *, system_ids: tuple[int, ...] = (), include_drafts: bool = False,
                          using: str = "default") -> dict[int, float]:
    """Article id -> similarity of its passages to ``text`` (``VectorIndex.similarities``), for every article with vectors
    that the filters allow (tags are left to the caller). Empty when semantics are off or unavailable."""
    if not text.strip() or not semantic_enabled():
        return {}
    try:
        version = _fill_missing(using, table_version(using))
        index = index_current(using, version=version)
        if not len(index.article_ids):
            return {}  # no vectors yet (the refresh task has not run): nothing to compare the query with
        vector = query_vector(text)
        if vector is None:
            return {}
        sims = index.similarities(vector)
        keep = np.ones(len(sims), dtype=bool)
        if not include_drafts:
            keep &= index.published
        if system_ids:
            keep &= np.isin(index.system_ids, np.array(system_ids, dtype=np.int64))
        return dict(zip(index.article_ids[keep].tolist(), sims[keep].tolist(), strict=True))
    except Exception:  # search must answer lexically whatever happens here
        logger.warning("semantic: similarity lookup failed; answering lexically", exc_info=True)
        return {}
