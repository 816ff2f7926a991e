"""Escalating unacknowledged incidents, level by level, by the clock or by hand."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ..models import EscalationLevel, EscalationRecord, Incident, Severity, TimelineEvent
from ..outbox import EVENT_ESCALATED, incident_event_add, outbox_relay_on_commit
from .timeline import clock_now, signed_in_or_none, timeline_add

Status = Incident.Status
Kind = TimelineEvent.Kind


def escalation_levels_due(*, severity: Severity, opened_at: datetime, now: datetime) -> int:
    """How many levels should have been notified by `now`.

    Level 1 at the response target; then one more level at every multiple of the escalation target
    (critical by default: 5 min, 15 min, 30 min, ...). No escalation target: level 1 only.
    """
    elapsed = now - opened_at
    if elapsed < severity.response_target:
        return 0
    if not severity.escalation_target:
        return 1
    return 1 + int(elapsed / severity.escalation_target)


def _escalate(
    *, incident: Incident, level: EscalationLevel, now: datetime, actor: AbstractBaseUser | None, manual: bool
) -> EscalationRecord | None:
    try:
        with transaction.atomic():
            record = EscalationRecord.objects.create(incident=incident, level=level, notified_at=now,
                                                     manual=manual, actor=signed_in_or_none(actor))
            why = "by hand" if manual else f"not acknowledged within the {incident.severity.name} target"
            timeline_add(incident=incident, kind=Kind.ESCALATION, actor=actor, now=now, important=True,
                         message=f"Escalated to {level.name} ({why})",
                         data={"level_id": level.pk, "level": level.name, "order": level.order, "manual": manual})
            incident_event_add(incident=incident, event=EVENT_ESCALATED, now=now,
                       extra={"level": {"id": level.pk, "name": level.name, "order": level.order}})
            outbox_relay_on_commit()
    except IntegrityError:
        return None  # another run notified this level first: once per level
    return record


def incidents_escalate_due(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Escalate every unacknowledged incident that is past its targets; returns (incident id, level order).

    Called by a beat job; `now` is injectable so tests control the clock. Each level is notified once
    per incident (unique constraint); acknowledging (leaving triage) stops further escalation.
    """
    now = clock_now(now)
    levels = list(EscalationLevel.objects.filter(active=True).order_by("order"))
    if not levels:
        return []
    shortest = Severity.objects.order_by("response_target").values_list("response_target", flat=True).first()
    if shortest is None:
        return []
    candidates = (
        Incident.objects.filter(status=Status.TRIAGE, acknowledged_at__isnull=True, created_at__lte=now - shortest)
        .select_related("severity", "system")
        .prefetch_related("escalations")
        .order_by("created_at")
    )
    done: list[tuple[int, int]] = []
    for incident in candidates.iterator(chunk_size=200):
        due = min(escalation_levels_due(severity=incident.severity, opened_at=incident.created_at, now=now),
                  len(levels))
        notified = {record.level_id for record in incident.escalations.all()}
        for level in levels[:due]:
            if level.pk in notified:
                continue
            # Re-check just before notifying: an acknowledgement may have landed since the query.
            if not Incident.objects.filter(pk=incident.pk, status=Status.TRIAGE).exists():
                break
            if _escalate(incident=incident, level=level, now=now, actor=None, manual=False):
                done.append((incident.pk, level.order))
    return done


def incident_escalate(
    *, incident: Incident, actor: AbstractBaseUser, now: datetime | None = None
) -> EscalationRecord | None:
    """Escalate by hand to the next level not yet notified; None when every level already was."""
    if not incident.is_open:
        raise ValidationError(f"A {incident.get_status_display().lower()} incident cannot be escalated.")
    notified = set(incident.escalations.values_list("level_id", flat=True))
    level = EscalationLevel.objects.filter(active=True).exclude(pk__in=notified).order_by("order").first()
    if level is None:
        return None
    return _escalate(incident=incident, level=level, now=clock_now(now), actor=actor, manual=True)
