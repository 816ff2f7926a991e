"""Filing an incident and moving it through its statuses (triage, investigating, ... closed).

Every state change is a conditional UPDATE; follow-up work (notifications, checks, matching) goes
through the outbox in the same transaction.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce

from kb.models import Article, Solution, System
from kb.services import solution_resolved_count_adjust

from ..models import Incident, Severity, TimelineEvent
from ..outbox import (
    EVENT_ACKNOWLEDGED,
    EVENT_CREATED,
    EVENT_RESOLVED,
    TOPIC_CHECKS,
    TOPIC_MATCH_REPORT,
    incident_event_add,
    outbox_add,
    outbox_relay_on_commit,
)
from ..selectors import incident_failing_checks
from .attachments import Upload, attachment_add, attachment_validate
from .timeline import clock_now, timeline_add

Status = Incident.Status
Kind = TimelineEvent.Kind

# Allowed moves. Resolved can be reopened (the fix did not hold); closed, cancelled and duplicate are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.TRIAGE: frozenset({Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED, Status.CANCELLED,
                              Status.DUPLICATE}),
    Status.INVESTIGATING: frozenset({Status.MITIGATED, Status.RESOLVED, Status.CANCELLED, Status.DUPLICATE}),
    Status.MITIGATED: frozenset({Status.INVESTIGATING, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.DUPLICATE: frozenset(),
}
# Leaving triage for real work counts as the response (MTTA); cancelling a report does not.
ACKNOWLEDGING = frozenset({Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED})


class TransitionError(ValidationError):
    """The requested status change is not allowed from the current status."""


def incident_open(
    *,
    title: str,
    system: System,
    severity: Severity,
    reporter: AbstractBaseUser,
    what_happened: str,
    expected: str = "",
    steps_to_reproduce: str = "",
    env_os: str = "",
    env_runtime: str = "",
    env_deployment: str = "",
    env_app_version: str = "",
    pasted_logs: str = "",
    transcript: str = "",
    uploads: Iterable[Upload] = (),
    now: datetime | None = None,
) -> Incident:
    """File an incident: one transaction writes it, its timeline, attachments and outbox messages.

    The broker is never touched inside the transaction; notifications, the system's checks and
    matching run from the outbox after commit.
    """
    now = clock_now(now)
    incident = Incident(
        title=title.strip(), system=system, severity=severity, reporter=reporter,
        what_happened=what_happened.strip(), expected=expected.strip(),
        steps_to_reproduce=steps_to_reproduce.strip(), env_os=env_os.strip(), env_runtime=env_runtime.strip(),
        env_deployment=env_deployment, env_app_version=env_app_version.strip(), created_at=now,
    )
    incident.full_clean()
    uploads = list(uploads)
    for upload in uploads:
        attachment_validate(upload=upload)
    with transaction.atomic():
        incident.save()
        incident.participants.add(reporter)
        timeline_add(incident=incident, kind=Kind.CREATED, actor=reporter, now=now, important=True,
                     message=f"Filed by {reporter.get_username()} as {severity.name} on {system.name}")
        if transcript.strip():
            timeline_add(incident=incident, kind=Kind.TRANSCRIPT, actor=reporter, now=now,
                         message="Walkthrough transcript attached to the report",
                         data={"transcript": transcript.strip()[:20_000]})
        if pasted_logs.strip():
            uploads.insert(0, Upload(name="pasted-logs.txt",
                                     file=_content_file(pasted_logs.replace("\x00", ""))))
        for upload in uploads:
            attachment_add(incident=incident, upload=upload, actor=reporter, now=now)
        incident_event_add(incident=incident, event=EVENT_CREATED, now=now)
        outbox_add(topic=TOPIC_MATCH_REPORT, payload={"incident_id": incident.pk}, now=now)
        outbox_add(topic=TOPIC_CHECKS, payload={"incident_id": incident.pk, "reason": "filed"}, now=now)
        outbox_relay_on_commit()
    return incident


def _content_file(text: str) -> File:
    from django.core.files.base import ContentFile

    return ContentFile(text.encode("utf-8"), name="pasted-logs.txt")


def incident_transition(
    *,
    incident: Incident,
    to_status: str,
    actor: AbstractBaseUser | None,
    note: str = "",
    duplicate_of: Incident | None = None,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Move `incident` from the status it was loaded with to `to_status`.

    Returns False, changing nothing, when someone else changed the status first (the conditional
    UPDATE matched no row); raises TransitionError for a move the lifecycle does not allow.
    """
    now = clock_now(now)
    current = incident.status
    if to_status not in Status.values:
        raise TransitionError({"status": f"Unknown status '{to_status}'."})
    if to_status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        raise TransitionError({"status": f"Cannot move from {current} to {to_status}; allowed: {allowed}."})
    updates: dict[str, Any] = {"status": to_status, "updated_at": now, **(extra or {})}
    stamp = Value(now, output_field=DateTimeField())
    if current == Status.TRIAGE and to_status in ACKNOWLEDGING:
        updates["acknowledged_at"] = Coalesce(F("acknowledged_at"), stamp)
    if to_status in (Status.MITIGATED, Status.RESOLVED):
        updates["mitigated_at"] = Coalesce(F("mitigated_at"), stamp)
    if to_status == Status.RESOLVED:
        updates["resolved_at"] = now
    if to_status in (Status.CLOSED, Status.CANCELLED, Status.DUPLICATE):
        updates["closed_at"] = now
    if to_status == Status.DUPLICATE:
        if duplicate_of is None or duplicate_of.pk == incident.pk:
            raise TransitionError({"duplicate_of": "Say which other incident this one duplicates."})
        updates["duplicate_of"] = duplicate_of
    reopening = current == Status.RESOLVED and to_status == Status.INVESTIGATING
    if reopening:
        # The fix did not hold: the resolution no longer counts for ranking.
        updates.update(resolved_at=None, resolved_by_article=None, resolved_by_solution=None)
    with transaction.atomic():
        changed = Incident.objects.filter(pk=incident.pk, status=current).update(**updates)
        if not changed:
            return False
        if reopening and incident.resolved_by_solution_id:
            solution_resolved_count_adjust(solution_id=incident.resolved_by_solution_id, delta=-1)
        incident.refresh_from_db()
        message = f"Status {Status(current).label} → {Status(to_status).label}"
        if to_status == Status.DUPLICATE and duplicate_of is not None:
            message += f" (duplicate of #{duplicate_of.pk})"
        timeline_add(incident=incident, kind=Kind.STATUS, actor=actor, now=now,
                     important=to_status in (Status.MITIGATED, Status.RESOLVED),
                     message=message + (f": {note.strip()}" if note.strip() else ""),
                     data={"from": current, "to": to_status})
        if actor is not None and actor.is_authenticated:
            incident.participants.add(actor)
        if current == Status.TRIAGE and to_status in ACKNOWLEDGING:
            incident_event_add(incident=incident, event=EVENT_ACKNOWLEDGED, now=now)
        if to_status == Status.RESOLVED:
            incident_event_add(incident=incident, event=EVENT_RESOLVED, now=now)
        outbox_relay_on_commit()
    return True


def incident_acknowledge(*, incident: Incident, actor: AbstractBaseUser, now: datetime | None = None) -> bool:
    """Triage -> investigating; the first responder to acknowledge becomes commander. Stops escalation."""
    if incident.status != Status.TRIAGE:
        return False
    extra = {} if incident.commander_id else {"commander": actor}
    return incident_transition(incident=incident, to_status=Status.INVESTIGATING, actor=actor, extra=extra,
                               note="acknowledged", now=now)


def incident_resolve(
    *,
    incident: Incident,
    actor: AbstractBaseUser,
    article: Article | None = None,
    solution: Solution | None = None,
    note: str = "",
    override_reason: str = "",
    now: datetime | None = None,
) -> bool:
    """Resolve, linking what fixed it. Checks that were failing must pass first, or be overridden with a reason."""
    failing = incident_failing_checks(incident=incident)
    override_reason = override_reason.strip()
    if failing and not override_reason:
        names = ", ".join(c["name"] for c in failing[:5])
        raise ValidationError({"override_reason": (
            f"{len(failing)} check(s) still failing ({names}). Run “Verify fix” until they pass, "
            "or give a reason to resolve anyway.")})
    extra: dict[str, Any] = {"resolution_note": note.strip()}
    if article is not None:
        extra["resolved_by_article"] = article
    if solution is not None:
        extra["resolved_by_solution"] = solution
    if failing:
        extra["checks_override_reason"] = override_reason
    with transaction.atomic():
        changed = incident_transition(incident=incident, to_status=Status.RESOLVED, actor=actor, extra=extra,
                                      now=now, note=note)
        if not changed:
            return False
        if solution is not None:
            solution_resolved_count_adjust(solution_id=solution.pk, delta=1)
        for linked, label in ((article, "Article"), (solution, "Solution")):
            if linked is not None:
                timeline_add(incident=incident, kind=Kind.ARTICLE, actor=actor, now=now, important=True,
                             message=f"{label} that fixed it: {linked.title}",
                             data={label.lower() + "_id": linked.pk})
        if failing:
            timeline_add(incident=incident, kind=Kind.NOTE, actor=actor, now=now, important=True,
                         message=f"Resolved with {len(failing)} failing check(s): {override_reason}",
                         data={"failing_check_ids": [c["check_id"] for c in failing]})
    return True


EDITABLE_FIELDS = ("title", "severity", "system", "commander", "what_happened", "expected",
                   "steps_to_reproduce", "env_os", "env_runtime", "env_deployment", "env_app_version")


def incident_update(
    *, incident: Incident, actor: AbstractBaseUser, now: datetime | None = None, **fields: Any
) -> list[str]:
    """Change fields; each change becomes a timeline event. Returns the names of the changed fields."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} here.")
    now = clock_now(now)
    changes: list[tuple[str, str, str]] = []
    for name, value in fields.items():
        old = getattr(incident, name)
        if isinstance(value, str):
            value = value.strip()
        if old != value:
            changes.append((name, str(old or "—"), str(value or "—")))
            setattr(incident, name, value)
    if not changes:
        return []
    incident.full_clean()
    with transaction.atomic():
        incident.updated_at = now
        incident.save(update_fields=[name for name, _, _ in changes] + ["updated_at"])
        for name, old, new in changes:
            label = Incident._meta.get_field(name).verbose_name
            short = name not in ("what_happened", "expected", "steps_to_reproduce")
            timeline_add(incident=incident, kind=Kind.FIELD, actor=actor, now=now,
                         important=name in ("severity", "commander"),
                         message=f"{label.capitalize()}: {old} → {new}" if short else f"{label.capitalize()} edited",
                         data={"field": name, "from": old[:500], "to": new[:500]})
    return [name for name, _, _ in changes]


def incident_people_set(
    *, incident: Incident, actor: AbstractBaseUser, assignees: Iterable[AbstractBaseUser] | None = None,
    participants: Iterable[AbstractBaseUser] | None = None, now: datetime | None = None,
) -> None:
    with transaction.atomic():
        for relation, people in (("assignees", assignees), ("participants", participants)):
            if people is None:
                continue
            people = list(people)
            manager = getattr(incident, relation)
            before = set(manager.values_list("pk", flat=True))
            after = {p.pk for p in people}
            if before == after:
                continue
            manager.set(people)
            names = ", ".join(sorted(p.get_username() for p in people)) or "nobody"
            timeline_add(incident=incident, kind=Kind.FIELD, actor=actor, now=now,
                         message=f"{relation.capitalize()}: {names}", data={"field": relation, "to": sorted(after)})
