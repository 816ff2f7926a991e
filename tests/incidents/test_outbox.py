"""Filing never loses a report: the outbox keeps follow-up work until the broker is back."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from incidents import outbox
from incidents.models import Incident, OutboxMessage, WebhookDelivery, WebhookEndpoint
from incidents.outbox import outbox_message_dispatch, outbox_relay

pytestmark = pytest.mark.django_db
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@contextmanager
def broker_stopped():
    """Point Celery at a closed loopback port with eager mode off, as when Redis is down."""
    previous = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url = CLOSED_PORT_BROKER
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous


@pytest.fixture
def endpoint(stub_receiver):
    receiver = stub_receiver([200])
    hook = WebhookEndpoint.objects.create(name="chat", url=receiver.url, secret="s3cret",
                                          events=["incident.created"])
    return hook, receiver


def test_filing_with_broker_down_saves_incident_and_outbox_then_relay_sends(
    open_incident, endpoint, settings, django_capture_on_commit_callbacks, caplog,
):
    settings.TRIAGE_INCIDENT_NOTIFY_EMAILS = ["oncall@example.com"]
    hook, receiver = endpoint
    with broker_stopped(), django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() >= 3
    assert "outbox messages stay pending" in caplog.text
    assert mail.outbox == [] and receiver.requests == []

    # The broker is back (eager again): the periodic relay publishes what was waiting.
    with django_capture_on_commit_callbacks(execute=True):
        result = outbox_relay()
    assert result.published >= 3
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
    assert [m.to for m in mail.outbox] == [["oncall@example.com"]]
    assert f"#{incident.pk}" in mail.outbox[0].subject
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.endpoint == hook


def test_relay_while_broker_is_down_defers_with_a_backoff(open_incident, settings):
    incident = open_incident()
    now = timezone.now()
    with broker_stopped():
        result = outbox_relay(now=now)
    assert result.published == 0 and result.deferred >= 3
    message = OutboxMessage.objects.filter(payload__incident_id=incident.pk).first()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.next_attempt_at == now + timedelta(seconds=settings.TRIAGE_OUTBOX_BACKOFF_SECONDS)
    assert "broker" in message.last_error
    # Not due yet: a relay a moment later leaves it alone.
    assert outbox_relay(now=now + timedelta(seconds=1)).published == 0


def test_relaying_twice_sends_nothing_twice(open_incident, endpoint, django_capture_on_commit_callbacks):
    hook, receiver = endpoint
    open_incident()
    with django_capture_on_commit_callbacks(execute=True):
        outbox_relay()
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay().published == 0
    for message in OutboxMessage.objects.all():
        assert outbox_message_dispatch(message_id=message.pk) == "already sent"
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.count() == 1


def test_failing_handler_is_retried_later_then_marked_failed(open_incident, settings, monkeypatch):
    settings.TRIAGE_OUTBOX_MAX_ATTEMPTS = 2
    open_incident()
    message = OutboxMessage.objects.get(topic="incident.match_report")

    def boom(message):
        raise RuntimeError("matcher crashed")

    monkeypatch.setitem(outbox.OUTBOX_HANDLERS, "incident.match_report", boom)
    assert outbox_message_dispatch(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING and message.attempts == 1
    assert "matcher crashed" in message.last_error and message.next_attempt_at > timezone.now()
    assert outbox_message_dispatch(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED and message.attempts == 2


def test_relay_command_prints_one_json_line(open_incident, capsys):
    import json

    from django.core.management import call_command

    open_incident()
    call_command("incidents_relay")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(line)["published"] >= 3


def test_many_messages_in_one_transaction_ask_for_one_relay(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for n in range(3):
            outbox.outbox_add(topic=outbox.TOPIC_CHECKS, payload={"n": n})
            outbox.outbox_relay_on_commit()
    assert len(callbacks) == 1
    assert OutboxMessage.objects.filter(topic=outbox.TOPIC_CHECKS).count() == 3


def test_a_relay_asked_for_in_a_rolled_back_savepoint_is_asked_for_again(django_capture_on_commit_callbacks,
                                                                          monkeypatch):
    asked = []
    monkeypatch.setattr(outbox, "outbox_relay_soon", lambda: asked.append(1))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                outbox.outbox_add(topic=outbox.TOPIC_CHECKS, payload={"n": 0})
                outbox.outbox_relay_on_commit()
                raise RuntimeError("roll this block back")
        except RuntimeError:
            pass
        outbox.outbox_add(topic=outbox.TOPIC_CHECKS, payload={"n": 1})
        outbox.outbox_relay_on_commit()
    assert asked == [1]
    payloads = OutboxMessage.objects.filter(topic=outbox.TOPIC_CHECKS).values_list("payload", flat=True)
    assert list(payloads) == [{"n": 1}]
