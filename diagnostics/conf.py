"""Diagnostics settings with their defaults, read through getattr so config/settings.py stays short.

Only the allowlists live in config/settings.py (they are security decisions an operator must see).
"""

from django.conf import settings


def check_concurrency() -> int:
    """Probes one task runs at once."""
    return int(getattr(settings, "TRIAGE_CHECK_CONCURRENCY", 100))


def task_chunk() -> int:
    """Runs per Celery task; more tasks spread a big batch over worker processes."""
    return int(getattr(settings, "TRIAGE_CHECK_TASK_CHUNK", 250))


def task_time_limit() -> int:
    """Hard time limit of run_checks_task, in seconds."""
    return int(getattr(settings, "TRIAGE_CHECK_TASK_TIME_LIMIT", 600))


def run_retention_days() -> int:
    return int(getattr(settings, "TRIAGE_CHECK_RUN_RETENTION_DAYS", 30))


def monitor_tick_seconds() -> int:
    return int(getattr(settings, "TRIAGE_MONITOR_TICK_SECONDS", 5))
