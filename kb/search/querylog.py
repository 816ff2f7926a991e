"""The query log and the knowledge-gaps report built from it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from ..models import Article, ArticleVote, SearchQueryLog
from .query import clean_query_text

REFINE_WINDOW = timedelta(seconds=90)


def search_log_record(
    *,
    query: str,
    normalized: str,
    result_count: int,
    user: Any = None,
    session_key: str = "",
    source: str = SearchQueryLog.Source.WEB,
) -> SearchQueryLog:
    """Log one search. Typing refines the person's previous row (a prefix either way) instead of adding one."""
    user = user if user is not None and getattr(user, "is_authenticated", False) else None
    query = " ".join(clean_query_text(query).split())  # no NUL (PostgreSQL refuses it) nor control characters
    now = timezone.now()
    owner = Q(user=user) if user else Q(user__isnull=True, session_key=session_key)
    previous = None
    if user or session_key:
        previous = (
            SearchQueryLog.objects.filter(owner, source=source, created_at__gte=now - REFINE_WINDOW,
                                          clicked_article__isnull=True)
            .order_by("-created_at").first()
        )
    if previous is not None and (normalized.startswith(previous.normalized) or
                                 previous.normalized.startswith(normalized)):
        SearchQueryLog.objects.filter(pk=previous.pk).update(
            query=query[:500], normalized=normalized[:500], result_count=result_count, created_at=now
        )
        previous.query, previous.normalized, previous.result_count = query[:500], normalized[:500], result_count
        return previous
    return SearchQueryLog.objects.create(
        query=query[:500], normalized=normalized[:500], result_count=result_count, user=user,
        session_key=session_key[:40], source=source, created_at=now,
    )


def search_log_click(*, log_id: int, article: Article, user: Any = None, session_key: str = "") -> bool:
    """Remember which result a person opened from their own search; others' logs are left alone."""
    user = user if user is not None and getattr(user, "is_authenticated", False) else None
    if user is None and not session_key:
        return False
    owner = Q(user=user) if user else Q(user__isnull=True, session_key=session_key)
    return bool(SearchQueryLog.objects.filter(owner, pk=log_id).update(clicked_article=article))


def search_gaps(*, days: int = 30, limit: int = 50) -> dict[str, QuerySet]:
    """Knowledge gaps: queries that found nothing, and queries whose opened result was voted not helpful."""
    since = timezone.now() - timedelta(days=days)
    recent = SearchQueryLog.objects.filter(created_at__gte=since)
    zero = (
        recent.filter(result_count=0).exclude(normalized="")
        .values("normalized").annotate(searches=Count("id"), last_seen=Max("created_at"), example=Max("query"))
        .order_by("-searches", "-last_seen")[:limit]
    )
    unhelpful_vote = ArticleVote.objects.filter(article=OuterRef("clicked_article"), helpful=False).filter(
        Q(user__isnull=False, user=OuterRef("user"))
        | (Q(user__isnull=True, session_key=OuterRef("session_key")) & ~Q(session_key=""))
    )
    not_helpful = (
        recent.filter(clicked_article__isnull=False).filter(Exists(unhelpful_vote))
        .values("normalized", "clicked_article", "clicked_article__title", "clicked_article__slug",
                "clicked_article__system__slug")
        .annotate(searches=Count("id"), last_seen=Max("created_at"), example=Max("query"))
        .order_by("-searches", "-last_seen")[:limit]
    )
    return {"zero_results": zero, "not_helpful": not_helpful}


