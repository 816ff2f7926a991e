"""Search: one URL serves the full page, the live results fragment and the header's in-place panel."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from common.htmx import render_page_or_fragment, wants_fragment

from .. import search as kb_search
from .. import selectors
from ..hooks import trees_for_articles
from ..models import SearchQueryLog, System

SORTS = (("relevance", "Best match"), ("recent", "Recently updated"))


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(1000, int(value or 1)))
    except ValueError:
        return 1


def _session_key(request: HttpRequest) -> str:
    """Anonymous searches are grouped per session, so typing refines one log row instead of many."""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


# The header box gets a short list that drops down under it; the page and home boxes get the result list.
DROPDOWN_TARGET = "header-search-results"


def _fragment(request: HttpRequest) -> str:
    """The fragment an htmx request gets (whether a fragment is wanted at all is common.htmx's decision)."""
    target = request.htmx.target if request.htmx else None
    return "kb/partials/search_dropdown.html" if target == DROPDOWN_TARGET else "kb/partials/search_results.html"


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    systems = [s for s in request.GET.getlist("system") if s]
    tags = [t for t in request.GET.getlist("tag") if t]
    sort = request.GET.get("sort") if request.GET.get("sort") in dict(SORTS) else "relevance"
    page = _page_number(request.GET.get("page"))
    results, error, log_id, status = None, "", None, 200
    try:
        results = kb_search.search(
            q, user=request.user, systems=systems, tags=tags, sort=sort, page=page,
            as_you_type=bool(request.htmx) and not request.htmx.history_restore_request,
        )
    except kb_search.QueryError as exc:
        error = str(exc)
        # Sent to htmx as 422, which it swaps (see base.html), so a live search shows the message too.
        status = 400
    if results is not None and results.hits:
        # Decision trees that lead to each hit, fetched once for the page (the template shows them).
        leading = trees_for_articles(hit.article.pk for hit in results.hits)
        for hit in results.hits:
            hit.article.leading_trees = leading.get(hit.article.pk, [])
    if results is not None and results.usable and page == 1 and request.method == "GET":
        log = kb_search.search_log_record(
            query=q, normalized=results.query.normalized, result_count=results.count, user=request.user,
            session_key=_session_key(request), source=SearchQueryLog.Source.WEB,
        )
        log_id = log.pk
    missing_words = selectors.search_words_without_hits(results.query) if results is not None and results.usable else []
    context = {
        "missing_words": missing_words,
        "q": kb_search.clean_query_text(q)[: kb_search.MAX_QUERY_CHARS],
        "results": results,
        "error": error,
        "log_id": log_id,
        "sort": sort,
        "sorts": SORTS,
        "selected_systems": systems,
        "selected_tags": tags,
        "all_systems": System.objects.only("slug", "name").order_by("name"),
    }
    fragment = _fragment(request)
    # htmx takes a <title> from a fragment, so live results on the search page keep the tab title current.
    context["retitle"] = wants_fragment(request) and fragment == "kb/partials/search_results.html"
    response = render_page_or_fragment(request, "kb/search.html", fragment, context, status=status)
    # The fragment also depends on which box asked for it.
    patch_vary_headers(response, ("HX-Target",))
    return response


@require_safe
def search_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a result: remember which article this search led to (for the gaps report), then go there."""
    article = selectors.article_list(user=request.user).filter(pk=pk).first()
    if article is None:
        raise Http404("No such article.")
    log_id = request.GET.get("log", "")
    if log_id.isdigit():
        kb_search.search_log_click(log_id=int(log_id), article=article, user=request.user,
                                   session_key=request.session.session_key or "")
    return HttpResponseRedirect(article.get_absolute_url())


@require_safe
def search_gaps(request: HttpRequest) -> HttpResponse:
    """Staff report of knowledge gaps: searches that found nothing, and results voted not helpful."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can see the search gaps report.")
    days = {"7": 7, "30": 30, "90": 90}.get(request.GET.get("days", ""), 30)
    gaps = kb_search.search_gaps(days=days)
    return render(request, "kb/search_gaps.html", {
        "days": days,
        "day_choices": (7, 30, 90),
        "zero_results": gaps["zero_results"],
        "not_helpful": gaps["not_helpful"],
    })
