"""Reads for the knowledge base; they own select_related/prefetch_related."""

import difflib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from .models import Article, ArticleRevision, ArticleVote, SearchQueryLog, Solution, Symptom, System

if TYPE_CHECKING:
    from .search import ParsedQuery

AnyUser = AbstractBaseUser | AnonymousUser | None

HEADING_SEPARATOR = " / "
# Articles on a system page are grouped by at most this many leading heading segments.
HEADING_GROUP_DEPTH = 2
UNGROUPED_LABEL = "General"


def article_visible_q(user: AnyUser) -> Q:
    """Drafts are visible to staff only."""
    if is_staff(user):
        return Q()
    return Q(status=Article.Status.PUBLISHED)


def is_staff(user: AnyUser) -> bool:
    return user is not None and user.is_authenticated and user.is_staff


def system_list(*, user: AnyUser = None) -> QuerySet[System]:
    visible = Q() if is_staff(user) else Q(articles__status=Article.Status.PUBLISHED)
    return System.objects.annotate(article_count=Count("articles", filter=visible)).order_by("name")


def system_get(*, slug: str) -> System:
    return System.objects.prefetch_related("depends_on", "dependents").get(slug=slug)


def system_links(*, system: System) -> list[dict[str, str]]:
    """The system's links that are safe to put in an href (http/https only), each with a label."""
    links = []
    for item in system.links if isinstance(system.links, list) else []:
        if not isinstance(item, dict):
            continue
        url = str(item.get("url") or "").strip()
        if urlsplit(url).scheme.lower() not in {"http", "https"}:
            continue
        links.append({"label": str(item.get("label") or url), "url": url})
    return links


def article_list(*, user: AnyUser = None) -> QuerySet[Article]:
    return Article.objects.filter(article_visible_q(user)).select_related("system").prefetch_related("tags")


def article_get(*, system_slug: str, slug: str, user: AnyUser = None) -> Article:
    return (
        article_list(user=user)
        .prefetch_related(
            Prefetch("symptoms", queryset=Symptom.objects.prefetch_related("signatures")),
            Prefetch("solutions", queryset=Solution.objects.order_by("title")),
        )
        .select_related("author")
        .get(system__slug=system_slug, slug=slug)
    )


def article_recent(*, user: AnyUser = None, limit: int = 8) -> list[Article]:
    return list(article_list(user=user).order_by("-updated_at", "-pk")[:limit])


def article_most_helpful(*, user: AnyUser = None, limit: int = 8) -> list[Article]:
    """Articles people marked helpful, net of 'not helpful' votes as a tie-breaker."""
    return list(
        article_list(user=user)
        .filter(helpful_count__gt=0)
        .annotate(net_helpful=F("helpful_count") - F("not_helpful_count"))
        .order_by("-helpful_count", "-net_helpful", "title")[:limit]
    )


def heading_group(heading_path: str, depth: int = HEADING_GROUP_DEPTH) -> str:
    """The section an article sits in: its leading heading segments, without the article's own heading.

    "Common Issues / Server Won't Start / Port in Use" -> "Common Issues / Server Won't Start".
    A path of one segment (or none) is the article's own heading, so it has no section.
    """
    parts = [p.strip() for p in (heading_path or "").split(HEADING_SEPARATOR) if p.strip()]
    if len(parts) < 2:
        return ""
    return HEADING_SEPARATOR.join(parts[: min(depth, len(parts) - 1)])


@dataclass
class ArticleGroup:
    label: str
    articles: list[Article] = field(default_factory=list)


def system_article_groups(*, system: System, user: AnyUser = None) -> list[ArticleGroup]:
    """The system's visible articles grouped by section, in guide order; unsectioned ones first."""
    groups: dict[str, ArticleGroup] = {}
    articles = article_list(user=user).filter(system=system).order_by("heading_path", "title")
    for article in articles:
        label = heading_group(article.heading_path) or UNGROUPED_LABEL
        groups.setdefault(label, ArticleGroup(label=label)).articles.append(article)
    ordered = sorted(groups.values(), key=lambda g: (g.label != UNGROUPED_LABEL, g.label.lower()))
    return ordered


def article_related(*, article: Article, user: AnyUser = None, limit: int = 5) -> list[Article]:
    """Other visible articles that share symptoms, tags or the system, strongest links first.

    A shared symptom says most (same problem), a shared tag less, the same system least.
    """
    symptom_ids = list(article.symptoms.values_list("pk", flat=True))
    tag_ids = list(article.tags.values_list("pk", flat=True))
    candidates = (
        article_list(user=user)
        .exclude(pk=article.pk)
        .filter(Q(symptoms__in=symptom_ids) | Q(tags__in=tag_ids) | Q(system_id=article.system_id))
        .values_list("pk", flat=True)
        .distinct()
    )
    # Counting over two many-to-many joins in one query multiplies rows, so each count is its own subquery.
    shared_symptoms = dict(
        Symptom.articles.through.objects.filter(article_id__in=candidates, symptom_id__in=symptom_ids)
        .values_list("article_id").annotate(n=Count("symptom_id")).values_list("article_id", "n")
    )
    shared_tags = dict(
        Article.tags.through.objects.filter(article_id__in=candidates, tag_id__in=tag_ids)
        .values_list("article_id").annotate(n=Count("tag_id")).values_list("article_id", "n")
    )
    pool = list(
        article_list(user=user)
        .filter(pk__in=candidates)
        .order_by("-helpful_count", "title")[:200]
    )
    for other in pool:
        other.related_score = (
            3 * shared_symptoms.get(other.pk, 0)
            + 2 * shared_tags.get(other.pk, 0)
            + (1 if other.system_id == article.system_id else 0)
        )
    pool.sort(key=lambda a: (-a.related_score, -a.helpful_count, a.title))
    return pool[:limit]


def article_vote_for(*, article: Article, user: AnyUser, session_key: str | None) -> ArticleVote | None:
    """The current visitor's vote on this article: by user when signed in, else by session."""
    if user is not None and user.is_authenticated:
        return ArticleVote.objects.filter(article=article, user=user).first()
    if not session_key:
        return None
    return ArticleVote.objects.filter(article=article, user__isnull=True, session_key=session_key).first()


def article_counts(*, article_id: int) -> dict[str, int]:
    """Fresh counters (the vote and view services update them with F() expressions)."""
    return Article.objects.filter(pk=article_id).values(
        "view_count", "helpful_count", "not_helpful_count"
    ).get()


def article_revisions(*, article: Article) -> QuerySet[ArticleRevision]:
    return article.revisions.select_related("author").order_by("-number")


# --- revision diffs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffLine:
    """One row of a diff; kind is 'equal', 'delete', 'insert' or 'skip' (a folded run of unchanged lines)."""

    kind: str
    old_number: int | None
    new_number: int | None
    text: str


@dataclass(frozen=True)
class SideBySideRow:
    kind: str  # equal, change, delete, insert, skip
    old_number: int | None
    old_text: str | None
    new_number: int | None
    new_text: str | None


@dataclass
class FieldDiff:
    name: str
    changed: bool
    unified: list[DiffLine]
    side_by_side: list[SideBySideRow]
    added: int = 0
    removed: int = 0


@dataclass
class RevisionDiff:
    old: ArticleRevision | None
    new: ArticleRevision
    fields: list[FieldDiff]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.fields)


def _lines(text: str) -> list[str]:
    return (text or "").splitlines()


def text_diff(name: str, old_text: str, new_text: str, *, context: int = 3) -> FieldDiff:
    """Line diff of two texts as rows for a unified and a side-by-side table (the template escapes them)."""
    old, new = _lines(old_text), _lines(new_text)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    unified: list[DiffLine] = []
    side: list[SideBySideRow] = []
    added = removed = 0
    for group in matcher.get_grouped_opcodes(context):
        first = group[0]
        if unified or first[1] > 0 or first[3] > 0:
            unified.append(DiffLine("skip", first[1] + 1, first[3] + 1, ""))
            side.append(SideBySideRow("skip", first[1] + 1, None, first[3] + 1, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(i2 - i1):
                    unified.append(DiffLine("equal", i1 + k + 1, j1 + k + 1, old[i1 + k]))
                    side.append(SideBySideRow("equal", i1 + k + 1, old[i1 + k], j1 + k + 1, new[j1 + k]))
                continue
            removed += i2 - i1
            added += j2 - j1
            for k in range(i1, i2):
                unified.append(DiffLine("delete", k + 1, None, old[k]))
            for k in range(j1, j2):
                unified.append(DiffLine("insert", None, k + 1, new[k]))
            for k in range(max(i2 - i1, j2 - j1)):
                o, n = i1 + k, j1 + k
                has_old, has_new = o < i2, n < j2
                kind = "change" if has_old and has_new else ("delete" if has_old else "insert")
                side.append(SideBySideRow(
                    kind,
                    o + 1 if has_old else None, old[o] if has_old else None,
                    n + 1 if has_new else None, new[n] if has_new else None,
                ))
    return FieldDiff(name=name, changed=bool(added or removed), unified=unified, side_by_side=side,
                     added=added, removed=removed)


def revision_diff(*, old: ArticleRevision | None, new: ArticleRevision) -> RevisionDiff:
    """Compare two revisions field by field; `old=None` compares against an empty article."""
    fields = [
        text_diff("Title", old.title if old else "", new.title),
        text_diff("Summary", old.summary if old else "", new.summary),
        text_diff("Body", old.body if old else "", new.body),
    ]
    return RevisionDiff(old=old, new=new, fields=fields)


# --- API lists (kb/api/views.py) --------------------------------------------------------------------

def _visible_article_ids(user: AnyUser) -> QuerySet[Article]:
    # Only the ids, in id order: the default Article ordering would join System for nothing.
    return Article.objects.filter(article_visible_q(user)).only("pk").order_by("pk")


def system_list_with_dependencies(*, user: AnyUser = None) -> QuerySet[System]:
    return system_list(user=user).prefetch_related(Prefetch("depends_on", queryset=System.objects.only("slug")))


def article_list_with_authors(*, user: AnyUser = None) -> QuerySet[Article]:
    return article_list(user=user).select_related("author")


def symptom_visible_q(user: AnyUser) -> Q:
    """Staff see every symptom; others only those with no article or at least one published article
    (a symptom written for a draft is as unpublished as the draft)."""
    if is_staff(user):
        return Q()
    links = Symptom.articles.through.objects.filter(symptom_id=OuterRef("pk"))
    return ~Exists(links) | Exists(links.filter(article__status=Article.Status.PUBLISHED))


def symptom_list(*, user: AnyUser = None) -> QuerySet[Symptom]:
    """Symptoms this user may see, with signatures, their visible articles, and solutions in rank order."""
    return Symptom.objects.filter(symptom_visible_q(user)).select_related("system").prefetch_related(
        "signatures",
        Prefetch("articles", queryset=_visible_article_ids(user)),
        Prefetch("symptomsolution_set", queryset=Symptom.solutions.through.objects.order_by("rank", "pk")),
    )


def solution_list(*, user: AnyUser = None) -> QuerySet[Solution]:
    return Solution.objects.select_related("system").prefetch_related(
        Prefetch("articles", queryset=_visible_article_ids(user))
    )


def revision_list(*, user: AnyUser = None) -> QuerySet[ArticleRevision]:
    """Revisions of the articles this user may see (drafts' history is staff only), newest first."""
    return (
        ArticleRevision.objects.filter(article__in=Article.objects.filter(article_visible_q(user)).values("pk"))
        .select_related("author")
        .order_by("-created_at", "-pk")
    )


def search_words_without_hits(query: "ParsedQuery") -> list[str]:
    """The words of a search that occur in no article, in the order typed.

    Results for "kafka consumer lag" may all come from "consumer"; naming "kafka" tells the reader so.
    """
    from .search import engine_for  # the search engine imports these selectors' models; keep the import local

    words = [(word, False) for word in query.terms if not word.isdigit()]
    if query.prefix:
        words.append((query.prefix, True))
    if not words:
        return []
    unknown = engine_for().unknown_words(words)
    return [word for word, _ in words if word in unknown]


def search_recent_without_results(*, days: int = 7, limit: int = 8) -> list[dict]:
    """The most recent distinct searches that found nothing (errors nobody has written up yet)."""
    since = timezone.now() - timedelta(days=days)
    rows = (SearchQueryLog.objects.filter(result_count=0, created_at__gte=since).exclude(normalized="")
            .values("normalized").annotate(times=Count("pk"), last=Max("created_at"), query=Max("query"))
            .order_by("-last")[:limit])
    return list(rows)
