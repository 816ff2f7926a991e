"""Reads for diagnostics; they own the query shapes so lists stay at a constant number of queries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import Check, CheckRun, CheckState, CheckStateChange

# Uptime counts OK and WARNING as up, CRITICAL as down, and leaves UNKNOWN out: the check could not tell.
PENDING_HINT_SECONDS = 20  # after this long in the queue, suggest that no worker is consuming
UP_STATES = (CheckState.OK, CheckState.WARNING)
JUDGED_STATES = (CheckState.OK, CheckState.WARNING, CheckState.CRITICAL)


def check_list(*, type: str | None = None, state: str | None = None, query: str | None = None) -> QuerySet[Check]:
    checks = Check.objects.all().order_by("name")
    if type:
        checks = checks.filter(type=type)
    if state:
        checks = checks.filter(current_state=state)
    if query:
        checks = checks.filter(Q(name__icontains=query) | Q(slug__icontains=query) | Q(target__icontains=query))
    return checks


def _uptime_annotations(since: datetime) -> dict:
    window = Q(runs__finished_at__gte=since, runs__status=CheckRun.Status.DONE)
    return {
        "judged_runs": Count("runs", filter=window & Q(runs__state__in=JUDGED_STATES)),
        "up_runs": Count("runs", filter=window & Q(runs__state__in=UP_STATES)),
    }


def monitor_list(*, since: datetime | None = None, state: str | None = None) -> QuerySet[Check]:
    """Monitors with uptime over the window in the same query; the sparkline data is on each row."""
    since = since or timezone.now() - timedelta(hours=24)
    monitors = Check.objects.filter(interval_seconds__isnull=False).annotate(**_uptime_annotations(since))
    if state:
        monitors = monitors.filter(current_state=state)
    return monitors.order_by("name")


def monitor_state_counts() -> dict[str, int]:
    """How many monitors are in each state (one grouped query), for the summary above the list."""
    counts = {state: 0 for state in CheckState.values}
    rows = (Check.objects.filter(interval_seconds__isnull=False).values("current_state")
            .annotate(n=Count("pk")).order_by())
    for row in rows:
        if row["current_state"] in counts:
            counts[row["current_state"]] += row["n"]
    return counts


def uptime_percent(check: Check, *, since: datetime) -> float | None:
    counts = CheckRun.objects.filter(check_def=check, status=CheckRun.Status.DONE, finished_at__gte=since).aggregate(
        judged=Count("pk", filter=Q(state__in=JUDGED_STATES)), up=Count("pk", filter=Q(state__in=UP_STATES)),
    )
    return round(100 * counts["up"] / counts["judged"], 2) if counts["judged"] else None


def check_uptimes(check: Check) -> dict[str, float | None]:
    now = timezone.now()
    return {label: uptime_percent(check, since=now - delta)
            for label, delta in (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))}


def check_runs(*, check: Check) -> QuerySet[CheckRun]:
    return CheckRun.objects.filter(check_def=check).order_by("-created_at", "-id")


def run_list(*, check_id: int | None = None, batch: uuid.UUID | None = None) -> QuerySet[CheckRun]:
    runs = CheckRun.objects.select_related("check_def").order_by("-created_at", "-id")
    if check_id:
        runs = runs.filter(check_def_id=check_id)
    if batch:
        runs = runs.filter(batch=batch)
    return runs


def batch_runs(*, batch: uuid.UUID) -> list[CheckRun]:
    return list(CheckRun.objects.filter(batch=batch).select_related("check_def").order_by("id"))


def state_changes(*, check: Check | None = None) -> QuerySet[CheckStateChange]:
    changes = CheckStateChange.objects.select_related("check_def").order_by("-created_at", "-id")
    return changes.filter(check_def=check) if check is not None else changes


def batch_progress(runs: list[CheckRun]) -> dict:
    """Whether a results fragment should keep polling, and whether to hint that no worker is consuming."""
    pending = [run for run in runs if not run.is_done]
    oldest = min((run.created_at for run in pending), default=None)
    waiting = oldest is not None and (timezone.now() - oldest).total_seconds() > PENDING_HINT_SECONDS
    return {"pending": bool(pending), "pending_count": len(pending), "worker_hint": waiting}
