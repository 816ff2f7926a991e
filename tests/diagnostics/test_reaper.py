"""The reaper: runs whose worker died are closed as UNKNOWN within the documented bound, and pages stop polling."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import reap_margin_seconds
from diagnostics import conf
from diagnostics.models import CheckRun, CheckState
from diagnostics.services import (
    check_create,
    check_runs_execute,
    check_runs_heartbeat,
    check_runs_queue,
    check_runs_reap,
)
from diagnostics.tasks import check_runs_reap_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def tcp_check(free_port):
    return check_create(name="Queue port", slug="queue-port", type="tcp", target=f"127.0.0.1:{free_port}")


@pytest.fixture
def small_bound(settings):
    settings.TRIAGE_CHECK_TASK_TIME_LIMIT = 20
    settings.TRIAGE_REAP_MARGIN_SECONDS = 5
    return timedelta(seconds=25)


def claimed_run(check, *, started_ago: timedelta) -> CheckRun:
    """A run a worker claimed `started_ago` and never finished (as if the worker was killed)."""
    _batch, runs = check_runs_queue(checks=[check])
    CheckRun.objects.filter(pk=runs[0].pk).update(status=CheckRun.Status.RUNNING,
                                                  started_at=timezone.now() - started_ago)
    return CheckRun.objects.get(pk=runs[0].pk)


def test_bound_is_the_task_time_limit_plus_the_margin(small_bound):
    assert conf.run_stale_after() == small_bound
    assert conf.task_soft_time_limit() == 16  # never above the hard limit, even when it is small


def test_default_bound_is_the_run_task_limit_plus_a_minute():
    assert conf.run_stale_after() == timedelta(seconds=600 + 60)
    assert reap_margin_seconds() == 60
    assert conf.task_soft_time_limit() == 570


def test_run_past_the_bound_is_closed_unknown_with_a_clear_message(tcp_check, small_bound):
    dead = claimed_run(tcp_check, started_ago=small_bound + timedelta(seconds=1))
    assert check_runs_reap() == 1
    dead.refresh_from_db()
    assert dead.status == CheckRun.Status.DONE and dead.state == CheckState.UNKNOWN
    assert dead.message.startswith("The worker running this check stopped before it finished")
    assert "25 s" in dead.message
    assert dead.finished_at is not None


def test_run_within_the_bound_is_left_to_its_worker(tcp_check, small_bound):
    alive = claimed_run(tcp_check, started_ago=small_bound - timedelta(seconds=2))
    assert check_runs_reap() == 0
    alive.refresh_from_db()
    assert alive.status == CheckRun.Status.RUNNING


def test_reaping_twice_changes_nothing_the_second_time(tcp_check, small_bound):
    dead = claimed_run(tcp_check, started_ago=timedelta(minutes=5))
    assert check_runs_reap_task() == "closed 1 runs"
    finished = CheckRun.objects.get(pk=dead.pk).finished_at
    assert check_runs_reap_task() == "closed 0 runs"
    assert CheckRun.objects.get(pk=dead.pk).finished_at == finished


def test_finished_runs_are_never_touched(tcp_check, small_bound):
    _batch, runs = check_runs_queue(checks=[tcp_check])
    CheckRun.objects.filter(pk=runs[0].pk).update(status=CheckRun.Status.DONE, state=CheckState.OK, message="fine",
                                                  started_at=timezone.now() - timedelta(hours=1))
    assert check_runs_reap() == 0
    assert CheckRun.objects.get(pk=runs[0].pk).message == "fine"


def test_run_queued_past_the_queued_timeout_is_closed(tcp_check, settings):
    settings.TRIAGE_CHECK_QUEUED_TIMEOUT_SECONDS = 120
    _batch, runs = check_runs_queue(checks=[tcp_check])
    assert check_runs_reap() == 0
    assert check_runs_reap(now=timezone.now() + timedelta(seconds=121)) == 1
    run = CheckRun.objects.get(pk=runs[0].pk)
    assert run.state == CheckState.UNKNOWN and "No worker picked this run up within 120 s" in run.message


def test_redelivered_task_after_the_reaper_finds_nothing_to_run(tcp_check, small_bound):
    dead = claimed_run(tcp_check, started_ago=timedelta(minutes=5))
    check_runs_reap()
    assert check_runs_execute(run_ids=[dead.pk]) == 0
    assert CheckRun.objects.get(pk=dead.pk).state == CheckState.UNKNOWN


def test_batch_page_stops_polling_once_the_run_is_reaped(client, staff_user, tcp_check, small_bound):
    client.force_login(staff_user)
    dead = claimed_run(tcp_check, started_ago=small_bound + timedelta(seconds=1))
    url = f"/diagnostics/batches/{dead.batch}/"
    polling = client.get(url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in polling.content.decode()
    check_runs_reap()
    closed = client.get(url, headers={"HX-Request": "true"})
    body = closed.content.decode()
    assert "hx-trigger" not in body
    assert 'data-state="unknown"' in body and "stopped before it finished" in body
    api = client.get(f"/api/v1/check-runs/{dead.pk}/")
    assert api.status_code == 200
    assert api.json()["status"] == "done" and api.json()["state"] == "unknown"


def test_heartbeat_bound_is_four_missed_beats(settings):
    settings.TRIAGE_CHECK_HEARTBEAT_SECONDS = 15
    assert conf.heartbeat_stale_after() == timedelta(seconds=60)


def test_run_whose_heartbeat_stopped_is_closed_long_before_the_time_limit(tcp_check, settings):
    settings.TRIAGE_CHECK_HEARTBEAT_SECONDS = 5
    dead = claimed_run(tcp_check, started_ago=timedelta(seconds=30))
    CheckRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=21))
    assert check_runs_reap() == 1
    dead.refresh_from_db()
    assert dead.state == CheckState.UNKNOWN
    assert "sent no heartbeat for 20 s" in dead.message


def test_run_still_beating_is_left_to_its_worker(tcp_check, settings):
    settings.TRIAGE_CHECK_HEARTBEAT_SECONDS = 5
    alive = claimed_run(tcp_check, started_ago=timedelta(seconds=30))
    CheckRun.objects.filter(pk=alive.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=19), claim=uuid.uuid4())
    assert check_runs_reap() == 0
    # Its task beats again: only its own claim's running runs are touched.
    assert check_runs_heartbeat(claim=CheckRun.objects.get(pk=alive.pk).claim) == 1
    assert check_runs_heartbeat(claim=uuid.uuid4()) == 0
    assert timezone.now() - CheckRun.objects.get(pk=alive.pk).heartbeat_at < timedelta(seconds=5)


def test_a_run_claimed_by_a_task_starts_with_a_heartbeat(tcp_check):
    _batch, runs = check_runs_queue(checks=[tcp_check])
    assert check_runs_execute(run_ids=[runs[0].pk]) == 1
    run = CheckRun.objects.get(pk=runs[0].pk)
    assert run.heartbeat_at is not None and run.heartbeat_at == run.started_at


def test_redelivered_task_may_take_over_a_run_whose_heartbeat_stopped(tcp_check, settings):
    settings.TRIAGE_CHECK_HEARTBEAT_SECONDS = 5
    dead = claimed_run(tcp_check, started_ago=timedelta(seconds=30))
    CheckRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=25))
    assert check_runs_execute(run_ids=[dead.pk]) == 1
    assert CheckRun.objects.get(pk=dead.pk).status == CheckRun.Status.DONE
