"""Fanning an incident event out: one webhook delivery per subscribed endpoint, and email."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from ..models import (
    EscalationLevel,
    Incident,
    OutboxMessage,
    TimelineEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..outbox import EVENT_ACKNOWLEDGED, EVENT_ESCALATED, EVENT_RESOLVED
from .timeline import timeline_add
from .webhooks import webhook_delivery_enqueue

Kind = TimelineEvent.Kind


def _notification_recipients(*, incident: Incident | None, event: str, payload: dict) -> list[str]:
    recipients = list(settings.TRIAGE_INCIDENT_NOTIFY_EMAILS)
    if event == EVENT_ESCALATED:
        level = EscalationLevel.objects.filter(pk=payload.get("level", {}).get("id")).first()
        recipients = [level.email] if level and level.email else []
    elif event in (EVENT_ACKNOWLEDGED, EVENT_RESOLVED) and incident and incident.reporter and incident.reporter.email:
        recipients.append(incident.reporter.email)
    return sorted(set(filter(None, recipients)))


def handle_incident_event(message: OutboxMessage) -> None:
    """Fan an incident event out: one webhook delivery per subscribed endpoint (and the level's hook), then email."""
    event = message.topic
    payload = message.payload
    incident = Incident.objects.select_related("reporter").filter(pk=payload["incident"]["id"]).first()
    deliveries: list[WebhookDelivery] = []
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if endpoint.wants(event):
            deliveries.append(WebhookDelivery.objects.get_or_create(
                outbox_message=message, endpoint=endpoint,
                defaults={"event": event, "url": endpoint.url, "payload": payload})[0])
    if event == EVENT_ESCALATED:
        level = EscalationLevel.objects.filter(pk=payload.get("level", {}).get("id")).first()
        if level is not None and level.webhook_url:
            deliveries.append(WebhookDelivery.objects.get_or_create(
                outbox_message=message, escalation_level=level,
                defaults={"event": event, "url": level.webhook_url, "payload": payload})[0])
    for delivery in deliveries:
        if delivery.status == WebhookDelivery.Status.PENDING:
            transaction.on_commit(lambda pk=delivery.pk: webhook_delivery_enqueue(delivery_id=pk))
    recipients = _notification_recipients(incident=incident, event=event, payload=payload)
    if recipients:
        snapshot = payload["incident"]
        verb = event.split(".", 1)[1]
        level = payload.get("level", {}).get("name")
        subject = f"[Triage] #{snapshot['id']} {verb}{f' to {level}' if level else ''}: {snapshot['title']}"[:200]
        body = (f"Incident #{snapshot['id']} {verb}.\n\nTitle: {snapshot['title']}\nSeverity: {snapshot['severity']}\n"
                f"System: {snapshot['system']}\nStatus: {snapshot['status']}\n\n"
                f"{settings.TRIAGE_BASE_URL.rstrip('/')}{snapshot['url']}\n")
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
        if incident is not None:
            timeline_add(incident=incident, kind=Kind.NOTIFICATION, message=f"Emailed {', '.join(recipients)} ({verb})",
                         data={"event": event, "recipients": recipients})
