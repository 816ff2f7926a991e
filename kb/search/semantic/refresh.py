"""Keeping vectors current after writes: ``index_articles`` enqueues the refresh once the write commits,
and the task (kb.tasks) encodes what changed. Both do nothing while semantics are off."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from common.transactions import CommitRequest, on_commit_join

from .encoder import encoder_get
from .rerank import semantic_enabled
from .store import embeddings_refresh

logger = logging.getLogger(__name__)

# Ids per task: a big import becomes several tasks, each well inside the task's time limit.
TASK_CHUNK = 200


def article_embeddings_refresh(*, article_ids: Iterable[int], using: str = "default") -> int:
    """Encode the articles whose embedded text changed; returns how many. Safe to repeat: unchanged
    articles are skipped by their content hash, deleted ones are ignored."""
    if not semantic_enabled():
        return 0
    encoder = encoder_get()
    if encoder is None:
        return 0
    return embeddings_refresh(encoder=encoder, article_ids=article_ids, using=using)


class _Pending(CommitRequest):
    """The ids one commit callback will queue."""

    def __init__(self) -> None:
        self.ids: set[int] = set()

    def run(self) -> None:
        from config.celery import task_publish

        from ...tasks import article_embeddings_refresh_task

        ordered = sorted(self.ids)
        try:
            for start in range(0, len(ordered), TASK_CHUNK):
                task_publish(article_embeddings_refresh_task, args=[ordered[start : start + TASK_CHUNK]])
        except Exception:
            logger.warning("semantic: could not queue the vector refresh of %d articles", len(ordered),
                           exc_info=True)


def article_embeddings_enqueue(article_ids: Iterable[int], *, using: str = "default") -> None:
    """After the current transaction commits, queue the refresh of these articles' vectors.

    Every article written in one transaction goes into one request (an import indexes its articles one by
    one, each in a savepoint of its own; a task each would be hundreds of tasks). A broker outage only logs: searches encode a few missing articles themselves, and the
    next write queues them again.
    """
    ids = {int(i) for i in article_ids}
    if not ids or not semantic_enabled():
        return
    on_commit_join(_Pending, add=lambda pending: pending.ids.update(ids), using=using)
