"""Chat-ready bodies for outgoing webhooks: Slack / Mattermost incoming-webhook messages and Microsoft
Teams Adaptive Cards. The formatters are pure (incident snapshot + top fix -> payload dict);
`delivery_body` is the one place the delivery code asks which body to send.
"""

from typing import Any

from django.conf import settings

from . import integrations
from .models import Incident, WebhookDelivery, WebhookEndpoint

Format = WebhookEndpoint.Format
VERBS = {"incident.created": "New incident", "incident.acknowledged": "Acknowledged",
         "incident.escalated": "Escalated", "incident.resolved": "Resolved"}


def _link(snapshot: dict[str, Any]) -> str:
    return settings.TRIAGE_BASE_URL.rstrip("/") + snapshot.get("url", "")


def _headline(event: str, snapshot: dict[str, Any]) -> str:
    return f"{VERBS.get(event, event)}: #{snapshot.get('id')} {snapshot.get('title', '')}"


def slack_message(*, event: str, incident: dict[str, Any], top_fix: dict[str, Any] | None) -> dict[str, Any]:
    """A Slack (and Mattermost, which reads the same `text`) incoming-webhook message with blocks."""
    headline = _headline(event, incident)
    fix = f"*Top fix:* {top_fix['title']}" if top_fix else "*Top fix:* none known yet"
    if top_fix and top_fix.get("symptom"):
        fix += f" (for “{top_fix['symptom']}”)"
    return {
        "text": f"{headline} — {incident.get('severity')} on {incident.get('system')}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": f"*Severity:* {incident.get('severity')}"},
                {"type": "mrkdwn", "text": f"*System:* {incident.get('system')}"},
                {"type": "mrkdwn", "text": f"*Status:* {incident.get('status')}"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": fix[:3000]}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": _link(incident)},
            ]},
        ],
    }


def teams_card(*, event: str, incident: dict[str, Any], top_fix: dict[str, Any] | None) -> dict[str, Any]:
    """A Microsoft Teams message carrying one Adaptive Card (schema 1.4)."""
    facts = [{"title": "Severity", "value": str(incident.get("severity"))},
             {"title": "System", "value": str(incident.get("system"))},
             {"title": "Status", "value": str(incident.get("status"))},
             {"title": "Top fix", "value": top_fix["title"] if top_fix else "none known yet"}]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [{"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": True,
                  "text": _headline(event, incident)},
                 {"type": "FactSet", "facts": facts}],
        "actions": [{"type": "Action.OpenUrl", "title": "Open incident", "url": _link(incident)}],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def incident_top_fix(incident: Incident) -> dict[str, Any] | None:
    """The best-ranked solution of the incident's matched symptoms: {"title", "symptom"}.

    A new incident's notification can leave before the worker matched its report, so with no symptoms
    linked yet the report text is matched here.
    """
    from kb.models import SymptomSolution

    symptom_ids = list(incident.symptoms.values_list("pk", flat=True))
    if not symptom_ids:
        text = "\n".join([incident.title, incident.what_happened])
        symptom_ids = [hit.symptom_id for hit in integrations.symptoms_match_text(text)]
    if not symptom_ids:
        return None
    link = (SymptomSolution.objects.filter(symptom_id__in=symptom_ids).select_related("solution", "symptom")
            .order_by("-solution__resolved_count", "rank", "solution__title").first())
    if link is None:
        return None
    return {"title": link.solution.title, "symptom": link.symptom.title, "solution_id": link.solution_id}


FORMATTERS = {Format.SLACK: slack_message, Format.TEAMS: teams_card}


def delivery_body(delivery: WebhookDelivery) -> dict[str, Any]:
    """What to POST for this delivery: the stored event payload, or a chat message built from it."""
    endpoint = delivery.endpoint
    formatter = FORMATTERS.get(endpoint.format) if endpoint is not None else None
    if formatter is None:
        return delivery.payload
    snapshot = delivery.payload.get("incident", {})
    incident = Incident.objects.filter(pk=snapshot.get("id")).first()
    top_fix = incident_top_fix(incident) if incident is not None else None
    return formatter(event=delivery.event, incident=snapshot, top_fix=top_fix)
