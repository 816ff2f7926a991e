"""A Celery worker SIGKILLed while a check runs: the run is closed as UNKNOWN within the documented bound
(four missed heartbeats, plus one reaper interval), and the page stops polling. While the worker lives,
its heartbeat keeps the run open however long the probe waits.

Real processes: a private redis-server, `celery worker` as a child process on the test database, a probe
blocked on a loopback listener that never answers, then SIGKILL.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from config.celery import app as celery_app
from diagnostics.models import CheckRun, CheckState
from diagnostics.services import check_create, check_runs_queue
from diagnostics.tasks import check_runs_reap_task, run_checks_task

from .workers import WorkerProcess, database_url_for_workers, redis_server, silent_listener, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TIME_LIMIT, MARGIN, HEARTBEAT, REAP_INTERVAL = 60, 10, 1.0, 1.0  # seconds; production: 600, 60, 15 and 30
BOUND = timedelta(seconds=4 * HEARTBEAT)  # four missed beats; far below the time-limit bound (70 s)


@contextmanager
def enqueue_through(broker_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """check_runs_queue, as the web process runs it, publishing to the private Redis (not eagerly)."""
    eager = celery_app.conf.task_always_eager
    with celery_app.connection_for_write(broker_url) as connection:
        publish = run_checks_task.apply_async
        monkeypatch.setattr(run_checks_task, "apply_async",
                            lambda *args, **kwargs: publish(*args, connection=connection, **kwargs))
        celery_app.conf.task_always_eager = False
        try:
            yield
        finally:
            celery_app.conf.task_always_eager = eager
            monkeypatch.undo()


def test_sigkilled_worker_leaves_no_run_running_past_the_bound(tmp_path, settings, client, staff_user, monkeypatch):
    settings.TRIAGE_CHECK_TASK_TIME_LIMIT = TIME_LIMIT
    settings.TRIAGE_REAP_MARGIN_SECONDS = MARGIN
    settings.TRIAGE_CHECK_HEARTBEAT_SECONDS = HEARTBEAT
    with redis_server(tmp_path) as broker_url, silent_listener() as port:
        env = {"DATABASE_URL": database_url_for_workers(), "REDIS_URL": broker_url, "DATABASE_CONN_MAX_AGE": "0",
               "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
               "TRIAGE_CHECK_TASK_TIME_LIMIT": str(TIME_LIMIT), "TRIAGE_REAP_MARGIN_SECONDS": str(MARGIN),
               "TRIAGE_CHECK_HEARTBEAT_SECONDS": str(HEARTBEAT)}
        worker = WorkerProcess(env=env, log=tmp_path / "worker.log")
        try:
            check = check_create(name="Silent API", slug="silent-api", type="http",
                                 target=f"http://127.0.0.1:{port}/", timeout_seconds=15, retries=0)
            with enqueue_through(broker_url, monkeypatch):
                _batch, runs = check_runs_queue(checks=[check])
            run_id = runs[0].pk
            wait_until(lambda: CheckRun.objects.get(pk=run_id).status == CheckRun.Status.RUNNING, timeout=45,
                       what="the worker to claim the run", log=worker.log)
            # The probe waits on the silent listener longer than the heartbeat bound: a live worker's run stays.
            time.sleep(BOUND.total_seconds() + 2)
            assert check_runs_reap_task() == "closed 0 runs"
            assert CheckRun.objects.get(pk=run_id).status == CheckRun.Status.RUNNING
            worker.kill()
            killed_at = timezone.now()
        finally:
            worker.kill()
        run = CheckRun.objects.get(pk=run_id)
        assert run.status == CheckRun.Status.RUNNING  # what a dead worker leaves behind
        # acks_late: the message is still unacknowledged in Redis, for redelivery after the visibility timeout.
        assert redis.Redis.from_url(broker_url).hlen("unacked") == 1

        # Beat runs the reaper every REAP_INTERVAL; the silent heartbeat closes the run within the bound.
        while CheckRun.objects.get(pk=run_id).status != CheckRun.Status.DONE:
            assert timezone.now() - killed_at < BOUND + timedelta(seconds=REAP_INTERVAL + 3), "not reaped"
            check_runs_reap_task()
            time.sleep(REAP_INTERVAL)

    run.refresh_from_db()
    assert run.state == CheckState.UNKNOWN
    assert "stopped before it finished" in run.message and "no heartbeat" in run.message
    assert run.finished_at - killed_at <= BOUND + timedelta(seconds=REAP_INTERVAL + 1)
    assert run.finished_at - run.started_at < timedelta(seconds=TIME_LIMIT)  # not the time-limit rule

    # What a person sees: the batch fragment no longer polls and says UNKNOWN; the API says done.
    client.force_login(staff_user)
    fragment = client.get(f"/diagnostics/batches/{run.batch}/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and 'data-state="unknown"' in fragment
    assert "stopped before it finished" in fragment
    api = client.get(f"/api/v1/check-runs/{run.pk}/").json()
    assert (api["status"], api["state"]) == ("done", "unknown")
