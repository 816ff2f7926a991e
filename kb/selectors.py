"""Reads for the knowledge base; they own select_related/prefetch_related."""

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Article, Symptom, System


def article_visible_q(user) -> Q:
    """Drafts are visible to staff only."""
    if is_staff(user):
        return Q()
    return Q(status=Article.Status.PUBLISHED)


def is_staff(user) -> bool:
    return user is not None and user.is_authenticated and user.is_staff


def system_list(*, user=None) -> QuerySet[System]:
    visible = Q() if is_staff(user) else Q(articles__status=Article.Status.PUBLISHED)
    return System.objects.annotate(article_count=Count("articles", filter=visible)).order_by("name")


def article_list(*, user=None) -> QuerySet[Article]:
    return Article.objects.filter(article_visible_q(user)).select_related("system").prefetch_related("tags")


def article_get(*, system_slug: str, slug: str, user=None) -> Article:
    return (
        article_list(user=user)
        .prefetch_related(
            Prefetch("symptoms", queryset=Symptom.objects.prefetch_related("signatures")),
            "solutions",
        )
        .get(system__slug=system_slug, slug=slug)
    )
