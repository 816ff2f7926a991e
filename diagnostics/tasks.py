import socket

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import conf
from .services import (
    check_runs_abandon,
    check_runs_execute,
    check_runs_prune,
    check_runs_queue,
    check_runs_reap,
    monitors_schedule_due,
    worker_heartbeat_record,
)


@shared_task(ignore_result=True, time_limit=30, soft_time_limit=20)
def worker_heartbeat_task() -> str:
    """Record that a worker is alive and consuming; scheduled by beat every few seconds."""
    hostname = getattr(worker_heartbeat_task.request, "hostname", None) or socket.gethostname()
    worker_heartbeat_record(hostname=hostname)
    return hostname


@shared_task(ignore_result=True, acks_late=True, time_limit=conf.task_time_limit(),
             soft_time_limit=conf.task_soft_time_limit())
def run_checks_task(check_ids: list[int], run_ids: list[int] | None = None, concurrency: int | None = None) -> str:
    """Run checks on the async engine and record the results.

    Callers normally queue runs first (``check_runs_queue``) and pass their ids, so pages can poll them and a
    redelivered task finds them already claimed. Given only check ids, the task queues its own runs.
    """
    if run_ids is None:
        _batch, runs = check_runs_queue(checks=check_ids, chunk_size=len(check_ids) or 1)
        return f"queued {len(runs)} runs"
    try:
        ran = check_runs_execute(run_ids=run_ids, concurrency=concurrency)
    except SoftTimeLimitExceeded:
        check_runs_abandon(run_ids=run_ids, message="the run did not finish within the task's time limit")
        return "timed out"
    return f"ran {ran} of {len(run_ids)} checks"


@shared_task(ignore_result=True, time_limit=60, soft_time_limit=50)
def monitors_tick_task() -> str:
    """Queue runs for the monitors that are due; beat calls this every few seconds."""
    return f"queued {monitors_schedule_due()} monitors"


@shared_task(ignore_result=True, time_limit=600, soft_time_limit=570)
def check_runs_prune_task() -> str:
    """Delete check runs older than the retention period."""
    return f"deleted {check_runs_prune()} runs"


@shared_task(ignore_result=True, acks_late=True, time_limit=60, soft_time_limit=50)
def check_runs_reap_task() -> str:
    """Close runs whose worker died (RUNNING past the time limit plus a margin) as UNKNOWN; beat runs it."""
    return f"closed {check_runs_reap()} runs"
