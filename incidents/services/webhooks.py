"""Webhook deliveries: signed attempts with backoff, claimed so a duplicate task never sends twice."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q

from config.celery import reap_margin_seconds, task_publish

from ..models import WebhookDelivery, WebhookEndpoint
from ..webhook_formats import delivery_body
from ..webhooks import webhook_post
from .timeline import clock_now, signed_in_or_none

logger = logging.getLogger(__name__)

# Hard time limit of webhook_delivery_send_task: an attempt "sending" longer than this plus the reap margin
# lost its worker.
SEND_TIME_LIMIT = 60
# Backoffs up to this are Celery countdowns; longer ones are left to the sweep, because Redis hands a
# countdown longer than its visibility timeout to a second worker.
MAX_COUNTDOWN_SECONDS = 300
# A pending or due delivery untouched for this long lost its task; the sweep queues it again.
REQUEUE_GRACE = timedelta(seconds=60)


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
        status=WebhookDelivery.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + webhook_attempt_lease())
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


def webhook_attempt_lease() -> timedelta:
    """How long a claimed attempt ("sending") holds: the send task's time limit plus the reap margin."""
    return timedelta(seconds=SEND_TIME_LIMIT + reap_margin_seconds())


def webhook_deliveries_requeue(*, now: datetime | None = None, limit: int = 200) -> int:
    """Queue again the deliveries whose task was lost or whose worker died; run by the relay beat job.

    An attempt still "sending" after its lease lost its worker: it becomes "retrying", due now (a
    conditional UPDATE, so two sweeps agree). A delivery pending or due for longer than REQUEUE_GRACE lost
    its task (broker outage, a message taken by a worker that died) or waits on a backoff longer than a
    countdown may be. Each is queued and pushed one grace period ahead; the attempt's claim makes a
    duplicate task harmless.
    """
    now = clock_now(now)
    Status = WebhookDelivery.Status
    WebhookDelivery.objects.filter(status=Status.SENDING, next_attempt_at__lt=now).update(
        status=Status.RETRYING, next_attempt_at=now - REQUEUE_GRACE,
        error="The worker stopped during this attempt (killed or lost); it is tried again.")
    lost = (
        WebhookDelivery.objects.filter(status__in=[Status.PENDING, Status.RETRYING], created_at__lte=now - REQUEUE_GRACE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - REQUEUE_GRACE))
        .order_by("created_at", "pk").values_list("pk", "next_attempt_at")[:limit]
    )
    count = 0
    for pk, next_attempt_at in list(lost):
        # Pushed ahead first (conditional: a concurrent sweep or attempt wins), so the next sweep waits a
        # grace period before queueing it again.
        if WebhookDelivery.objects.filter(pk=pk, status__in=[Status.PENDING, Status.RETRYING],
                                          next_attempt_at=next_attempt_at).update(next_attempt_at=now):
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
