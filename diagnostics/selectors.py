"""Reads for diagnostics; they own the query shapes so lists stay at a constant number of queries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
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


UPTIME_WINDOWS = {"24 h": timedelta(hours=24), "7 d": timedelta(days=7), "30 d": timedelta(days=30)}


def check_uptimes(check: Check, *, now: datetime | None = None) -> dict[str, dict]:
    """Uptime per window (UPTIME_WINDOWS) with the runs it rests on; see check_run_counts."""
    return check_run_counts(check, windows=UPTIME_WINDOWS, now=now)


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


HEARTBEAT_RUNS = 50  # runs drawn in a monitor's heartbeat bar
FLAP_CHANGES = 3  # state changes within FLAP_WINDOW that make a monitor "flapping"
FLAP_WINDOW = timedelta(hours=24)


def check_heartbeats(*, check_ids: list[int], limit: int = HEARTBEAT_RUNS) -> dict[int, list[CheckRun]]:
    """The last `limit` finished runs of each check, oldest first, in one query (a window per check)."""
    if not check_ids:
        return {}
    ranked = (CheckRun.objects.filter(check_def_id__in=check_ids, status=CheckRun.Status.DONE)
              .annotate(newest=Window(RowNumber(), partition_by=[F("check_def_id")],
                                      order_by=[F("created_at").desc(), F("id").desc()]))
              .filter(newest__lte=limit)
              .only("id", "check_def_id", "state", "message", "duration_ms", "created_at", "finished_at"))
    beats: dict[int, list[CheckRun]] = {check_id: [] for check_id in check_ids}
    for run in ranked:
        beats[run.check_def_id].append(run)
    for runs in beats.values():
        runs.sort(key=lambda run: (run.created_at, run.id))
    return beats


def monitors_needing_attention(*, now: datetime | None = None, limit: int = 12) -> list[Check]:
    """Monitors not OK, or OK but flapping (FLAP_CHANGES state changes within FLAP_WINDOW); worst first.

    Each carries `.flapping` (bool) and `.heartbeats` (its last runs) for the cockpit.
    """
    since = (now or timezone.now()) - FLAP_WINDOW
    monitors = (Check.objects.filter(interval_seconds__isnull=False, enabled=True)
                .annotate(recent_changes=Count("state_changes", filter=Q(state_changes__created_at__gte=since)))
                .filter(~Q(current_state=CheckState.OK) & ~Q(current_state="") | Q(recent_changes__gte=FLAP_CHANGES)))
    rank = {CheckState.CRITICAL: 0, CheckState.WARNING: 1, CheckState.UNKNOWN: 2, CheckState.OK: 3}
    chosen = sorted(monitors, key=lambda c: (rank.get(c.current_state, 4), c.name))[:limit]
    beats = check_heartbeats(check_ids=[c.pk for c in chosen])
    for check in chosen:
        check.flapping = check.recent_changes >= FLAP_CHANGES
        check.heartbeats = beats.get(check.pk, [])
    return chosen


def check_run_counts(check: Check, *, windows: dict[str, timedelta], now: datetime | None = None) -> dict[str, dict]:
    """Uptime over each window with the number of judged runs it rests on and whether the window is covered.

    A window is "covered" when the check's first judged run is older than the window's start, so "30 d"
    is not claimed from two runs made an hour ago.
    """
    now = now or timezone.now()
    done = CheckRun.objects.filter(check_def=check, status=CheckRun.Status.DONE, state__in=JUDGED_STATES)
    first = done.order_by("finished_at").values_list("finished_at", flat=True).first()
    result = {}
    for label, delta in windows.items():
        since = now - delta
        counts = done.filter(finished_at__gte=since).aggregate(
            judged=Count("pk"), up=Count("pk", filter=Q(state__in=UP_STATES)))
        result[label] = {
            "percent": round(100 * counts["up"] / counts["judged"], 2) if counts["judged"] else None,
            "runs": counts["judged"],
            "covered": first is not None and first <= since,
        }
    return result
