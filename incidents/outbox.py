"""The outbox: follow-up work written in the same transaction as the change that caused it.

A service writes `OutboxMessage` rows inside its transaction, then asks (after commit, never inside the
transaction) for the relay task. If the broker is down that request is logged and dropped; the relay beat
job finds the pending rows later. So a report is never lost because Redis or the workers are away, and
notifications go out when they come back.

Which function handles which topic is registered by `IncidentsConfig.ready()` (`outbox_handler_register`),
so this module needs none of the services that write messages.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from common.transactions import CommitRequest, on_commit_join
from config.celery import broker_connection, reap_margin_seconds, task_publish

from .models import Incident, OutboxMessage, WebhookEndpoint

logger = logging.getLogger(__name__)

EVENT_CREATED = WebhookEndpoint.Event.CREATED.value
EVENT_ACKNOWLEDGED = WebhookEndpoint.Event.ACKNOWLEDGED.value
EVENT_ESCALATED = WebhookEndpoint.Event.ESCALATED.value
EVENT_RESOLVED = WebhookEndpoint.Event.RESOLVED.value
TOPIC_CHECKS = "incident.checks"
TOPIC_MATCH_REPORT = "incident.match_report"
TOPIC_ATTACHMENT = "attachment.process"
# A published message not yet picked up by a worker is published again after this.
OUTBOX_LEASE = timedelta(minutes=5)
# Hard time limit of outbox_dispatch_task; a claim older than this plus the reap margin is abandoned.
DISPATCH_TIME_LIMIT = 300

OutboxHandler = Callable[[OutboxMessage], None]
OUTBOX_HANDLERS: dict[str, OutboxHandler] = {}


def outbox_handler_register(topic: str, handler: OutboxHandler) -> None:
    """Say which function handles messages of `topic` (called from IncidentsConfig.ready())."""
    OUTBOX_HANDLERS[topic] = handler


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def outbox_add(*, topic: str, payload: dict, now: datetime | None = None) -> OutboxMessage:
    """Queue follow-up work; must be called inside the transaction that makes the change.

    Due at once by the wall clock, even when the caller runs on an injected clock (escalation tests,
    back-dated imports): the outbox is plumbing, not part of the incident's own timeline.
    """
    wall = timezone.now()
    return OutboxMessage.objects.create(topic=topic, payload=payload, next_attempt_at=wall, created_at=wall)


def outbox_relay_soon() -> None:
    """Ask a worker to relay the outbox now. Never raises: if the broker is down, the beat job relays later."""
    from .tasks import outbox_relay_task

    try:
        task_publish(outbox_relay_task)
    except Exception:
        logger.warning("Could not reach the broker; outbox messages stay pending for the periodic relay.",
                       exc_info=True)


class _RelayRequest(CommitRequest):
    def run(self) -> None:
        outbox_relay_soon()


def outbox_relay_on_commit() -> None:
    """Ask for the relay once the current transaction commits: one request per transaction, however many
    messages (a batch of alerts writes many; one relay task publishes them all). Outside a transaction the
    relay is asked for at once."""
    on_commit_join(_RelayRequest)


def incident_snapshot(incident: Incident) -> dict[str, Any]:
    """The incident as webhook receivers see it (also what outbox messages carry)."""
    return {
        "id": incident.pk,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity.slug,
        "system": incident.system.slug,
        "url": incident.get_absolute_url(),
        "created_at": incident.created_at.isoformat(),
        "acknowledged_at": incident.acknowledged_at.isoformat() if incident.acknowledged_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def incident_event_add(*, incident: Incident, event: str, now: datetime, extra: dict | None = None) -> OutboxMessage:
    payload = {"event": event, "incident": incident_snapshot(incident), "occurred_at": now.isoformat()}
    payload.update(extra or {})
    return outbox_add(topic=event, payload=payload, now=now)


@dataclass
class RelayResult:
    published: int = 0
    deferred: int = 0


def outbox_backoff(attempts: int) -> timedelta:
    base = settings.TRIAGE_OUTBOX_BACKOFF_SECONDS
    return timedelta(seconds=min(base * (2 ** max(attempts - 1, 0)), 3600))


def outbox_relay(*, now: datetime | None = None, limit: int = 200) -> RelayResult:
    """Publish due outbox messages to Celery (one dispatch task each).

    A message is claimed by pushing its next attempt one lease ahead (conditional UPDATE), so two relays
    never publish it twice at once and a lost task is retried after the lease. If the broker refuses,
    the message is pushed back by a backoff and the run stops (the broker is down for the rest too).
    """
    from .tasks import outbox_dispatch_task

    now = _now(now)
    result = RelayResult()
    due = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id").values_list("pk", "next_attempt_at")[:limit]
    )
    if not due:
        return result
    position = 0
    try:
        with broker_connection() as connection:
            for pk, next_attempt_at in due:
                claimed = OutboxMessage.objects.filter(
                    pk=pk, status=OutboxMessage.Status.PENDING, next_attempt_at=next_attempt_at,
                ).update(next_attempt_at=now + OUTBOX_LEASE)
                if claimed:
                    task_publish(outbox_dispatch_task, args=[pk], connection=connection)
                    result.published += 1
                position += 1  # messages before `position` are published (or were someone else's)
    except Exception as exc:
        logger.warning("Broker unavailable while relaying the outbox: %s", exc)
        remaining = [pk for pk, _ in due[position:]]
        result.deferred = OutboxMessage.objects.filter(pk__in=remaining, status=OutboxMessage.Status.PENDING).update(
            next_attempt_at=now + timedelta(seconds=settings.TRIAGE_OUTBOX_BACKOFF_SECONDS),
            last_error=f"broker: {exc}"[:1000])
    return result


def outbox_dispatch_lease() -> timedelta:
    """How long a worker's claim on a message holds: the dispatch task's time limit plus the reap margin."""
    return timedelta(seconds=DISPATCH_TIME_LIMIT + reap_margin_seconds())


def outbox_message_dispatch(*, message_id: int, now: datetime | None = None) -> str:
    """Handle one outbox message (idempotent: only a pending message is handled, then marked sent).

    The worker claims the message first (conditional UPDATE of ``claimed_at``), so a duplicate task (the
    relay publishing it again, Redis redelivering it) finds it "in progress" instead of sending the same
    notification twice. The claim also moves ``next_attempt_at`` past the lease: if this worker dies, the
    relay hands the message out again once the lease is over, and the next worker may take the stale claim.
    """
    now = _now(now)
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        return "missing"
    if message.status != OutboxMessage.Status.PENDING:
        return f"already {message.status}"
    handler = OUTBOX_HANDLERS.get(message.topic)
    if handler is None:
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.FAILED, attempts=message.attempts + 1,
            last_error=f"No handler for topic {message.topic}")
        return "failed"
    lease = outbox_dispatch_lease()
    # The attempt is counted when claimed, so a message whose handling keeps killing workers still runs
    # out of attempts.
    claimed = OutboxMessage.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - lease), pk=message.pk,
        status=OutboxMessage.Status.PENDING,
    ).update(claimed_at=now, next_attempt_at=now + lease, attempts=F("attempts") + 1)
    if not claimed:
        return "in progress"
    mine = OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING, claimed_at=now)
    attempts = OutboxMessage.objects.values_list("attempts", flat=True).get(pk=message.pk)
    if attempts > settings.TRIAGE_OUTBOX_MAX_ATTEMPTS:
        mine.update(status=OutboxMessage.Status.FAILED, claimed_at=None,
                    last_error=f"Gave up after {attempts - 1} attempts (workers stopped while handling it).")
        return "failed"
    try:
        # Not one transaction: a handler may run checks for seconds, which must not hold a write lock
        # (SQLite). Handlers are idempotent, so a crash before the message is marked sent is retried safely.
        handler(message)
        mine.update(status=OutboxMessage.Status.SENT, sent_at=now, attempts=attempts, last_error="",
                    claimed_at=None)
    except Exception as exc:
        logger.exception("Outbox message %s (%s) failed", message.pk, message.topic)
        final = attempts >= settings.TRIAGE_OUTBOX_MAX_ATTEMPTS
        mine.update(
            status=OutboxMessage.Status.FAILED if final else OutboxMessage.Status.PENDING,
            attempts=attempts, next_attempt_at=now + outbox_backoff(attempts), claimed_at=None,
            last_error=f"{type(exc).__name__}: {exc}"[:1000])
        return "failed" if final else "retry"
    return "sent"
