"""Celery tasks: each takes ids, calls the service of the same name and returns a short status.

All are idempotent (outbox messages are claimed and marked by conditional UPDATEs; deliveries stop once
succeeded or failed), so a task delivered twice does no harm.
"""

from celery import shared_task
from django.utils import timezone

from .outbox import DISPATCH_TIME_LIMIT, outbox_message_dispatch, outbox_relay
from .services.escalation import incidents_escalate_due
from .services.idempotency import idempotency_prune
from .services.webhooks import (
    MAX_COUNTDOWN_SECONDS,
    SEND_TIME_LIMIT,
    webhook_deliveries_requeue,
    webhook_delivery_attempt,
)


@shared_task(ignore_result=True, acks_late=True, time_limit=120, soft_time_limit=100)
def outbox_relay_task() -> str:
    """Publish due outbox messages; also re-queues webhook deliveries whose task was lost."""
    result = outbox_relay()
    requeued = webhook_deliveries_requeue()
    return f"published {result.published}, deferred {result.deferred}, requeued {requeued}"


@shared_task(ignore_result=True, acks_late=True, time_limit=DISPATCH_TIME_LIMIT,
             soft_time_limit=DISPATCH_TIME_LIMIT - 30)
def outbox_dispatch_task(message_id: int) -> str:
    """Handle one outbox message (notifications, checks, matching)."""
    return outbox_message_dispatch(message_id=message_id)


@shared_task(bind=True, ignore_result=True, acks_late=True, time_limit=SEND_TIME_LIMIT,
             soft_time_limit=SEND_TIME_LIMIT - 15, max_retries=None)
def webhook_delivery_send_task(self, delivery_id: int) -> str:
    """One signed attempt; on a retryable failure, retry after the backoff the service computed.

    The attempt count lives on the delivery row (TRIAGE_WEBHOOK_MAX_ATTEMPTS), not in Celery. A backoff
    longer than MAX_COUNTDOWN_SECONDS is left to the relay's sweep, which queues the delivery once due.
    """
    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None and outcome.retry_in <= MAX_COUNTDOWN_SECONDS:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(ignore_result=True, acks_late=True, time_limit=120, soft_time_limit=100)
def incidents_escalate_due_task() -> str:
    """Notify the next escalation level for unacknowledged incidents past their targets."""
    done = incidents_escalate_due(now=timezone.now())
    return f"escalated {len(done)}"


@shared_task(ignore_result=True, acks_late=True, time_limit=120, soft_time_limit=100)
def incidents_housekeeping_task() -> str:
    """Forget old Idempotency-Key responses."""
    return f"pruned {idempotency_prune()} idempotency keys"
