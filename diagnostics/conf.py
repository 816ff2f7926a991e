"""Diagnostics settings with their defaults, read through getattr so config/settings.py stays short.

Only the allowlists live in config/settings.py (they are security decisions an operator must see).
"""

from datetime import timedelta

from django.conf import settings

from config.celery import reap_margin_seconds


def check_concurrency() -> int:
    """Probes one task runs at once."""
    return int(getattr(settings, "TRIAGE_CHECK_CONCURRENCY", 100))


def task_chunk() -> int:
    """Runs per Celery task; more tasks spread a big batch over worker processes."""
    return int(getattr(settings, "TRIAGE_CHECK_TASK_CHUNK", 250))


def task_time_limit() -> int:
    """Hard time limit of run_checks_task, in seconds."""
    return int(getattr(settings, "TRIAGE_CHECK_TASK_TIME_LIMIT", 600))


def heartbeat_interval() -> float:
    """Seconds between two heartbeats of a running check task."""
    return float(getattr(settings, "TRIAGE_CHECK_HEARTBEAT_SECONDS", 15))


def heartbeat_stale_after() -> timedelta:
    """A RUNNING run whose heartbeat is older than this lost its worker: four missed beats."""
    return timedelta(seconds=4 * heartbeat_interval())


def task_soft_time_limit() -> int:
    """When run_checks_task stops waiting and closes its unfinished runs: 30 s (at most a fifth) before the hard limit."""
    limit = task_time_limit()
    return max(limit - min(30, limit // 5), 1)


def run_stale_after() -> timedelta:
    """A run RUNNING longer than this lost its worker: the task's hard time limit plus the reap margin."""
    return timedelta(seconds=task_time_limit() + reap_margin_seconds())


def queued_timeout() -> timedelta:
    """A run still QUEUED after this is closed: its task was lost, or no worker is consuming."""
    return timedelta(seconds=int(getattr(settings, "TRIAGE_CHECK_QUEUED_TIMEOUT_SECONDS", 1800)))


def run_retention_days() -> int:
    return int(getattr(settings, "TRIAGE_CHECK_RUN_RETENTION_DAYS", 30))


def monitor_tick_seconds() -> int:
    return int(getattr(settings, "TRIAGE_MONITOR_TICK_SECONDS", 5))
