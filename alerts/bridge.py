"""Every call this app makes into incidents and kb, in one place.

Thin wrappers only: nothing else in `alerts` imports incidents or kb modules (models are named by string),
so a change in those apps' service signatures is mended here.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from incidents import outbox
from incidents.models import OPEN_STATUSES, Incident, OutboxMessage, Severity, TimelineEvent
from incidents.services import lifecycle, timeline
from kb.models import Solution, Symptom, System

__all__ = ["OPEN_STATUSES", "Incident", "Severity", "Solution", "Symptom", "System"]

REPORTER_USERNAME = "alerts-bot"
TOPIC_ENRICH = "alert.enrich"
MITIGATED = Incident.Status.MITIGATED
INVESTIGATING = Incident.Status.INVESTIGATING
TRIAGE = Incident.Status.TRIAGE
Kind = TimelineEvent.Kind


def alert_reporter() -> AbstractBaseUser:
    """The account incidents opened by alerts are filed as (cannot log in)."""
    user, created = get_user_model().objects.get_or_create(username=REPORTER_USERNAME,
                                                           defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def incident_open(*, title: str, system: System, severity: Severity, what_happened: str, now: datetime) -> Incident:
    """File the incident (its own outbox messages: created event, report match, the system's checks)."""
    return lifecycle.incident_open(title=title, system=system, severity=severity, reporter=alert_reporter(),
                                           what_happened=what_happened, now=now)


def timeline_add(*, incident: Incident, message: str, data: dict | None = None, important: bool = False,
                 kind: str = Kind.NOTE, now: datetime | None = None) -> None:
    timeline.timeline_add(incident=incident, kind=kind, message=message, data=data, important=important,
                                   now=now)


def incident_acknowledge(*, incident: Incident, now: datetime) -> bool:
    """Triage -> investigating, as the sender asked; no commander is set (a person takes command)."""
    if incident.status != TRIAGE:
        return False
    return lifecycle.incident_transition(incident=incident, to_status=INVESTIGATING, actor=None,
                                                 note="acknowledged by the alert sender", now=now)


def incident_mitigate(*, incident: Incident, now: datetime) -> bool:
    """Every alert resolved: mitigated, not resolved (a person confirms the fix)."""
    if incident.status == MITIGATED or MITIGATED not in lifecycle.TRANSITIONS[incident.status]:
        return False
    return lifecycle.incident_transition(incident=incident, to_status=MITIGATED, actor=None,
                                                 note="every alert resolved", now=now)


def incident_reopen(*, incident: Incident, now: datetime) -> bool:
    """A mitigated incident whose alert fires again goes back to investigating."""
    if incident.status != MITIGATED:
        return False
    return lifecycle.incident_transition(incident=incident, to_status=INVESTIGATING, actor=None,
                                                 note="an alert fired again", now=now)


def outbox_enqueue(*, topic: str, payload: dict) -> None:
    """Queue follow-up work in the caller's transaction; the relay is asked for after commit."""
    outbox.outbox_add(topic=topic, payload=payload)
    outbox.outbox_relay_on_commit()


def outbox_handler_register(topic: str, handler: Callable[[OutboxMessage], None]) -> None:
    outbox.outbox_handler_register(topic, handler)


def symptoms_match(text: str) -> list[dict[str, Any]]:
    """Known symptoms in `text` with their ranked fixes: [{symptom_id, title, solutions: [{id, title}]}]."""
    from kb import matching

    try:
        result = matching.symptom_match_text(text=text)
    except matching.MatchInputError:
        return []
    return [
        {"symptom_id": match.symptom.pk, "title": match.symptom.title,
         "solutions": [{"id": item.solution.pk, "title": item.solution.title} for item in match.solutions[:3]]}
        for match in result.matches
    ]


def incident_symptoms_link(*, incident: Incident, symptom_ids: list[int]) -> None:
    incident.symptoms.add(*symptom_ids)


def hooks_install() -> None:
    """Fill the lower apps' registries (called from AlertsConfig.ready)."""
    from kb import hooks as kb_hooks

    from .tasks import alert_enrich_handler

    outbox_handler_register(TOPIC_ENRICH, alert_enrich_handler)
    kb_hooks.register_page_include("incident_detail", "alerts/partials/incident_alerts.html")
