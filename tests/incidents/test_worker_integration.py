"""With a real Celery worker on real Redis: a report filed while the broker was down gets its webhook
once the broker is back and the relay runs (no eager mode anywhere)."""

import pytest

from incidents.models import Incident, OutboxMessage, WebhookDelivery, WebhookEndpoint
from incidents.outbox import outbox_relay
from tests.diagnostics.worker import celery_worker_on_private_queue, wait_until

from .test_outbox import broker_stopped

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_report_filed_during_outage_is_notified_by_a_real_worker_after_the_relay(
    api_client, user, system, stub_receiver,
):
    receiver = stub_receiver([503, 200])  # the receiver fails once: the worker retries it
    WebhookEndpoint.objects.create(name="chat", url=receiver.url, secret="a-long-shared-secret",
                                   events=["incident.created"])
    api_client.force_authenticate(user)
    body = {"title": "Queue stuck after deploy", "system": system.slug, "severity": "high",
            "what_happened": "Nothing is consumed since the deploy at noon."}
    with broker_stopped():
        response = api_client.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 201
    assert Incident.objects.count() == 1
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() >= 3

    with celery_worker_on_private_queue():
        from django.test import override_settings

        with override_settings(TRIAGE_WEBHOOK_BACKOFF_SECONDS=1):
            assert outbox_relay().published >= 3
            wait_until(lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).exists(),
                       timeout=30, what="the webhook to be delivered")
            wait_until(lambda: not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists(),
                       what="every outbox message to be handled")
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 2 and [h["status_code"] for h in delivery.history] == [503, 200]
    assert len(receiver.requests) == 2
