"""No stuck work: outbox messages and webhook attempts whose worker died are handed out again after their
lease; two workers never send the same thing twice; a beat outage makes escalation catch up once, in order."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from config.celery import reap_margin_seconds, visibility_timeout_seconds
from incidents import outbox
from incidents.models import (
    EscalationLevel,
    EscalationRecord,
    OutboxMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from incidents.outbox import outbox_add, outbox_dispatch_lease, outbox_message_dispatch, outbox_relay
from incidents.services import webhooks as webhook_services
from incidents.services.escalation import incidents_escalate_due
from incidents.services.webhooks import (
    MAX_COUNTDOWN_SECONDS,
    webhook_attempt_lease,
    webhook_deliveries_requeue,
    webhook_delivery_attempt,
)
from incidents.tasks import webhook_delivery_send_task

pytestmark = pytest.mark.django_db
TOPIC = "test.reaping"
on_postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                   reason="row locks between two connections: the PostgreSQL run")


@pytest.fixture
def handled(monkeypatch) -> list[int]:
    """A handler for TOPIC that records each message it handles (slowly, so duplicates overlap it)."""
    calls: list[int] = []

    def handler(message: OutboxMessage) -> None:
        calls.append(message.pk)
        time.sleep(0.2)

    monkeypatch.setitem(outbox.OUTBOX_HANDLERS, TOPIC, handler)
    return calls


@pytest.fixture
def levels(stub_receiver):
    EscalationLevel.objects.all().delete()
    oncall = EscalationLevel.objects.create(order=1, name="On-call", email="oncall@example.com")
    manager = EscalationLevel.objects.create(order=2, name="Manager", email="boss@example.com")
    director = EscalationLevel.objects.create(order=3, name="Director", email="director@example.com")
    return oncall, manager, director


def make_delivery(url: str) -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(name="receiver", url=url, secret="s")
    return WebhookDelivery.objects.create(endpoint=endpoint, event="incident.created", url=url,
                                          payload={"event": "incident.created", "incident": {"id": 1}},
                                          created_at=timezone.now() - timedelta(minutes=10))


def in_threads(*calls):
    """Run the calls at the same moment on their own threads (and database connections); their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # surfaced in the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


# --- bounds -------------------------------------------------------------------------------------------


def test_leases_are_the_task_time_limits_plus_the_margin():
    assert outbox_dispatch_lease() == timedelta(seconds=celery_app.tasks["incidents.tasks.outbox_dispatch_task"]
                                                .time_limit + reap_margin_seconds())
    assert webhook_attempt_lease() == timedelta(
        seconds=celery_app.tasks["incidents.tasks.webhook_delivery_send_task"].time_limit + reap_margin_seconds())


def test_redis_visibility_timeout_outlasts_every_task_and_countdown():
    timeout = visibility_timeout_seconds()
    if timeout is None:
        pytest.skip("the filesystem broker has no visibility timeout (the reapers alone bring work back)")
    ours = [task for name, task in celery_app.tasks.items()
            if name.split(".")[0] in {"diagnostics", "incidents", "kb", "trees", "accounts", "alerts"}]
    assert ours
    for task in ours:
        assert task.time_limit is not None, f"{task.name} has no hard time limit"
        assert task.time_limit + reap_margin_seconds() <= timeout, task.name
    assert timeout > MAX_COUNTDOWN_SECONDS


# --- outbox -------------------------------------------------------------------------------------------


def test_duplicate_dispatch_while_a_worker_handles_the_message_does_nothing(monkeypatch):
    inner: list[str] = []
    message = outbox_add(topic=TOPIC, payload={})

    def handler(msg: OutboxMessage) -> None:
        inner.append(outbox_message_dispatch(message_id=msg.pk))  # Redis redelivers it meanwhile

    monkeypatch.setitem(outbox.OUTBOX_HANDLERS, TOPIC, handler)
    assert outbox_message_dispatch(message_id=message.pk) == "sent"
    assert inner == ["in progress"]
    message.refresh_from_db()
    assert message.attempts == 1 and message.claimed_at is None


def test_message_whose_worker_died_is_relayed_again_after_the_lease(handled):
    message = outbox_add(topic=TOPIC, payload={})
    died_at = timezone.now() - outbox_dispatch_lease() - timedelta(seconds=1)
    # What a worker's claim leaves behind when the worker is SIGKILLed before it finishes.
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=died_at, attempts=1,
                                                       next_attempt_at=died_at + outbox_dispatch_lease())
    assert outbox_relay(now=died_at + outbox_dispatch_lease() - timedelta(seconds=1)).published == 0
    assert outbox_relay().published == 1  # eager: dispatched at once
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT and message.attempts == 2
    assert handled == [message.pk]


def test_a_live_claim_is_not_taken_over(handled):
    message = outbox_add(topic=TOPIC, payload={})
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(seconds=30))
    assert outbox_message_dispatch(message_id=message.pk) == "in progress"
    assert handled == []


def test_message_that_keeps_killing_its_workers_runs_out_of_attempts(handled, settings):
    settings.TRIAGE_OUTBOX_MAX_ATTEMPTS = 3
    message = outbox_add(topic=TOPIC, payload={})
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=3,
                                                       claimed_at=timezone.now() - timedelta(hours=1))
    assert outbox_message_dispatch(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED and "workers stopped" in message.last_error
    assert handled == []


# --- webhooks -----------------------------------------------------------------------------------------


def test_attempt_whose_worker_died_is_retried_by_the_sweep_once_the_lease_is_over(stub_receiver):
    receiver = stub_receiver([200])
    delivery = make_delivery(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.SENDING, attempts=1, next_attempt_at=timezone.now() + timedelta(seconds=30))
    assert webhook_deliveries_requeue() == 0  # the lease still holds: its worker may be sending
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.SENDING

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert webhook_deliveries_requeue() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.attempts == 2
    assert len(receiver.requests) == 1
    assert webhook_deliveries_requeue(now=timezone.now() + timedelta(hours=1)) == 0


def test_backoff_longer_than_a_countdown_may_be_is_left_to_the_sweep(stub_receiver, settings):
    from config.celery import app

    app.conf.task_eager_propagates = False  # eager retries replay in-process; restored by the suite fixture
    settings.TRIAGE_WEBHOOK_BACKOFF_SECONDS = MAX_COUNTDOWN_SECONDS + 1
    receiver = stub_receiver([503, 200])
    delivery = make_delivery(receiver.url)
    assert webhook_delivery_send_task.delay(delivery.pk).get() == WebhookDelivery.Status.RETRYING
    delivery.refresh_from_db()
    assert len(receiver.requests) == 1 and delivery.status == WebhookDelivery.Status.RETRYING
    assert webhook_deliveries_requeue() == 0  # not due yet
    assert webhook_deliveries_requeue(now=delivery.next_attempt_at + timedelta(seconds=61)) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and len(receiver.requests) == 2


# --- escalation ---------------------------------------------------------------------------------------


def test_beat_down_for_ten_minutes_catches_up_once_in_order(open_incident, critical, levels,
                                                           django_capture_on_commit_callbacks):
    ticks: dict[int, list] = {}
    # Opening and escalating share the test's one transaction: its commit callbacks are all captured.
    with django_capture_on_commit_callbacks(execute=True):
        first = open_incident(severity=critical, title="Checkout down")
        second = open_incident(severity=critical, title="Payments down")
        opened = first.created_at
        for minute in range(0, 40):
            if 5 <= minute < 15:
                continue  # beat is down: ten ticks never happen
            ticks[minute] = incidents_escalate_due(now=opened + timedelta(minutes=minute, seconds=30))
    # Critical: level 1 at 5 min, level 2 at 15, level 3 at 30. Back at minute 15, both incidents get
    # the two levels they missed, each once, in order; later ticks add only what falls due.
    assert ticks[15] == [(first.pk, 1), (first.pk, 2), (second.pk, 1), (second.pk, 2)]
    assert {m: done for m, done in ticks.items() if done} == {
        15: ticks[15], 30: [(first.pk, 3), (second.pk, 3)]}
    for incident in (first, second):
        orders = list(EscalationRecord.objects.filter(incident=incident).order_by("pk")
                      .values_list("level__order", flat=True))
        assert orders == [1, 2, 3]
        sent = [m.to[0] for m in mail.outbox if "escalated" in m.subject and f"#{incident.pk} " in m.subject]
        assert sent == ["oncall@example.com", "boss@example.com", "director@example.com"]


# --- two workers at once (PostgreSQL) -------------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_workers_dispatching_one_message_handle_it_once(handled):
    message = outbox_add(topic=TOPIC, payload={})
    results = in_threads(lambda: outbox_message_dispatch(message_id=message.pk),
                         lambda: outbox_message_dispatch(message_id=message.pk))
    assert handled == [message.pk]
    assert "sent" in results and set(results) <= {"sent", "in progress", "already sent"}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_workers_attempting_one_delivery_post_it_once(stub_receiver, monkeypatch):
    receiver = stub_receiver([200])
    delivery = make_delivery(receiver.url)
    real_post = webhook_services.webhook_post

    def slow_post(**kwargs):
        time.sleep(0.2)
        return real_post(**kwargs)

    monkeypatch.setattr(webhook_services, "webhook_post", slow_post)
    results = in_threads(lambda: webhook_delivery_attempt(delivery_id=delivery.pk).status,
                         lambda: webhook_delivery_attempt(delivery_id=delivery.pk).status)
    assert len(receiver.requests) == 1
    assert sorted(results) in (["in progress", "succeeded"], ["succeeded", "succeeded"])
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_beat_runs_at_once_notify_each_level_once(open_incident, critical, levels):
    incident = open_incident(severity=critical)
    later = incident.created_at + timedelta(minutes=20)
    results = in_threads(lambda: incidents_escalate_due(now=later), lambda: incidents_escalate_due(now=later))
    assert sorted(results[0] + results[1]) == [(incident.pk, 1), (incident.pk, 2)]
    assert sorted(EscalationRecord.objects.filter(incident=incident).values_list("level__order", flat=True)) == [1, 2]
    assert OutboxMessage.objects.filter(topic="incident.escalated").count() == 2
