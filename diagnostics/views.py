from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from common.htmx import render_page_or_fragment, wants_fragment

from . import selectors
from .access import diagnostics_read_required
from .forms import CheckForm, ChecksImportForm
from .health import system_health
from .models import Check, CheckRun, CheckState, CheckType
from .services import check_create, check_delete, check_runs_queue, check_update
from .yaml_io import ChecksImportError, checks_export_yaml, checks_import_yaml


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


MONITORS_PER_PAGE = 100


# --- checks -------------------------------------------------------------------------------------------


@require_GET
def check_list(request: HttpRequest) -> HttpResponse:
    type_filter = request.GET.get("type") if request.GET.get("type") in CheckType.values else None
    state_filter = request.GET.get("state") if request.GET.get("state") in CheckState.values else None
    query = request.GET.get("q", "").strip()[:100]
    checks = selectors.check_list(type=type_filter, state=state_filter, query=query or None)
    page = Paginator(checks, 100).get_page(request.GET.get("page"))
    return render_page_or_fragment(request, "diagnostics/check_list.html", "diagnostics/partials/check_rows.html", {
        "page": page, "types": CheckType.choices, "states": CheckState.choices,
        "type_filter": type_filter or "", "state_filter": state_filter or "", "query": query,
    })


@diagnostics_read_required
@require_GET
def check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    check = get_object_or_404(Check, pk=pk)
    runs = Paginator(selectors.check_runs(check=check), 25).get_page(request.GET.get("page"))
    return render(request, "diagnostics/check_detail.html", {
        "check": check, "runs": runs, "uptimes": selectors.check_uptimes(check),
        "heartbeats": selectors.check_heartbeats(check_ids=[check.pk])[check.pk],
        "changes": selectors.state_changes(check=check)[:20],
    })


@staff_member_required
@require_http_methods(["GET", "POST"])
def check_new(request: HttpRequest) -> HttpResponse:
    # "New monitor" on the monitors page opens this form with a schedule already filled in.
    initial = {"interval_seconds": 60, "type": CheckType.HTTP} if request.GET.get("monitor") == "1" else None
    form = CheckForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        check = check_create(created_by=request.user, **form.check_fields())
        messages.success(request, f"Created check {check.name}.")
        return redirect(check)
    return render(request, "diagnostics/check_form.html", {"form": form, "check": None},
                  status=400 if form.is_bound else 200)


@staff_member_required
@require_http_methods(["GET", "POST"])
def check_edit(request: HttpRequest, pk: int) -> HttpResponse:
    check = get_object_or_404(Check, pk=pk)
    form = CheckForm(request.POST or None, instance=check)
    if request.method == "POST" and form.is_valid():
        check_update(check=Check.objects.get(pk=pk), **form.check_fields())
        messages.success(request, "Saved.")
        return redirect(check)
    return render(request, "diagnostics/check_form.html", {"form": form, "check": check},
                  status=400 if form.is_bound else 200)


@staff_member_required
@require_POST
def check_remove(request: HttpRequest, pk: int) -> HttpResponse:
    check = get_object_or_404(Check, pk=pk)
    check_delete(check=check)
    messages.success(request, f"Deleted check {check.name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("diagnostics:check_list"))
    return redirect("diagnostics:check_list")


@login_required
@require_POST
def check_run(request: HttpRequest, pk: int) -> HttpResponse:
    check = get_object_or_404(Check, pk=pk)
    batch, _runs = check_runs_queue(checks=[check], trigger=CheckRun.Trigger.MANUAL, requested_by=request.user)
    if wants_fragment(request):
        return _batch_response(request, batch, badges=True)
    return redirect("diagnostics:batch_detail", batch=batch)


@diagnostics_read_required
@require_GET
def batch_detail(request: HttpRequest, batch: uuid.UUID) -> HttpResponse:
    return _batch_response(request, batch)


def _batch_response(request: HttpRequest, batch: uuid.UUID, *, badges: bool = False) -> HttpResponse:
    runs = selectors.batch_runs(batch=batch)
    if not runs:
        raise Http404("No such batch of runs.")
    # ?badges=1: the page shows each check's badge (a check's own page), so the last fragment updates it.
    badges = badges or request.GET.get("badges") == "1"
    context = {"items": [{"run": run} for run in runs], "batch": batch,
               "poll_url": reverse("diagnostics:batch_detail", args=[batch]) + ("?badges=1" if badges else ""),
               "badge_check_ids": {run.check_def_id for run in runs} if badges else set(),
               **selectors.batch_progress(runs)}
    return render_page_or_fragment(request, "diagnostics/batch_detail.html", "diagnostics/partials/run_batch.html", context)


@diagnostics_read_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(CheckRun.objects.select_related("check_def"), pk=pk)
    return render(request, "diagnostics/run_detail.html", {"run": run, "check": run.check_def})


# --- monitors -----------------------------------------------------------------------------------------


@require_GET
def monitor_list(request: HttpRequest) -> HttpResponse:
    state_filter = request.GET.get("state") if request.GET.get("state") in CheckState.values else None
    try:
        per_page = min(max(int(request.GET.get("per_page", MONITORS_PER_PAGE)), 1), 1000)
    except ValueError:
        per_page = MONITORS_PER_PAGE
    page = Paginator(selectors.monitor_list(state=state_filter), per_page).get_page(request.GET.get("page"))
    beats = selectors.check_heartbeats(check_ids=[monitor.pk for monitor in page])
    for monitor in page:
        monitor.heartbeats = beats[monitor.pk]
    return render_page_or_fragment(request, "diagnostics/monitor_list.html", "diagnostics/partials/monitor_rows.html", {
        "page": page, "states": CheckState.choices, "state_filter": state_filter or "",
        "state_counts": selectors.monitor_state_counts(), "per_page": per_page,
    })


# --- YAML ---------------------------------------------------------------------------------------------


@staff_member_required
@require_http_methods(["GET", "POST"])
def checks_import(request: HttpRequest) -> HttpResponse:
    form = ChecksImportForm(request.POST or None, request.FILES or None)
    report, errors, status = None, [], 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = checks_import_yaml(form.cleaned_data["yaml_text"], created_by=request.user)
            except ChecksImportError as exc:
                errors, status = exc.errors, 400
        else:
            status = 400
    return render(request, "diagnostics/checks_import.html", {"form": form, "report": report, "errors": errors},
                  status=status)


@staff_member_required
@require_GET
def checks_export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(checks_export_yaml(), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="triage-checks.yml"'
    return response
