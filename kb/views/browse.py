"""Reading the knowledge base: home, systems, articles, votes and revision history."""

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from common.htmx import render_page_or_fragment, vary_on_htmx, wants_fragment

from .. import selectors, services
from ..check_links import article_has_checks
from ..forms.articles import VoteForm
from ..hooks import home_panels
from ..models import Article, ArticleRevision, System

REVISIONS_PER_PAGE = 25
DIFF_MODES = ("unified", "split")


def _article_or_404(request: HttpRequest, system_slug: str, slug: str) -> Article:
    """The article if this visitor may see it; drafts are a 404 (not a 403) for non-staff so they stay hidden."""
    try:
        return selectors.article_get(system_slug=system_slug, slug=slug, user=request.user)
    except Article.DoesNotExist as exc:
        raise Http404("No such article.") from exc


def _session_key(request: HttpRequest, *, create: bool) -> str | None:
    """Anonymous votes are keyed by session, so a voter needs one before their first vote is stored."""
    if create and not request.session.session_key:
        request.session.save()
    return request.session.session_key


def _vote_context(request: HttpRequest, article: Article, form: VoteForm | None = None) -> dict:
    vote = selectors.article_vote_for(article=article, user=request.user,
                                      session_key=_session_key(request, create=False))
    counts = selectors.article_counts(article_id=article.pk)
    return {
        "article": article,
        "vote": vote,
        "vote_form": form,
        # After a "No" without a comment, ask what was missing.
        "ask_comment": vote is not None and not vote.helpful and not vote.comment,
        "helpful_count": counts["helpful_count"],
        "vote_total": counts["helpful_count"] + counts["not_helpful_count"],
    }


def _article_page_context(request: HttpRequest, article: Article, vote_form: VoteForm | None = None) -> dict:
    return {
        **_vote_context(request, article, vote_form),
        "system": article.system,
        "symptoms": list(article.symptoms.all()),
        "solutions": list(article.solutions.all()),
        "tags": list(article.tags.all()),
        "related_articles": selectors.article_related(article=article, user=request.user),
        "can_edit": selectors.is_staff(request.user),
        "is_draft": article.status == Article.Status.DRAFT,
        "section": selectors.heading_group(article.heading_path),
        "has_checks": article_has_checks(article),
    }


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the on-call cockpit (status first, then search and paste). Anonymous: the knowledge base."""
    if request.user.is_authenticated:
        return render(request, "kb/cockpit.html", {
            "panels": home_panels(request),
            "systems": selectors.system_list(user=request.user),
            "recent_articles": selectors.article_recent(user=request.user),
        })
    return render(request, "kb/home.html", {
        "systems": selectors.system_list(user=request.user),
        "recent_articles": selectors.article_recent(user=request.user),
        "helpful_articles": selectors.article_most_helpful(user=request.user),
    })


@require_safe
def system_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        system = selectors.system_get(slug=slug)
    except System.DoesNotExist as exc:
        raise Http404("No such system.") from exc
    return render(request, "kb/system_detail.html", {
        "system": system,
        "links": selectors.system_links(system=system),
        "depends_on": list(system.depends_on.all()),
        "dependents": list(system.dependents.all()),
        "article_groups": selectors.system_article_groups(system=system, user=request.user),
        "can_edit": selectors.is_staff(request.user),
    })


@require_safe
def article_detail(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    article = _article_or_404(request, system_slug, slug)
    services.article_record_view(article=article)
    article.view_count += 1  # the service bumped the row, not this instance
    return render(request, "kb/article_detail.html", _article_page_context(request, article))


@require_POST
def article_vote(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    """Record a helpful / not helpful vote; htmx gets the vote box back, a plain form post a redirect."""
    article = _article_or_404(request, system_slug, slug)
    form = VoteForm(request.POST)
    if form.is_valid():
        services.article_vote(
            article=article, helpful=form.cleaned_data["helpful"], user=request.user,
            session_key=_session_key(request, create=True) or "", comment=form.cleaned_data["comment"],
        )
        if not wants_fragment(request):
            return vary_on_htmx(redirect(f"{article.get_absolute_url()}#vote"))
        return render_page_or_fragment(request, "kb/article_detail.html", "kb/partials/vote.html",
                                       _vote_context(request, article))
    context = _vote_context(request, article, form) if wants_fragment(request) \
        else _article_page_context(request, article, form)
    return render_page_or_fragment(request, "kb/article_detail.html", "kb/partials/vote.html", context, status=400)


@require_safe
def article_history(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    article = _article_or_404(request, system_slug, slug)
    page = Paginator(selectors.article_revisions(article=article), REVISIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    latest = article.revisions.order_by("-number").values_list("number", flat=True).first()
    return render(request, "kb/article_history.html", {
        "article": article, "system": article.system, "page_obj": page, "revisions": page.object_list,
        "latest_number": latest, "can_edit": selectors.is_staff(request.user),
    })


def _revision_number(raw: str | None) -> int | None:
    """A revision number from the query string; None when absent, ValueError when not a positive integer."""
    if raw is None or raw == "":
        return None
    number = int(raw)
    if number < 0:
        raise ValueError(raw)
    return number


@require_safe
def article_diff(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    """Compare two revisions (?from=N&to=M, default: the one before the latest vs the latest)."""
    article = _article_or_404(request, system_slug, slug)
    revisions = {r.number: r for r in selectors.article_revisions(article=article)}
    if not revisions:
        raise Http404("This article has no revisions.")
    mode = request.GET.get("mode") if request.GET.get("mode") in DIFF_MODES else DIFF_MODES[0]
    context = {"article": article, "system": article.system, "numbers": sorted(revisions, reverse=True),
               "mode": mode, "diff": None, "error": ""}
    try:
        to_number = _revision_number(request.GET.get("to"))
        from_number = _revision_number(request.GET.get("from"))
    except ValueError:
        context["error"] = "Revision numbers must be whole numbers, e.g. ?from=1&to=2."
        return _diff_response(request, context, status=400)
    to_number = max(revisions) if to_number is None else to_number
    if from_number is None:
        from_number = max((n for n in revisions if n < to_number), default=0)
    # 0 stands for "before the first revision", so r1 can be compared with nothing.
    if to_number not in revisions or (from_number and from_number not in revisions):
        raise Http404("No such revision.")
    old: ArticleRevision | None = revisions.get(from_number)
    context.update({"diff": selectors.revision_diff(old=old, new=revisions[to_number]),
                    "from_number": from_number, "to_number": to_number})
    return _diff_response(request, context)


def _diff_response(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    return render_page_or_fragment(request, "kb/article_diff.html", "kb/partials/revision_diff.html", context,
                                   status=status)
