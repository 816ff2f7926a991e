"""Outgoing webhooks: HMAC-signed, retried with backoff, logged (against a loopback stub receiver)."""

import json
import time

import pytest
from django.utils import timezone

from incidents.models import OutboxMessage, WebhookDelivery, WebhookEndpoint
from incidents.services import webhooks as webhook_services
from incidents.services.lifecycle import incident_acknowledge, incident_resolve
from incidents.services.webhooks import (
    webhook_deliveries_requeue,
    webhook_delivery_attempt,
    webhook_endpoint_create,
)
from incidents.tasks import webhook_delivery_send_task
from incidents.webhooks import payload_body, signature_compute, signature_verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager_retries_do_not_raise():
    """Eager Celery raises Retry when it propagates errors; let it replay retries in-process instead."""
    from config.celery import app

    app.conf.task_eager_propagates = False  # restored by the suite's autouse Celery fixture


def make_delivery(url: str, secret: str = "topsecret") -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(name="receiver", url=url, secret=secret)
    return WebhookDelivery.objects.create(endpoint=endpoint, event="incident.created", url=url,
                                          payload={"event": "incident.created", "incident": {"id": 1}})


def test_signature_round_trips_and_rejects_tampering_and_replays():
    body = payload_body({"b": 1, "a": "x"})
    now = time.time()
    signature = signature_compute(secret="k", timestamp=str(int(now)), body=body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert signature_verify(secret="k", timestamp=str(int(now)), body=body, signature=signature, now=now)
    assert not signature_verify(secret="other", timestamp=str(int(now)), body=body, signature=signature, now=now)
    assert not signature_verify(secret="k", timestamp=str(int(now)), body=body + b" ", signature=signature,
                                now=now)
    assert not signature_verify(secret="k", timestamp=str(int(now)), body=body, signature=signature,
                                now=now + 3600)


def test_delivery_is_signed_with_hmac_sha256_of_timestamp_and_body(stub_receiver):
    receiver = stub_receiver([204])
    delivery = make_delivery(receiver.url)
    webhook_delivery_send_task.delay(delivery.pk)
    request = receiver.requests[0]
    headers = request["headers"]
    assert headers["X-Triage-Event"] == "incident.created"
    assert headers["X-Triage-Delivery"] == str(delivery.pk)
    assert signature_verify(secret="topsecret", timestamp=headers["X-Triage-Timestamp"], body=request["body"],
                            signature=headers["X-Triage-Signature"])
    assert json.loads(request["body"])["incident"] == {"id": 1}
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.status_code == 204
    assert delivery.attempts == 1 and delivery.delivered_at is not None


def test_server_errors_are_retried_with_growing_backoff_until_success(stub_receiver, settings):
    settings.TRIAGE_WEBHOOK_BACKOFF_SECONDS = 10
    receiver = stub_receiver([503, 500, 200])
    delivery = make_delivery(receiver.url)
    webhook_delivery_send_task.delay(delivery.pk)  # eager: Celery replays each retry at once
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 3 and len(receiver.requests) == 3
    assert [h["status_code"] for h in delivery.history] == [503, 500, 200]
    assert [h["retry_in"] for h in delivery.history] == [10, 20, None]
    # Every attempt is freshly signed.
    for request in receiver.requests:
        headers = request["headers"]
        assert signature_verify(secret="topsecret", timestamp=headers["X-Triage-Timestamp"],
                                body=request["body"], signature=headers["X-Triage-Signature"])


def test_delivery_gives_up_after_max_attempts(stub_receiver, settings):
    settings.TRIAGE_WEBHOOK_MAX_ATTEMPTS = 3
    receiver = stub_receiver([500])
    delivery = make_delivery(receiver.url)
    webhook_delivery_send_task.delay(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 3 and len(receiver.requests) == 3
    assert delivery.history[-1]["retry_in"] is None
    assert '"ok": false' in delivery.response_excerpt


def test_client_error_is_not_retried(stub_receiver):
    receiver = stub_receiver([404])
    delivery = make_delivery(receiver.url)
    webhook_delivery_send_task.delay(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempts == 1


def test_connection_refused_is_logged_and_retried(settings):
    settings.TRIAGE_WEBHOOK_MAX_ATTEMPTS = 2
    delivery = make_delivery("http://127.0.0.1:1/hook")
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert outcome.status == WebhookDelivery.Status.RETRYING and outcome.retry_in == settings.TRIAGE_WEBHOOK_BACKOFF_SECONDS
    delivery.refresh_from_db()
    assert delivery.status_code is None and "Connect" in delivery.error
    assert delivery.next_attempt_at > timezone.now()


def test_finished_delivery_is_not_sent_again(stub_receiver):
    receiver = stub_receiver([200])
    delivery = make_delivery(receiver.url)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.requests) == 1


def test_endpoints_get_only_the_events_they_subscribe_to(open_incident, responder, stub_receiver,
                                                         django_capture_on_commit_callbacks):
    all_events = stub_receiver([200])
    resolved_only = stub_receiver([200])
    WebhookEndpoint.objects.create(name="all", url=all_events.url, secret="a")
    WebhookEndpoint.objects.create(name="resolved", url=resolved_only.url, secret="b",
                                   events=["incident.resolved"])
    WebhookEndpoint.objects.create(name="off", url=all_events.url, secret="c", active=False)
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
        incident_acknowledge(incident=incident, actor=responder)
        incident_resolve(incident=incident, actor=responder)
    assert [r["headers"]["X-Triage-Event"] for r in all_events.requests] == [
        "incident.created", "incident.acknowledged", "incident.resolved"]
    assert [r["headers"]["X-Triage-Event"] for r in resolved_only.requests] == ["incident.resolved"]
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()


def test_unknown_event_names_are_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Unknown events"):
        webhook_endpoint_create(name="x", url="http://127.0.0.1:9/", secret="s", events=["incident.exploded"])


def test_a_duplicate_task_while_an_attempt_is_in_flight_sends_nothing(stub_receiver, monkeypatch):
    from incidents import webhooks

    receiver = stub_receiver([200])
    delivery = make_delivery(receiver.url)
    real_post = webhooks.webhook_post
    inner: list[str] = []

    def post_while_a_duplicate_arrives(**kwargs):
        # A redelivered task for the same delivery starts while this attempt is on the wire.
        inner.append(webhook_delivery_attempt(delivery_id=delivery.pk).status)
        return real_post(**kwargs)

    monkeypatch.setattr(webhook_services, "webhook_post", post_while_a_duplicate_arrives)
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == WebhookDelivery.Status.SUCCEEDED
    assert inner == ["in progress"]
    assert len(receiver.requests) == 1


def test_lost_deliveries_are_requeued_by_the_relay(stub_receiver, django_capture_on_commit_callbacks):
    from datetime import timedelta

    receiver = stub_receiver([200])
    delivery = make_delivery(receiver.url)
    later = timezone.now() + timedelta(minutes=11)
    assert webhook_deliveries_requeue(now=timezone.now()) == 0  # too fresh to be lost
    assert webhook_deliveries_requeue(now=later) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and len(receiver.requests) == 1


def test_a_url_that_became_internal_is_refused_at_send_time_and_never_called(stub_receiver, settings):
    receiver = stub_receiver([200])
    delivery = make_delivery(receiver.url)  # saved while loopback was allowed
    settings.TRIAGE_WEBHOOK_ALLOWED_TARGETS = []
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.status == WebhookDelivery.Status.FAILED and outcome.retry_in is None
    assert "internal address" in delivery.error
    assert receiver.requests == []


def test_delivery_connects_to_the_vetted_address_and_keeps_the_name_in_host(stub_receiver, monkeypatch):
    import ipaddress

    from diagnostics import targets

    receiver = stub_receiver([204])
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    real = targets.resolve_blocking
    monkeypatch.setattr(targets, "resolve_blocking", lambda host: [ipaddress.ip_address("127.0.0.1")]
                        if host == "hooks.example.test" else real(host))
    delivery = make_delivery(f"http://hooks.example.test:{port}/hook")
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == WebhookDelivery.Status.SUCCEEDED
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.test:{port}"


def test_only_a_short_scrubbed_excerpt_of_the_answer_is_kept(stub_receiver):
    receiver = stub_receiver([500])
    receiver.answer = (b"echo topsecret\n\x00 see http://admin:hunter2@10.0.0.5/x " + b"A" * 5000)
    delivery = make_delivery(receiver.url)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    excerpt = delivery.response_excerpt
    assert len(excerpt) <= 200 and "\n" not in excerpt and "\x00" not in excerpt
    assert "topsecret" not in excerpt and "hunter2" not in excerpt
    assert excerpt.startswith("echo [redacted] see http://[redacted]@10.0.0.5/x")
