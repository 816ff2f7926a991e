"""Writes for diagnostics: worker heartbeats, checks, queued and recorded runs, monitor scheduling."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import conf, hooks
from .conditions import ConditionError
from .engine import CheckResult, EngineSettings, conditions_for, run_specs_sync
from .models import Check, CheckRun, CheckState, CheckStateChange, WorkerHeartbeat
from .probes.base import CheckSpec
from .validation import threshold_direction

logger = logging.getLogger(__name__)

RECENT_SIZE = 40  # results kept on the check for its sparkline
RECORD_CHUNK = 100  # results written per transaction while a big batch is still running
CHECK_FIELDS = (
    "name", "slug", "description", "type", "target", "parameters", "conditions", "timeout_seconds", "retries",
    "warning_threshold", "critical_threshold", "enabled", "interval_seconds", "failure_threshold",
    "success_threshold",
)
STATE_FIELDS = ("current_state", "state_changed_at", "pending_state", "pending_count", "last_state",
                "last_message", "last_run_at", "recent")
SPEC_FIELDS = ("name", "type", "target", "parameters", "conditions", "timeout_seconds", "retries",
               "warning_threshold", "critical_threshold")
STATE_MACHINE_FIELDS = (*STATE_FIELDS, "name", "slug", "failure_threshold", "success_threshold")
RESULT_FIELDS = ("status", "state", "message", "metrics", "evidence", "duration_ms", "attempts", "finished_at")


def worker_heartbeat_record(*, hostname: str) -> None:
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"seen_at": timezone.now()})


# --- checks -------------------------------------------------------------------------------------------


def check_create(*, created_by: Any = None, **fields: Any) -> Check:
    """Create a check after full validation (conditions are parsed here, never first at run time)."""
    unknown = set(fields) - set(CHECK_FIELDS)
    if unknown:
        raise TypeError(f"unknown check fields: {', '.join(sorted(unknown))}")
    check = Check(created_by=created_by if getattr(created_by, "pk", None) else None, **fields)
    check.full_clean()
    with transaction.atomic():
        check.save()
    return check


def check_update(*, check: Check, **fields: Any) -> Check:
    unknown = set(fields) - set(CHECK_FIELDS)
    if unknown:
        raise TypeError(f"unknown check fields: {', '.join(sorted(unknown))}")
    previous_interval = check.interval_seconds
    for name, value in fields.items():
        setattr(check, name, value)
    if check.interval_seconds != previous_interval:
        check.next_run_at = None  # a new schedule starts now rather than on the old one
    check.full_clean()
    with transaction.atomic():
        # Only the definition: the state fields belong to the workers recording runs, and this instance's
        # copy of them may be stale.
        check.save(update_fields=[*CHECK_FIELDS, "next_run_at", "updated_at"])
    return check


def check_delete(*, check: Check) -> None:
    check.delete()


def check_spec_build(check: Check) -> CheckSpec:
    """Detach a check from the ORM for the engine; a definition that no longer validates runs as UNKNOWN."""
    invalid = ""
    try:
        conditions = conditions_for(check.type, check.conditions or [])
    except ConditionError as exc:
        conditions, invalid = (), f"the check's conditions are invalid: {exc}"
    parameters = check.parameters if isinstance(check.parameters, dict) else {}
    signatures = None
    if check.type == "logfile" and "symptom" in parameters:
        found = hooks.symptom_signatures(parameters["symptom"])
        signatures = tuple(tuple(item) for item in found) if found is not None else None
    return CheckSpec(
        id=check.pk, name=check.name, type=check.type, target=check.target or "", parameters=parameters,
        conditions=conditions, timeout=float(check.timeout_seconds), retries=int(check.retries),
        warning=check.warning_threshold, critical=check.critical_threshold,
        direction=threshold_direction(check.type, parameters), symptom_signatures=signatures, invalid=invalid,
    )


# --- runs ---------------------------------------------------------------------------------------------


def check_runs_queue(
    *,
    checks: Iterable[Check | int],
    trigger: str = CheckRun.Trigger.MANUAL,
    requested_by: Any = None,
    queue: str | None = None,
    concurrency: int | None = None,
    chunk_size: int | None = None,
) -> tuple[uuid.UUID, list[CheckRun]]:
    """Create queued runs (one batch) and enqueue them for a worker once the transaction commits."""
    from .tasks import run_checks_task

    check_ids = [c.pk if isinstance(c, Check) else int(c) for c in checks]
    batch = uuid.uuid4()
    user = requested_by if getattr(requested_by, "pk", None) else None
    with transaction.atomic():
        runs = CheckRun.objects.bulk_create(
            [CheckRun(check_def_id=pk, batch=batch, trigger=trigger, requested_by=user) for pk in check_ids]
        )
        if not runs:
            return batch, []
        if runs[0].pk is None:  # backends that cannot return ids from a bulk insert
            runs = list(CheckRun.objects.filter(batch=batch).order_by("pk"))
        size = chunk_size or conf.task_chunk()
        chunks = [runs[i:i + size] for i in range(0, len(runs), size)]

        def enqueue() -> None:
            for chunk in chunks:
                options = {"queue": queue} if queue else {}
                run_checks_task.apply_async(
                    args=[[run.check_def_id for run in chunk]],
                    kwargs={"run_ids": [run.pk for run in chunk], "concurrency": concurrency},
                    **options,
                )

        transaction.on_commit(enqueue)
    return batch, runs


def check_runs_execute(*, run_ids: Sequence[int], concurrency: int | None = None) -> int:
    """Claim queued runs, run them on the engine, record the results; returns how many this call ran.

    Claiming is a conditional UPDATE with a fresh token, so a redelivered or duplicated task finds nothing
    left to do. ``started_at`` is the claim's time and ``heartbeat_at`` is kept fresh while the task runs: a run
    whose worker died (heartbeat stopped, or RUNNING past the task's hard time limit plus the reap margin) is
    claimable again by a redelivered task, and closed by ``check_runs_reap`` otherwise.
    """
    token = uuid.uuid4()
    now = timezone.now()
    claimed = (
        CheckRun.objects.filter(pk__in=list(run_ids))
        .filter(Q(status=CheckRun.Status.QUEUED) | Q(_lost_worker(now), status=CheckRun.Status.RUNNING))
        .update(status=CheckRun.Status.RUNNING, claim=token, started_at=now, heartbeat_at=now)
    )
    if not claimed:
        return 0
    # Only ids are read back: the runs are rebuilt in memory (every field that matters is about to be
    # written) and each check is loaded once, without the state that check_runs_record reads under a lock.
    pairs = list(CheckRun.objects.filter(claim=token, status=CheckRun.Status.RUNNING).order_by("pk")
                 .values_list("pk", "check_def_id"))
    checks = {c.pk: c for c in Check.objects.filter(pk__in={check_id for _, check_id in pairs}).only(*SPEC_FIELDS)}
    runs = [CheckRun(pk=pk, check_def_id=check_id, status=CheckRun.Status.RUNNING, claim=token)
            for pk, check_id in pairs if check_id in checks]
    specs = [check_spec_build(checks[run.check_def_id]) for run in runs]
    engine_settings = EngineSettings.from_settings(concurrency)
    if connection.in_atomic_block:
        # Inside a caller's transaction (tests, eager mode) another thread could not see these rows.
        results = run_specs_sync(specs, engine_settings)
        check_runs_record(outcomes=list(zip(runs, results, strict=True)))
        return len(runs)
    with _heartbeat(token):
        if len(runs) <= RECORD_CHUNK:  # small batches gain nothing from streaming
            results = run_specs_sync(specs, engine_settings)
            check_runs_record(outcomes=list(zip(runs, results, strict=True)))
        else:
            _run_and_record_streaming(runs, specs, engine_settings)
    return len(runs)


def _lost_worker(now: datetime) -> Q:
    """RUNNING runs whose worker is gone: heartbeat stopped, or older than any live task can be."""
    return Q(heartbeat_at__lt=now - conf.heartbeat_stale_after()) | Q(started_at__lt=now - conf.run_stale_after())


def check_runs_heartbeat(*, claim: uuid.UUID) -> int:
    """Say that the task holding ``claim`` is alive; returns how many of its runs are still running."""
    return CheckRun.objects.filter(claim=claim, status=CheckRun.Status.RUNNING).update(heartbeat_at=timezone.now())


@contextmanager
def _heartbeat(claim: uuid.UUID) -> Iterator[None]:
    """Beat for the claimed runs on a thread of its own (with its own connection) while the body runs.

    A database error is logged and the next beat tried: the reaper needs the same database, so it cannot
    close a live run meanwhile. The thread stops when the body ends, or when the worker process dies.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(conf.heartbeat_interval()):
                try:
                    check_runs_heartbeat(claim=claim)
                except DatabaseError:
                    logger.warning("check run heartbeat failed; trying again", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name="check-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _close_thread_connection() -> None:
    connection.close()  # resolved in the calling thread: each thread has its own connection


def _run_and_record_streaming(runs: list[CheckRun], specs: list[CheckSpec], engine_settings: EngineSettings) -> None:
    """Record results in chunks on a second thread while the engine still waits on slower targets.

    The engine spends most of a big batch waiting on the network, so writing the first results during that
    wait hides most of the recording time. One recorder thread keeps the chunks in order.
    """
    pending: list[tuple[CheckRun, CheckResult]] = []
    futures: list[Future] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="check-recorder") as recorder:

        def on_result(index: int, result: CheckResult) -> None:
            pending.append((runs[index], result))
            if len(pending) >= RECORD_CHUNK:
                futures.append(recorder.submit(check_runs_record, outcomes=list(pending)))
                pending.clear()

        try:
            run_specs_sync(specs, engine_settings, on_result=on_result)
            if pending:
                futures.append(recorder.submit(check_runs_record, outcomes=list(pending)))
        finally:
            # The recorder thread has its own database connection; close it there, once it is done.
            futures.append(recorder.submit(_close_thread_connection))
        for future in futures:
            future.result()  # a database error surfaces here, failing the task


def check_runs_abandon(*, run_ids: Sequence[int], message: str) -> int:
    """Close runs that cannot finish (the task hit its time limit) as UNKNOWN, so no page polls forever."""
    return CheckRun.objects.filter(pk__in=list(run_ids)).exclude(status=CheckRun.Status.DONE).update(
        status=CheckRun.Status.DONE, state=CheckState.UNKNOWN, message=message[:500], finished_at=timezone.now(),
    )


REAPED_RUNNING_MESSAGE = (
    "The worker running this check stopped before it finished (killed, crashed or lost); no result was "
    "recorded. Closed after {seconds} s, the task's time limit plus a margin."
)
REAPED_SILENT_MESSAGE = (
    "The worker running this check stopped before it finished (killed, crashed or lost); no result was "
    "recorded. Closed when its task had sent no heartbeat for {seconds} s."
)
REAPED_QUEUED_MESSAGE = (
    "No worker picked this run up within {seconds} s (its task was lost, or no Celery worker is running)."
)


def check_runs_reap(*, now: datetime | None = None) -> int:
    """Close runs whose worker died as UNKNOWN, so pages stop polling them; returns how many were closed.

    A RUNNING run whose task stopped beating (four missed heartbeats), or older than the task's hard time limit
    plus a margin, cannot still be running; a QUEUED run older than the queued timeout lost its task. Each close
    is a conditional UPDATE on the status and the age, so concurrent reapers, and a late result recorded
    meanwhile, are never overwritten. The check's state machine is left alone: a lost worker says nothing
    about the check's target.
    """
    now = now or timezone.now()
    running_bound, queued_bound, silent = conf.run_stale_after(), conf.queued_timeout(), conf.heartbeat_stale_after()
    running = CheckRun.objects.filter(status=CheckRun.Status.RUNNING)
    closed = running.filter(heartbeat_at__lt=now - silent).update(
        status=CheckRun.Status.DONE, state=CheckState.UNKNOWN, finished_at=now, claim=None,
        message=REAPED_SILENT_MESSAGE.format(seconds=int(silent.total_seconds()))[:500],
    )
    closed += running.filter(started_at__lt=now - running_bound).update(
        status=CheckRun.Status.DONE, state=CheckState.UNKNOWN, finished_at=now, claim=None,
        message=REAPED_RUNNING_MESSAGE.format(seconds=int(running_bound.total_seconds()))[:500],
    )
    closed += CheckRun.objects.filter(status=CheckRun.Status.QUEUED, created_at__lt=now - queued_bound).update(
        status=CheckRun.Status.DONE, state=CheckState.UNKNOWN, finished_at=now,
        message=REAPED_QUEUED_MESSAGE.format(seconds=int(queued_bound.total_seconds()))[:500],
    )
    return closed


def check_runs_record(*, outcomes: Sequence[tuple[CheckRun, CheckResult]]) -> list[CheckStateChange]:
    """Store results and advance each check's state machine; publish state changes after commit."""
    now = timezone.now()
    changes: list[CheckStateChange] = []
    with transaction.atomic():
        check_ids = sorted({run.check_def_id for run, _ in outcomes})
        # Locked in id order so two workers recording overlapping batches cannot deadlock.
        checks = {c.pk: c for c in Check.objects.select_for_update().filter(pk__in=check_ids)
                  .only(*STATE_MACHINE_FIELDS).order_by("pk")}
        for run, result in outcomes:
            run.status = CheckRun.Status.DONE
            run.state = result.state
            run.message = result.message[:500]
            run.metrics = result.metrics
            run.evidence = result.evidence
            run.duration_ms = result.duration_ms
            run.attempts = result.attempts
            run.finished_at = now
            check = checks.get(run.check_def_id)
            if check is None:
                continue
            change = _advance_state(check, run, now)
            if change is not None:
                changes.append(change)
        _update_rows(CheckRun, [run for run, _ in outcomes], RESULT_FIELDS)
        _update_rows(Check, list(checks.values()), STATE_FIELDS)
        if changes:
            CheckStateChange.objects.bulk_create(changes)
    return changes


def _update_rows(model: type[models.Model], objects: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of many rows with one prepared UPDATE run by executemany.

    QuerySet.bulk_update builds a CASE expression per field per row in Python, which for a thousand runs
    costs seconds; a short prepared statement executed many times costs a fraction of that (measured faster
    than one big UPDATE ... FROM VALUES, whose long SQL the driver re-parses). Values go through each
    field's own get_db_prep_save, so JSON and datetimes are stored as the ORM would store them.
    """
    if not objects:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET "
           + ", ".join(f"{quote(field.column)} = %s" for field in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns] + [obj.pk]
            for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _advance_state(check: Check, run: CheckRun, now: datetime) -> CheckStateChange | None:
    """Debounce: the current state moves only after enough consecutive results agree."""
    state = run.state
    check.last_state, check.last_message, check.last_run_at = state, run.message, now
    check.recent = (list(check.recent or []) + [[state, round(run.duration_ms or 0, 1)]])[-RECENT_SIZE:]
    if state == check.current_state:
        check.pending_state, check.pending_count = "", 0
        return None
    if state == check.pending_state:
        check.pending_count += 1
    else:
        check.pending_state, check.pending_count = state, 1
    needed = check.success_threshold if state == CheckState.OK else check.failure_threshold
    if check.current_state and check.pending_count < needed:
        return None
    previous = check.current_state
    check.current_state, check.state_changed_at = state, now
    check.pending_state, check.pending_count = "", 0
    return CheckStateChange(check_def=check, run=run, from_state=previous, to_state=state, message=run.message[:500])


# --- monitors -----------------------------------------------------------------------------------------


def monitors_schedule_due(*, now: datetime | None = None) -> int:
    """Queue a run for every enabled monitor that is due; returns how many were queued.

    The claim (moving ``next_run_at`` forward) happens in the same transaction as the select, under row
    locks where the database has them, so overlapping ticks never queue a monitor twice. A monitor whose
    previous run is still waiting for a worker is skipped rather than piled up.
    """
    now = now or timezone.now()
    busy = CheckRun.objects.filter(
        check_def=OuterRef("pk"), status__in=[CheckRun.Status.QUEUED, CheckRun.Status.RUNNING],
        created_at__gte=now - timedelta(minutes=10),
    )
    with transaction.atomic():
        due = list(
            Check.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, interval_seconds__isnull=False)
            .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
            .filter(~Exists(busy))
            .values_list("pk", "interval_seconds")
        )
        if not due:
            return 0
        by_interval: dict[int, list[int]] = {}
        for pk, interval in due:
            by_interval.setdefault(interval, []).append(pk)
        for interval, pks in by_interval.items():
            Check.objects.filter(pk__in=pks).update(next_run_at=now + timedelta(seconds=interval))
        check_runs_queue(checks=[pk for pk, _ in due], trigger=CheckRun.Trigger.MONITOR)
    return len(due)


def check_runs_prune(*, older_than_days: int | None = None) -> int:
    """Delete finished runs past the retention period; state changes are kept as the long-term history."""
    days = older_than_days if older_than_days is not None else conf.run_retention_days()
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = CheckRun.objects.filter(status=CheckRun.Status.DONE, created_at__lt=cutoff).delete()
    return deleted
