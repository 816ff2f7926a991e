"""Checks run by a real Celery worker over real Redis (not eager), end to end."""

import pytest
from django.utils import timezone

from diagnostics.models import CheckRun, CheckStateChange
from diagnostics.services import check_create, check_runs_queue, check_update
from diagnostics.tasks import monitors_tick_task, run_checks_task

from .stubs import closed_port
from .worker import celery_worker_on_private_queue, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_real_worker_runs_checks_and_records_states_and_state_changes(http_stub):
    ok = check_create(name="Stub health", slug="stub-health", type="http", target=f"{http_stub.url}/health",
                      conditions=["[STATUS] == 200", "[BODY].json.components.database == healthy"])
    closed = check_create(name="Closed port", slug="closed-port", type="tcp", target=f"127.0.0.1:{closed_port()}")
    forged = check_create(name="Metadata", slug="metadata", type="http", target="http://169.254.169.254/latest/")
    with celery_worker_on_private_queue():
        batch, runs = check_runs_queue(checks=[ok, closed, forged])
        ids = [run.pk for run in runs]
        wait_until(lambda: CheckRun.objects.filter(batch=batch, status="done").count() == 3, what="3 runs")
        states = dict(CheckRun.objects.filter(batch=batch).values_list("check_def__slug", "state"))
        assert states == {"stub-health": "ok", "closed-port": "critical", "metadata": "unknown"}
        finished = dict(CheckRun.objects.filter(batch=batch).values_list("pk", "finished_at"))

        # The same task delivered again finds every run claimed and changes nothing.
        run_checks_task.apply_async(args=[[ok.pk, closed.pk, forged.pk]], kwargs={"run_ids": ids})
        marker_batch, _ = check_runs_queue(checks=[ok])  # queued behind it on the same solo worker
        wait_until(lambda: CheckRun.objects.filter(batch=marker_batch, status="done").exists(), what="marker")
        assert dict(CheckRun.objects.filter(batch=batch).values_list("pk", "finished_at")) == finished

        # A monitor scheduled by the tick task, through the same worker.
        check_update(check=closed, interval_seconds=60)
        monitors_tick_task.delay()
        wait_until(lambda: CheckRun.objects.filter(check_def=closed, trigger="monitor", status="done").exists(),
                   what="monitor run")
    recorded = CheckStateChange.objects.filter(check_def__in=[ok, closed, forged])
    assert sorted(recorded.values_list("check_def__slug", "to_state")) == [
        ("closed-port", "critical"), ("metadata", "unknown"), ("stub-health", "ok")]
    closed.refresh_from_db()
    assert closed.current_state == "critical"
    assert closed.next_run_at > timezone.now()
