"""Run the diagnostic checks of a system, article or symptom, and watch the results arrive.

POST queues the runs (the task is enqueued when the transaction commits) and answers htmx with the result
fragment, which polls itself every second until every run is done. Without JavaScript the POST redirects
to the results page, which refreshes itself while runs are pending.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from common.htmx import render_page_or_fragment, vary_on_htmx, wants_fragment
from diagnostics.access import diagnostics_read_required
from diagnostics.selectors import batch_progress, batch_runs

from .. import selectors
from ..check_links import article_checks_run, runs_explained, symptom_checks_run, system_checks_run
from ..models import Article, Symptom, System

RESULTS_PARTIAL = "diagnostics/partials/run_batch.html"


def _results_response(request: HttpRequest, batch: uuid.UUID, *, system: System | None = None) -> HttpResponse:
    runs = batch_runs(batch=batch)
    if not runs:
        raise Http404("No such batch of check runs.")
    poll_url = reverse("kb:check_results", args=[batch])
    badge_check_ids: set[int] = set()
    if system is not None:
        # The system page lists its own checks with state badges; the finished fragment refreshes them.
        poll_url += f"?system={system.slug}"
        badge_check_ids = set(system.checks.values_list("pk", flat=True))
    context = {
        "items": runs_explained(runs), "batch": batch, "system": system, "poll_url": poll_url,
        "badge_check_ids": badge_check_ids, **batch_progress(runs),
    }
    return render_page_or_fragment(request, "kb/check_results.html", RESULTS_PARTIAL, context)


def _queued(request: HttpRequest, batch: uuid.UUID, runs: list, back: str, system: System | None = None) -> HttpResponse:
    if not runs:
        if wants_fragment(request):
            return vary_on_htmx(HttpResponse('<p class="muted">No checks are linked here yet.</p>'))
        messages.info(request, "No checks are linked here yet.")
        return redirect(back)
    if wants_fragment(request):
        return _results_response(request, batch, system=system)
    return redirect("kb:check_results", batch=batch)


@login_required
@require_POST
def system_checks_run_view(request: HttpRequest, slug: str) -> HttpResponse:
    system = get_object_or_404(System, slug=slug)
    batch, runs = system_checks_run(system=system, requested_by=request.user)
    return _queued(request, batch, runs, system.get_absolute_url(), system)


@login_required
@require_POST
def article_checks_run_view(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    try:
        article = selectors.article_list(user=request.user).get(system__slug=system_slug, slug=slug)
    except Article.DoesNotExist as exc:
        raise Http404("No such article.") from exc
    batch, runs = article_checks_run(article=article, requested_by=request.user)
    return _queued(request, batch, runs, article.get_absolute_url())


@login_required
@require_POST
def symptom_checks_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    symptom = get_object_or_404(Symptom.objects.select_related("system"), pk=pk)
    batch, runs = symptom_checks_run(symptom=symptom, requested_by=request.user)
    return _queued(request, batch, runs, symptom.system.get_absolute_url())


@diagnostics_read_required
@require_GET
def check_results(request: HttpRequest, batch: uuid.UUID) -> HttpResponse:
    slug = request.GET.get("system")
    system = System.objects.filter(slug=slug).first() if slug else None
    return _results_response(request, batch, system=system)
