"""Webhook deliveries: signed attempts with backoff, claimed so a duplicate task never sends twice."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q

from config.celery import task_publish

from ..models import WebhookDelivery, WebhookEndpoint
from ..webhook_formats import delivery_body
from ..webhooks import webhook_post
from .timeline import clock_now, signed_in_or_none

logger = logging.getLogger(__name__)


def webhook_backoff_seconds(attempt: int) -> int:
    """Delay before attempt `attempt + 1`: base, 2x base, 4x base, ... capped at an hour."""
    return min(settings.TRIAGE_WEBHOOK_BACKOFF_SECONDS * (2 ** max(attempt - 1, 0)), 3600)


def webhook_delivery_enqueue(*, delivery_id: int) -> None:
    """Queue a delivery; a broker outage leaves it pending for `webhook_deliveries_requeue`."""
    from ..tasks import webhook_delivery_send_task  # tasks import the services: import it when used

    try:
        task_publish(webhook_delivery_send_task, args=[delivery_id])
    except Exception:
        logger.warning("Could not queue webhook delivery %s; it will be requeued.", delivery_id, exc_info=True)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: int | None = None


def webhook_delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Make one signed attempt and log it; say whether and when to try again."""
    now = clock_now(now)
    delivery = WebhookDelivery.objects.select_related("endpoint", "escalation_level").filter(pk=delivery_id).first()
    if delivery is None:
        return DeliveryOutcome("missing")
    if delivery.status in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED):
        return DeliveryOutcome(delivery.status)
    if delivery.endpoint is not None:
        if not delivery.endpoint.active:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.FAILED,
                                                                  error="Endpoint was deactivated.")
            return DeliveryOutcome(WebhookDelivery.Status.FAILED)
        secret = delivery.endpoint.secret
    else:
        secret = delivery.escalation_level.webhook_secret if delivery.escalation_level else ""
    # Claim the attempt (status "sending" with a lease): a duplicate task (redelivery, requeue sweep) that
    # arrives meanwhile stops here; if this worker dies, the lease runs out and the sweep retries it.
    claimable = Q(status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]) | Q(
        status=WebhookDelivery.Status.SENDING, next_attempt_at__lt=now)
    claimed = WebhookDelivery.objects.filter(claimable, pk=delivery.pk).update(
        status=WebhookDelivery.Status.SENDING, attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=settings.TRIAGE_WEBHOOK_TIMEOUT_SECONDS + 60))
    if not claimed:
        return DeliveryOutcome("in progress")
    attempts = WebhookDelivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    # Chat formats: Slack/Teams endpoints get a message built from the incident, not the event JSON.
    body = delivery_body(delivery)
    result = webhook_post(url=delivery.url, secret=secret, event=delivery.event, delivery_id=delivery.pk,
                          payload=body, timeout_seconds=settings.TRIAGE_WEBHOOK_TIMEOUT_SECONDS,
                          now=now.timestamp())
    retry_in: int | None = None
    if result.ok:
        status = WebhookDelivery.Status.SUCCEEDED
    elif result.retryable and attempts < settings.TRIAGE_WEBHOOK_MAX_ATTEMPTS:
        status = WebhookDelivery.Status.RETRYING
        retry_in = webhook_backoff_seconds(attempts)
    else:
        status = WebhookDelivery.Status.FAILED
    history = list(delivery.history) + [{
        "attempt": attempts, "at": now.isoformat(), "status_code": result.status_code, "error": result.error,
        "duration_ms": result.duration_ms, "retry_in": retry_in,
    }]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, attempts=attempts, status_code=result.status_code, response_excerpt=result.response_excerpt,
        error=result.error, history=history[-20:],
        next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
        delivered_at=now if result.ok else None,
    )
    return DeliveryOutcome(status, retry_in)


def webhook_deliveries_requeue(*, now: datetime | None = None, stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Re-queue deliveries whose task was lost (broker outage, worker crash) well after they were due."""
    now = clock_now(now)
    stale = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING, WebhookDelivery.Status.SENDING],
        created_at__lte=now - stale_after,
    ).exclude(next_attempt_at__gt=now - stale_after).values_list("pk", flat=True)[:200]
    count = 0
    for pk in list(stale):
        # Due "now" again: the next sweep leaves it alone for another `stale_after`, and an expired
        # "sending" lease becomes claimable by the task queued here.
        WebhookDelivery.objects.filter(pk=pk).update(next_attempt_at=now)
        webhook_delivery_enqueue(delivery_id=pk)
        count += 1
    return count


def webhook_endpoint_create(
    *, name: str, url: str, secret: str, events: list[str], active: bool = True,
    created_by: AbstractBaseUser | None = None, format: str = WebhookEndpoint.Format.JSON,
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(name=name, url=url, secret=secret, events=sorted(set(events)), active=active,
                               created_by=signed_in_or_none(created_by), format=format)
    endpoint.full_clean()
    endpoint.save()
    return endpoint
