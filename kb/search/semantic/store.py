"""Stored article vectors: what text is embedded, refreshing the rows, and this process's vector index.

Each article is embedded as a few passages (its heading path, title, symptoms and summary; then its body
in windows; a message's template slots read as words), one ``ArticleEmbedding`` row of float16 vectors per
article; its similarity to a query blends its best passage's with the mean of its passages. A refresh
re-encodes only the articles whose passages (or the model) changed, so running it twice changes nothing.
The in-process index (every vector as one float32 matrix) is rebuilt when the table's count or newest
row moves on.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import connections, transaction
from django.db.models import F

from ...models import Article, ArticleEmbedding, Symptom
from .encoder import DIMENSIONS, MODEL_NAME, Encoder

# One window of the body after the first passage (more windows found nothing more on the dev guides and
# cost encoding time); the model cuts it at 256 tokens anyway.
BODY_WINDOW_WORDS = 180
MAX_BODY_WINDOWS = 1
# An article's similarity is its best passage's, blended with the mean of its passages: an article whose
# heading and body both speak of the query beats one whose single passage happens to share a phrase.
# (On the dev guides' paraphrases: max alone 0.739 top 3, this blend 0.750, the mean alone 0.710.)
PASSAGE_MEAN_WEIGHT = 0.4
REFRESH_CHUNK = 64

_FENCE_RE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML_RE = re.compile(r"<[^>]{1,200}>")
_MARKUP_RE = re.compile(r"[#*_`>|]+")
_SPACE_RE = re.compile(r"\s+")
# A template slot in a quoted message ("denied access on the database {database_name}", MDX escapes it
# as "\{"): the model reads the braces and underscores as noise, the words inside as what the slot is.
_PLACEHOLDER_RE = re.compile(r"\\?\{([^{}\n]{1,60})\}")


def _plain(markdown: str) -> str:
    """Markdown as the words a reader sees: code blocks, link targets, tags and markup removed."""
    text = _FENCE_RE.sub(" ", markdown)
    text = _LINK_RE.sub(r"\1", text)
    text = _HTML_RE.sub(" ", text)
    text = _MARKUP_RE.sub(" ", text)
    return _SPACE_RE.sub(" ", text).strip()


def _readable(text: str) -> str:
    """Template slots as the words they name: ``{database_name}`` -> ``database name``."""
    return _PLACEHOLDER_RE.sub(lambda m: m.group(1).replace("_", " "), text)


def article_passages(*, title: str, heading_path: str, summary: str, body: str, symptoms: Iterable[str]) -> list[str]:
    """The passages embedded for one article: what it is about first, then its body in windows."""
    path = heading_path if title.lower() in heading_path.lower() else f"{heading_path} / {title}".strip(" /")
    head = ". ".join(p for p in [path, *dict.fromkeys(s for s in symptoms if s and s != title), summary] if p)
    passages = [head]
    words = _plain(body).split()
    for start in range(0, min(len(words), BODY_WINDOW_WORDS * MAX_BODY_WINDOWS), BODY_WINDOW_WORDS):
        passages.append(f"{title}: {' '.join(words[start : start + BODY_WINDOW_WORDS])}")
    return [_readable(p) for p in passages]


def _passages_by_article(ids: list[int], using: str) -> dict[int, list[str]]:
    symptoms: dict[int, list[str]] = {}
    for article_id, title in (Symptom.objects.using(using).filter(articles__in=ids)
                              .values_list("articles", "title").order_by("pk")):
        symptoms.setdefault(article_id, []).append(title)
    rows = Article.objects.using(using).filter(pk__in=ids).values_list("pk", "title", "heading_path", "summary", "body")
    return {pk: article_passages(title=title, heading_path=path, summary=summary, body=body,
                                 symptoms=symptoms.get(pk, ()))
            for pk, title, path, summary, body in rows}


def _hash(passages: list[str]) -> str:
    return hashlib.sha256("\x1e".join([MODEL_NAME, *passages]).encode()).hexdigest()


def embeddings_refresh(*, encoder: Encoder, article_ids: Iterable[int], using: str = "default") -> int:
    """Bring these articles' vectors up to date; returns how many were (re-)encoded.

    Unchanged articles (same passages, same model) are skipped; ids of deleted articles are ignored
    (their rows went with them).
    """
    ids = sorted({int(i) for i in article_ids})
    encoded = 0
    for start in range(0, len(ids), REFRESH_CHUNK):
        chunk = ids[start : start + REFRESH_CHUNK]
        passages = _passages_by_article(chunk, using)
        known = dict(ArticleEmbedding.objects.using(using).filter(article_id__in=chunk)
                     .values_list("article_id", "content_hash"))
        todo = {pk: (texts, _hash(texts)) for pk, texts in passages.items()}
        todo = {pk: pair for pk, pair in todo.items() if known.get(pk) != pair[1]}
        if not todo:
            continue
        flat = [text for texts, _ in todo.values() for text in texts]
        vectors = encoder.encode(flat).astype(np.float16)
        rows, offset = [], 0
        for pk, (texts, digest) in todo.items():
            block = vectors[offset : offset + len(texts)]
            offset += len(texts)
            rows.append(ArticleEmbedding(article_id=pk, model=MODEL_NAME, content_hash=digest, chunks=len(texts),
                                         vectors=block.tobytes()))
        with transaction.atomic(using=using):
            # Only articles that still exist: one may have been deleted since its passages were read.
            alive = set(Article.objects.using(using).filter(pk__in=list(todo)).values_list("pk", flat=True))
            ArticleEmbedding.objects.using(using).filter(article_id__in=list(todo)).delete()
            ArticleEmbedding.objects.using(using).bulk_create([r for r in rows if r.article_id in alive])
        encoded += len(todo)
    return encoded


def embeddings_stale(*, using: str = "default", limit: int | None = None) -> list[int]:
    """Articles with no vectors, or vectors older than their last edit."""
    missing = Article.objects.using(using).filter(embedding__isnull=True).values_list("pk", flat=True)
    older = (Article.objects.using(using).filter(embedding__updated_at__lt=F("updated_at"))
             .values_list("pk", flat=True))
    found = list(missing[:limit] if limit else missing)
    if limit is None or len(found) < limit:
        rest = older[: limit - len(found)] if limit else older
        found += list(rest)
    return found


def table_version(using: str = "default") -> tuple:
    """Changes whenever a vector row is added, removed or rewritten, or an article is added or edited.

    One statement, read on every semantic search: the vector table's count and newest row, and the newest
    article edit (an index lookup; counting articles would scan them). A deleted article takes its vector
    row with it, which moves the count; one that never had vectors was never in the index.
    """
    vectors, articles = ArticleEmbedding._meta.db_table, Article._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT v.n, v.newest, a.newest FROM (SELECT COUNT(*) AS n, MAX(updated_at) AS newest "
                       f"FROM {vectors}) v, (SELECT MAX(updated_at) AS newest FROM {articles}) a")
        return tuple(cursor.fetchone())


@dataclass
class VectorIndex:
    """Every stored vector as one matrix; rows of one article are contiguous, starting at ``starts``."""

    version: tuple
    article_ids: np.ndarray  # (articles,)
    system_ids: np.ndarray
    published: np.ndarray  # bool
    starts: np.ndarray  # first row of each article in ``matrix``
    matrix: np.ndarray  # (rows, DIMENSIONS) float32

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Per article, how close its passages are to the query vector: the best passage's cosine
        similarity, blended with the mean over its passages (PASSAGE_MEAN_WEIGHT)."""
        if not len(self.article_ids):
            return np.zeros(0, dtype=np.float32)
        per_passage = self.matrix @ query
        best = np.maximum.reduceat(per_passage, self.starts)
        counts = np.diff(np.append(self.starts, len(per_passage)))
        mean = np.add.reduceat(per_passage, self.starts) / counts
        return (1.0 - PASSAGE_MEAN_WEIGHT) * best + PASSAGE_MEAN_WEIGHT * mean


def index_load(version: tuple, using: str = "default") -> VectorIndex:
    rows = (ArticleEmbedding.objects.using(using).filter(model=MODEL_NAME)
            .values_list("article_id", "article__system_id", "article__status", "chunks", "vectors")
            .order_by("article_id"))
    ids, systems, published, starts, blocks = [], [], [], [], []
    offset = 0
    for article_id, system_id, status, chunks, data in rows.iterator(chunk_size=1000):
        block = np.frombuffer(bytes(data), dtype=np.float16)
        if chunks < 1 or block.size != chunks * DIMENSIONS:
            continue  # a row written by another model width: skipped until refreshed
        ids.append(article_id)
        systems.append(system_id)
        published.append(status == Article.Status.PUBLISHED)
        starts.append(offset)
        blocks.append(block.reshape(chunks, DIMENSIONS))
        offset += chunks
    matrix = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, DIMENSIONS), np.float32)
    return VectorIndex(version=version, article_ids=np.array(ids, dtype=np.int64),
                       system_ids=np.array(systems, dtype=np.int64), published=np.array(published, dtype=bool),
                       starts=np.array(starts, dtype=np.int64), matrix=matrix)


_lock = threading.Lock()
_indexes: dict[str, VectorIndex] = {}


def index_current(using: str = "default", *, version: tuple | None = None) -> VectorIndex:
    """This process's vector index for ``using``, reloaded when the tables moved on."""
    version = version if version is not None else table_version(using)
    current = _indexes.get(using)
    if current is not None and current.version == version:
        return current
    with _lock:
        current = _indexes.get(using)
        if current is None or current.version != version:
            current = _indexes[using] = index_load(version, using)
    return current
