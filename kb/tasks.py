from celery import shared_task

from .search.semantic.refresh import article_embeddings_refresh


@shared_task(ignore_result=True, acks_late=True, time_limit=600, soft_time_limit=540)
def article_embeddings_refresh_task(article_ids: list[int]) -> str:
    """Encode the sentence vectors of these articles (after an import or an edit). Idempotent: articles
    whose text did not change since their vectors were written are skipped, so a redelivered task is
    cheap."""
    return f"encoded {article_embeddings_refresh(article_ids=article_ids)}"
