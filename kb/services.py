"""Writes to the knowledge base. Every article change goes through here so it gets a revision."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from .markdown import render_markdown
from .models import Article, ArticleRevision, ArticleVote, Solution, System, Tag
from .search import index_articles


def unique_article_slug(*, system: System, title: str, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:200] or "article"
    slug, n = base, 2
    taken = Article.objects.filter(system=system).exclude(pk=exclude_pk).values_list("slug", flat=True)
    taken_set = set(taken.filter(slug__startswith=base))
    while slug in taken_set:
        slug, n = f"{base}-{n}", n + 1
    return slug


def tags_get_or_create(*, names: list[str]) -> list[Tag]:
    tags = []
    for name in {n.strip().lower() for n in names if n and n.strip()}:
        slug = slugify(name)[:60]
        if slug:
            tags.append(Tag.objects.get_or_create(slug=slug, defaults={"name": name[:60]})[0])
    return tags


def _revision_add(*, article: Article, author: AbstractBaseUser | None, note: str) -> ArticleRevision:
    last = article.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    return ArticleRevision.objects.create(
        article=article, number=last + 1, title=article.title, summary=article.summary,
        body=article.body, author=author, note=note[:255],
    )


@transaction.atomic
def article_create(
    *,
    system: System,
    title: str,
    body: str,
    summary: str = "",
    heading_path: str = "",
    tags: list[str] | None = None,
    status: str = Article.Status.PUBLISHED,
    author: AbstractBaseUser | None = None,
    source_file: str = "",
    source_anchor: str = "",
    source_hash: str = "",
    note: str = "Created",
) -> Article:
    rendered = render_markdown(body)
    article = Article(
        system=system, title=title, slug=unique_article_slug(system=system, title=title), body=body,
        body_html=rendered.html, toc_html=rendered.toc_html, summary=summary, heading_path=heading_path,
        status=status, author=author if author and author.is_authenticated else None,
        source_file=source_file, source_anchor=source_anchor, source_hash=source_hash,
    )
    article.full_clean()
    article.save()
    if tags:
        article.tags.set(tags_get_or_create(names=tags))
    _revision_add(article=article, author=article.author, note=note)
    index_articles([article.pk])
    return article


@transaction.atomic
def article_update(
    *,
    article: Article,
    author: AbstractBaseUser | None = None,
    note: str = "",
    tags: list[str] | None = None,
    **fields,
) -> bool:
    """Apply changed fields; return False (and write nothing) when nothing changed."""
    allowed = {"title", "body", "summary", "heading_path", "status", "source_file", "source_anchor", "source_hash"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"article_update() got unexpected fields: {', '.join(sorted(unknown))}")
    changed = {k: v for k, v in fields.items() if getattr(article, k) != v}
    tags_changed = tags is not None and sorted({t.strip().lower() for t in tags if t.strip()}) != sorted(
        article.tags.values_list("name", flat=True)
    )
    if not changed and not tags_changed:
        return False
    for key, value in changed.items():
        setattr(article, key, value)
    if "body" in changed:
        rendered = render_markdown(article.body)
        article.body_html, article.toc_html = rendered.html, rendered.toc_html
    article.full_clean()
    article.save()
    if tags_changed:
        article.tags.set(tags_get_or_create(names=tags))
    if changed.keys() & {"title", "body", "summary"} or tags_changed:
        editor = author if author and author.is_authenticated else None
        _revision_add(article=article, author=editor, note=note or "Edited")
    index_articles([article.pk])
    return True


def solution_render(*, solution: Solution) -> None:
    solution.steps_html = render_markdown(solution.steps).html


def solution_resolved_count_adjust(*, solution_id: int, delta: int) -> bool:
    """Count one more (delta=1) or one fewer (delta=-1) incident fixed by this solution.

    Called by incidents when an incident is resolved with the solution, or reopened after it. The count
    never goes below zero; returns whether a row changed.
    """
    rows = Solution.objects.filter(pk=solution_id)
    if delta < 0:
        rows = rows.filter(resolved_count__gte=-delta)
    return bool(rows.update(resolved_count=F("resolved_count") + delta))


def article_record_view(*, article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


@transaction.atomic
def article_vote(
    *, article: Article, helpful: bool, user: AbstractBaseUser | None, session_key: str, comment: str = ""
) -> ArticleVote:
    """Record or change a vote; counters move by the difference so they stay exact."""
    lookup = {"user": user} if user and user.is_authenticated else {"user": None, "session_key": session_key}
    vote = ArticleVote.objects.select_for_update().filter(article=article, **lookup).first()
    delta_helpful = delta_not = 0
    if vote is None:
        vote = ArticleVote(article=article, helpful=helpful, comment=comment.strip()[:2000], **lookup)
        delta_helpful, delta_not = (1, 0) if helpful else (0, 1)
    else:
        if vote.helpful != helpful:
            delta_helpful, delta_not = (1, -1) if helpful else (-1, 1)
        vote.helpful = helpful
        if comment.strip() or helpful:
            vote.comment = "" if helpful else comment.strip()[:2000]
    vote.save()
    if delta_helpful or delta_not:
        Article.objects.filter(pk=article.pk).update(
            helpful_count=F("helpful_count") + delta_helpful, not_helpful_count=F("not_helpful_count") + delta_not
        )
    return vote


def system_upsert(
    *, slug: str, name: str, description: str = "", links: list | None = None, depends_on: list[str] | None = None
) -> tuple[System, bool]:
    """Create or update a system by slug; returns (system, changed)."""
    system, created = System.objects.get_or_create(slug=slug, defaults={"name": name, "description": description,
                                                                        "links": links or []})
    changed = created
    if not created:
        updates = {"name": name, "description": description or system.description,
                   "links": links if links is not None else system.links}
        if any(getattr(system, k) != v for k, v in updates.items()):
            for k, v in updates.items():
                setattr(system, k, v)
            system.save()
            changed = True
    if depends_on is not None:
        wanted = set(System.objects.filter(slug__in=depends_on).values_list("pk", flat=True))
        if wanted != set(system.depends_on.values_list("pk", flat=True)):
            system.depends_on.set(wanted)
            changed = True
    return system, changed
