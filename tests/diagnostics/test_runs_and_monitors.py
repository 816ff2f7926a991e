"""Queued runs, the task that executes them, the monitor state machine, state changes and the scheduler."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from diagnostics.engine import CheckResult
from diagnostics.models import Check, CheckRun, CheckStateChange
from diagnostics.services import (
    check_create,
    check_runs_execute,
    check_runs_prune,
    check_runs_queue,
    check_runs_record,
    check_update,
    monitors_schedule_due,
)
from diagnostics.tasks import check_runs_prune_task, monitors_tick_task, run_checks_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def http_check(http_stub):
    return check_create(name="Stub health", slug="stub-health", type="http", target=f"{http_stub.url}/health",
                        conditions=["[STATUS] == 200"])


def record(check: Check, *states: str) -> list[CheckStateChange]:
    changes = []
    for state in states:
        _batch, runs = check_runs_queue(checks=[check])
        changes += check_runs_record(outcomes=[(runs[0], CheckResult(state=state, message=f"it is {state}",
                                                                     duration_ms=12.0, attempts=1))])
        check.refresh_from_db()
    return changes


def test_condition_parse_error_is_a_validation_error_at_save_time():
    with pytest.raises(ValidationError) as error:
        check_create(name="Bad", slug="bad", type="http", target="http://localhost/", conditions=["[STATUS] = 200"])
    assert "condition 1: cannot parse" in error.value.message_dict["conditions"][0]
    assert not Check.objects.exists()


def test_unknown_parameter_is_reported_as_a_typo():
    with pytest.raises(ValidationError, match="'metod' is not a parameter of http checks"):
        check_create(name="x", slug="x", type="http", target="http://localhost/", parameters={"metod": "GET"})


def test_warning_above_critical_is_refused():
    with pytest.raises(ValidationError, match="must not be above the critical"):
        check_create(name="x", slug="x", type="disk", target="/", warning_threshold=95, critical_threshold=90)
    # For certificate expiry fewer days left is worse, so the order flips.
    check_create(name="y", slug="y", type="tls", target="localhost:443", warning_threshold=30, critical_threshold=7)


def test_queue_then_task_records_result_and_state(http_check, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch, runs = check_runs_queue(checks=[http_check])
    assert len(callbacks) == 1  # enqueued only after commit
    run = CheckRun.objects.get(pk=runs[0].pk)
    assert run.batch == batch
    assert (run.status, run.state) == ("done", "ok")
    assert run.message.startswith("HTTP 200")
    http_check.refresh_from_db()
    assert (http_check.current_state, http_check.last_state) == ("ok", "ok")
    assert http_check.recent[-1][0] == "ok"


def test_task_twice_changes_nothing_the_second_time(http_check, http_stub):
    _batch, runs = check_runs_queue(checks=[http_check])
    ids = [run.pk for run in runs]
    assert run_checks_task.apply(args=[[http_check.pk]], kwargs={"run_ids": ids}).get() == "ran 1 of 1 checks"
    before = CheckRun.objects.get(pk=ids[0]).finished_at
    requests = len(http_stub.requests)
    assert run_checks_task.apply(args=[[http_check.pk]], kwargs={"run_ids": ids}).get() == "ran 0 of 1 checks"
    assert CheckRun.objects.get(pk=ids[0]).finished_at == before
    assert len(http_stub.requests) == requests


def test_a_run_abandoned_by_a_dead_worker_is_claimed_again(http_check):
    _batch, runs = check_runs_queue(checks=[http_check])
    CheckRun.objects.filter(pk=runs[0].pk).update(status="running", started_at=timezone.now() - timedelta(hours=2))
    assert check_runs_execute(run_ids=[runs[0].pk]) == 1
    assert CheckRun.objects.get(pk=runs[0].pk).status == "done"


def test_task_with_only_check_ids_queues_its_own_runs(http_check, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_checks_task.apply(args=[[http_check.pk]])
    assert CheckRun.objects.get().state == "ok"


def test_first_result_sets_the_state_and_emits_an_event(http_check):
    changes = record(http_check, "critical")
    assert [(c.from_state, c.to_state) for c in changes] == [("", "critical")]
    assert http_check.current_state == "critical"


def test_failure_threshold_absorbs_flapping(http_check):
    check_update(check=http_check, failure_threshold=3, success_threshold=2)
    record(http_check, "ok")
    changes = record(http_check, "critical", "critical", "ok", "critical", "critical")
    assert changes == []  # never three failures in a row
    assert http_check.current_state == "ok"
    assert http_check.last_state == "critical"
    changes = record(http_check, "critical")
    assert [(c.from_state, c.to_state) for c in changes] == [("ok", "critical")]
    assert record(http_check, "ok") == []  # one success is not enough to recover
    assert [(c.from_state, c.to_state) for c in record(http_check, "ok")] == [("critical", "ok")]
    assert CheckStateChange.objects.filter(check_def=http_check).count() == 3


def test_recent_keeps_the_newest_forty_results(http_check):
    record(http_check, *(["ok"] * 45))
    assert len(http_check.recent) == 40


def test_scheduler_queues_due_monitors_once(http_check, django_capture_on_commit_callbacks):
    check_update(check=http_check, interval_seconds=60)
    on_demand = check_create(name="Manual", slug="manual", type="memory")
    paused = check_create(name="Paused", slug="paused", type="memory", interval_seconds=60, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert monitors_schedule_due() == 1
    assert list(CheckRun.objects.values_list("check_def__slug", "trigger", "state")) == [("stub-health", "monitor", "ok")]
    http_check.refresh_from_db()
    assert http_check.next_run_at > timezone.now() + timedelta(seconds=50)
    assert monitors_schedule_due() == 0  # not due again yet
    assert monitors_tick_task.apply().get() == "queued 0 monitors"
    later = timezone.now() + timedelta(seconds=61)
    assert monitors_schedule_due(now=later) == 1
    assert not CheckRun.objects.filter(check_def__in=[on_demand, paused]).exists()


def test_scheduler_skips_a_monitor_whose_last_run_is_still_queued(http_check):
    check_update(check=http_check, interval_seconds=30)
    assert monitors_schedule_due() == 1  # on_commit is not run here, so the run stays queued
    assert monitors_schedule_due(now=timezone.now() + timedelta(seconds=31)) == 0


def test_prune_deletes_old_finished_runs_but_keeps_state_changes(http_check):
    record(http_check, "ok", "critical")
    CheckRun.objects.update(created_at=timezone.now() - timedelta(days=40))
    record(http_check, "ok")
    assert check_runs_prune(older_than_days=30) == 2
    assert CheckRun.objects.count() == 1
    assert CheckStateChange.objects.count() == 3
    assert check_runs_prune_task.apply().get() == "deleted 0 runs"


def test_editing_a_check_does_not_reset_its_recorded_state(http_check):
    stale = Check.objects.get(pk=http_check.pk)
    record(http_check, "critical")
    check_update(check=stale, name="Renamed")
    http_check.refresh_from_db()
    assert (http_check.name, http_check.current_state, len(http_check.recent)) == ("Renamed", "critical", 1)


@pytest.mark.django_db(transaction=True)
def test_big_batch_is_recorded_while_running_and_every_run_ends_done(monkeypatch):
    Check.objects.bulk_create([Check(name=f"Memory {i}", slug=f"memory-{i}", type="memory") for i in range(150)]
                              + [Check(name="Broken", slug="broken", type="tcp", target="db.invalid:1")])
    monkeypatch.setattr(run_checks_task, "apply_async", lambda *args, **kwargs: None)  # run it here instead
    _batch, runs = check_runs_queue(checks=Check.objects.order_by("pk"))  # no outer transaction here
    assert check_runs_execute(run_ids=[run.pk for run in runs]) == 151
    assert CheckRun.objects.filter(status="done").count() == 151
    assert CheckRun.objects.get(check_def__slug="broken").state == "unknown"
    assert Check.objects.exclude(current_state="").count() == 151
    assert CheckStateChange.objects.count() == 151
