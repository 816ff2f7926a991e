"""Writes for incidents. Every state change is a conditional UPDATE; follow-up work goes through the outbox.

The outbox: a service writes `OutboxMessage` rows in the same transaction as the change, then asks
(after commit, never inside the transaction) for the relay task. If the broker is down that request
is logged and dropped; the relay beat job finds the pending rows later. So a report is never lost
because Redis or the workers are away, and notifications go out when they come back.
"""

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import strip_tags

from kb.markdown import render_markdown
from kb.models import Article, Solution, System

from . import bundles, integrations
from .defaults import DEFAULT_ESCALATION_LEVELS, DEFAULT_SEVERITIES, RESPONDERS_GROUP
from .models import (
    ActionItem,
    Attachment,
    Comment,
    EscalationLevel,
    EscalationRecord,
    Incident,
    OutboxMessage,
    PostIncidentReview,
    Severity,
    TimelineEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from .webhooks import webhook_post

logger = logging.getLogger(__name__)

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

EVENT_CREATED = WebhookEndpoint.Event.CREATED.value
EVENT_ACKNOWLEDGED = WebhookEndpoint.Event.ACKNOWLEDGED.value
EVENT_ESCALATED = WebhookEndpoint.Event.ESCALATED.value
EVENT_RESOLVED = WebhookEndpoint.Event.RESOLVED.value
TOPIC_CHECKS = "incident.checks"
TOPIC_MATCH_REPORT = "incident.match_report"
TOPIC_ATTACHMENT = "attachment.process"

OUTBOX_LEASE = timedelta(minutes=5)
COMMENT_MAX_CHARS = 20_000


class TransitionError(ValidationError):
    """The requested status change is not allowed from the current status."""


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _user_or_none(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


# --- defaults -------------------------------------------------------------------------------

def severities_ensure_defaults() -> None:
    """Create the default severities, escalation levels and responders group if missing (idempotent)."""
    from django.contrib.auth.models import Group

    for name, slug, rank, response, escalation in DEFAULT_SEVERITIES:
        if not Severity.objects.filter(slug=slug).exists() and not Severity.objects.filter(rank=rank).exists():
            Severity.objects.create(name=name, slug=slug, rank=rank, response_target=response,
                                    escalation_target=escalation)
    for order, name in DEFAULT_ESCALATION_LEVELS:
        EscalationLevel.objects.get_or_create(order=order, defaults={"name": name})
    Group.objects.get_or_create(name=RESPONDERS_GROUP)


# --- timeline and outbox ----------------------------------------------------------------------

def timeline_add(
    *, incident: Incident, kind: str, message: str, data: dict | None = None, important: bool = False,
    actor: AbstractBaseUser | None = None, now: datetime | None = None,
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        incident=incident, kind=kind, message=message[:500], data=data or {}, important=important,
        actor=_user_or_none(actor), created_at=_now(now),
    )


def timeline_event_set_important(*, event: TimelineEvent, important: bool) -> bool:
    """Mark or unmark an event; returns whether anything changed."""
    changed = TimelineEvent.objects.filter(pk=event.pk).exclude(important=important).update(important=important)
    event.important = important
    return bool(changed)


def outbox_add(*, topic: str, payload: dict, now: datetime | None = None) -> OutboxMessage:
    """Queue follow-up work; must be called inside the transaction that makes the change.

    Due at once by the wall clock, even when the caller runs on an injected clock (escalation tests,
    back-dated imports): the outbox is plumbing, not part of the incident's own timeline.
    """
    wall = timezone.now()
    return OutboxMessage.objects.create(topic=topic, payload=payload, next_attempt_at=wall, created_at=wall)


@contextmanager
def broker_connection() -> Iterator[Any]:
    """A broker connection that fails fast (one quick retry), or None when tasks run eagerly.

    Kombu's defaults retry a dead broker for seconds; a web request filing an incident must not hang on that.
    """
    from config.celery import app

    if app.conf.task_always_eager:
        yield None
        return
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                                     timeout=2)
        yield connection


def task_publish(task: Any, *, args: list | tuple = (), connection: Any = None) -> None:
    """Queue a task without kombu's long publish retries; raises if the broker refuses."""
    if connection is None:
        with broker_connection() as fresh:
            task.apply_async(args=args, connection=fresh, retry=False)
        return
    task.apply_async(args=args, connection=connection, retry=False)


def outbox_relay_soon() -> None:
    """Ask a worker to relay the outbox now. Never raises: if the broker is down, the beat job relays later."""
    from .tasks import outbox_relay_task

    try:
        task_publish(outbox_relay_task)
    except Exception:
        logger.warning("Could not reach the broker; outbox messages stay pending for the periodic relay.",
                       exc_info=True)


def _after_commit_relay() -> None:
    transaction.on_commit(outbox_relay_soon)


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


def _event_add(*, incident: Incident, event: str, now: datetime, extra: dict | None = None) -> OutboxMessage:
    payload = {"event": event, "incident": incident_snapshot(incident), "occurred_at": now.isoformat()}
    payload.update(extra or {})
    return outbox_add(topic=event, payload=payload, now=now)


# --- filing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """A file to attach: anything with a name and chunks (Django's UploadedFile, ContentFile, File)."""

    name: str
    file: File


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
    now = _now(now)
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
        _event_add(incident=incident, event=EVENT_CREATED, now=now)
        outbox_add(topic=TOPIC_MATCH_REPORT, payload={"incident_id": incident.pk}, now=now)
        outbox_add(topic=TOPIC_CHECKS, payload={"incident_id": incident.pk, "reason": "filed"}, now=now)
        _after_commit_relay()
    return incident


def _content_file(text: str) -> File:
    from django.core.files.base import ContentFile

    return ContentFile(text.encode("utf-8"), name="pasted-logs.txt")


# --- lifecycle ------------------------------------------------------------------------------

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
    now = _now(now)
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
            Solution.objects.filter(pk=incident.resolved_by_solution_id, resolved_count__gt=0).update(
                resolved_count=F("resolved_count") - 1)
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
            _event_add(incident=incident, event=EVENT_ACKNOWLEDGED, now=now)
        if to_status == Status.RESOLVED:
            _event_add(incident=incident, event=EVENT_RESOLVED, now=now)
        _after_commit_relay()
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
    from .selectors import incident_failing_checks

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
            Solution.objects.filter(pk=solution.pk).update(resolved_count=F("resolved_count") + 1)
        for linked, label in ((article, "Article"), (solution, "Solution")):
            if linked is not None:
                timeline_add(incident=incident, kind=Kind.ARTICLE, actor=actor, now=now, important=True,
                             message=f"{label} that fixed it: {linked.title}",
                             data={label.lower() + "_id": linked.pk})
        if failing:
            timeline_add(incident=incident, kind=Kind.NOTE, actor=actor, now=now, important=True,
                         message=f"Resolved with {len(failing)} failing check(s): {override_reason}",
                         data={"failing_check_ids": [c["check_id"] for c in failing]})
        article_ids = [a.pk for a in ([article] if article else []) + (list(solution.articles.all()) if solution else [])]
        if article_ids:
            transaction.on_commit(lambda: integrations.ranking_refresh(article_ids=article_ids))
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
    now = _now(now)
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


# --- comments ----------------------------------------------------------------------------------

def incident_comment_add(
    *, incident: Incident, author: AbstractBaseUser, body: str, now: datetime | None = None
) -> Comment:
    """Markdown comment, rendered and sanitised once here; it also becomes a timeline event."""
    body = body.replace("\x00", "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > COMMENT_MAX_CHARS:
        raise ValidationError({"body": f"Comments are limited to {COMMENT_MAX_CHARS} characters."})
    now = _now(now)
    with transaction.atomic():
        comment = Comment.objects.create(incident=incident, author=author, body=body,
                                         body_html=render_markdown(body).html, created_at=now)
        excerpt = " ".join(strip_tags(comment.body_html).split())[:200]
        timeline_add(incident=incident, kind=Kind.COMMENT, actor=author, now=now, message=excerpt,
                     data={"comment_id": comment.pk})
        incident.participants.add(author)
    return comment


# --- attachments --------------------------------------------------------------------------------

LOG_SUFFIXES = (".log", ".txt", ".out", ".err", ".trace", ".json", ".jsonl")
SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._ -]+")


def attachment_kind(name: str) -> str:
    lowered = name.lower()
    if bundles.is_bundle_name(lowered):
        return Attachment.Kind.BUNDLE
    if lowered.endswith(LOG_SUFFIXES) or lowered.endswith(".gz") or re.search(r"\.log\.\d+$", lowered):
        return Attachment.Kind.LOG
    return Attachment.Kind.OTHER


def attachment_safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = SAFE_NAME_RE.sub("_", base).strip(" .") or "attachment"
    return cleaned[:200]


class AttachmentTooLarge(ValidationError):
    pass


def attachment_validate(*, upload: Upload) -> None:
    size = getattr(upload.file, "size", None)
    limit = settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES
    if size is not None and size > limit:
        raise AttachmentTooLarge({"attachments": f"{attachment_safe_name(upload.name)} is {size} bytes; "
                                                 f"the limit is {limit} bytes."})


def attachment_add(
    *, incident: Incident, upload: Upload, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Attachment:
    """Store a file with its size and SHA-256; logs and bundles are matched after commit via the outbox."""
    attachment_validate(upload=upload)
    now = _now(now)
    digest = hashlib.sha256()
    size = 0
    upload.file.seek(0)
    for chunk in upload.file.chunks():
        digest.update(chunk)
        size += len(chunk)
        if size > settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES:
            raise AttachmentTooLarge({"attachments": f"{attachment_safe_name(upload.name)} is larger than "
                                                     f"{settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES} bytes."})
    upload.file.seek(0)
    name = attachment_safe_name(upload.name)
    attachment = Attachment(
        incident=incident, name=name, size=size, sha256=digest.hexdigest(), kind=attachment_kind(name),
        content_type=(getattr(upload.file, "content_type", "") or "")[:120], uploaded_by=_user_or_none(actor),
        created_at=now,
    )
    with transaction.atomic():
        attachment.file.save(name, upload.file, save=False)
        attachment.save()
        timeline_add(incident=incident, kind=Kind.ATTACHMENT, actor=actor, now=now,
                     message=f"Attached {name} ({attachment.get_kind_display().lower()}, {size} bytes)",
                     data={"attachment_id": attachment.pk, "sha256": attachment.sha256})
        if attachment.kind != Attachment.Kind.OTHER:
            outbox_add(topic=TOPIC_ATTACHMENT, payload={"attachment_id": attachment.pk}, now=now)
            _after_commit_relay()
    return attachment


def _symptom_hits_record(
    *, incident: Incident, hits: list[integrations.SymptomHit], source: str, now: datetime
) -> list[int]:
    """Link matched symptoms to the incident; one timeline event per symptom newly seen in this source."""
    if not hits:
        return []
    from kb.models import Symptom

    existing = set(Symptom.objects.filter(pk__in=[h.symptom_id for h in hits]).values_list("pk", flat=True))
    hits = [h for h in hits if h.symptom_id in existing]
    already = set(incident.symptoms.values_list("pk", flat=True))
    incident.symptoms.add(*[h.symptom_id for h in hits])
    for hit in hits:
        lines = ", ".join(str(n) for n in hit.line_numbers[:8])
        timeline_add(
            incident=incident, kind=Kind.SYMPTOM, now=now, important=hit.symptom_id not in already,
            message=f"Matched symptom “{hit.title}” in {source}" + (f" (line {lines})" if lines else ""),
            data={"symptom_id": hit.symptom_id, "source": source, "lines": list(hit.line_numbers[:50]),
                  "excerpt": hit.excerpt, "articles": list(hit.articles)},
        )
    return [h.symptom_id for h in hits]


def attachment_process(*, attachment_id: int, now: datetime | None = None) -> str:
    """Match a log attachment, or the log files inside a bundle; record matches on the timeline. Idempotent."""
    now = _now(now)
    attachment = Attachment.objects.select_related("incident").filter(pk=attachment_id).first()
    if attachment is None:
        return "missing"
    claimed = Attachment.objects.filter(pk=attachment_id, processed_at__isnull=True).update(processed_at=now)
    if not claimed:
        return "already processed"
    incident = attachment.incident
    result: dict[str, Any] = {"matcher": "kb.matching" if integrations.matcher_available() else "fallback"}
    symptom_ids: list[int] = []
    with attachment.file.open("rb") as handle:
        if attachment.kind == Attachment.Kind.BUNDLE:
            report = bundles.BundleReport()
            try:
                for member, data in bundles.bundle_iter_text_members(
                    handle, filename=attachment.name, limits=bundle_limits(), report=report
                ):
                    hits = integrations.symptoms_match_bytes(data)
                    symptom_ids += _symptom_hits_record(
                        incident=incident, hits=hits, now=now,
                        source=f"{attachment.name}: {bundles.safe_display_name(member)}")
            except bundles.BundleError as exc:
                report.notices.append(str(exc))
            result["bundle"] = report.as_dict()
            summary = (f"Unpacked {attachment.name}: scanned {len(report.scanned)} file(s), "
                       f"skipped {len(report.skipped)}")
            if report.notices:
                summary += f"; {report.notices[0]}"
            timeline_add(incident=incident, kind=Kind.ATTACHMENT, now=now, message=summary,
                         important=bool(report.notices) or any(s["reason"] in ("path traversal", "absolute path",
                                                                               "link") for s in report.skipped),
                         data={"attachment_id": attachment.pk, **result["bundle"]})
        else:
            symptom_ids += _symptom_hits_record(incident=incident, hits=integrations.symptoms_match_stream(handle),
                                                source=attachment.name, now=now)
    result["symptom_ids"] = sorted(set(symptom_ids))
    Attachment.objects.filter(pk=attachment.pk).update(result=result)
    return f"{len(result['symptom_ids'])} symptom(s)"


def bundle_limits() -> bundles.BundleLimits:
    return bundles.BundleLimits(
        max_files=settings.TRIAGE_BUNDLE_MAX_FILES,
        max_total_bytes=settings.TRIAGE_BUNDLE_MAX_TOTAL_BYTES,
        max_member_bytes=settings.TRIAGE_BUNDLE_MAX_MEMBER_BYTES,
    )


def incident_report_match(*, incident_id: int, now: datetime | None = None) -> str:
    """Match the report's own text (what happened, steps) against known symptoms."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return "missing"
    text = "\n".join([incident.title, incident.what_happened, incident.steps_to_reproduce])
    ids = _symptom_hits_record(incident=incident, hits=integrations.symptoms_match_text(text),
                               source="the report", now=_now(now))
    return f"{len(ids)} symptom(s)"


# --- checks ---------------------------------------------------------------------------------

def incident_checks_run(
    *, incident: Incident, check_ids: Iterable[int] | None = None, actor: AbstractBaseUser | None = None,
    reason: str = "filed", now: datetime | None = None,
) -> list[integrations.CheckOutcome]:
    """Run checks (by default all of the system's) and put each result on the timeline."""
    ids = list(check_ids) if check_ids is not None else integrations.system_check_ids(incident.system)
    outcomes = integrations.checks_run(ids, requested_by=actor)
    now = _now(now)
    for outcome in outcomes:
        timeline_add(
            incident=incident, kind=Kind.CHECK, actor=actor, now=now, important=not outcome.passing,
            message=f"Check “{outcome.name}”: {outcome.state.upper()} — {outcome.message}"[:500],
            data={"check_id": outcome.check_id, "state": outcome.state, "run_id": outcome.run_id,
                  "reason": reason},
        )
    return outcomes


def incident_verify(
    *, incident: Incident, actor: AbstractBaseUser, now: datetime | None = None
) -> list[integrations.CheckOutcome]:
    """"Verify fix": re-run the checks that are failing now; returns their new outcomes."""
    from .selectors import incident_failing_checks

    failing = [c["check_id"] for c in incident_failing_checks(incident=incident)]
    if not failing:
        return []
    return incident_checks_run(incident=incident, check_ids=failing, actor=actor, reason="verify", now=now)


# --- escalation ------------------------------------------------------------------------------

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
                                                     manual=manual, actor=_user_or_none(actor))
            why = "by hand" if manual else f"not acknowledged within the {incident.severity.name} target"
            timeline_add(incident=incident, kind=Kind.ESCALATION, actor=actor, now=now, important=True,
                         message=f"Escalated to {level.name} ({why})",
                         data={"level_id": level.pk, "level": level.name, "order": level.order, "manual": manual})
            _event_add(incident=incident, event=EVENT_ESCALATED, now=now,
                       extra={"level": {"id": level.pk, "name": level.name, "order": level.order}})
            _after_commit_relay()
    except IntegrityError:
        return None  # another run notified this level first: once per level
    return record


def incidents_escalate_due(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Escalate every unacknowledged incident that is past its targets; returns (incident id, level order).

    Called by a beat job; `now` is injectable so tests control the clock. Each level is notified once
    per incident (unique constraint); acknowledging (leaving triage) stops further escalation.
    """
    now = _now(now)
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
    return _escalate(incident=incident, level=level, now=_now(now), actor=actor, manual=True)


# --- outbox relay and handlers -------------------------------------------------------------------

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


def outbox_message_dispatch(*, message_id: int, now: datetime | None = None) -> str:
    """Handle one outbox message (idempotent: only a pending message is handled, then marked sent)."""
    now = _now(now)
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        return "missing"
    if message.status != OutboxMessage.Status.PENDING:
        return f"already {message.status}"
    handler = OUTBOX_HANDLERS.get(message.topic)
    attempts = message.attempts + 1
    if handler is None:
        OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.FAILED, attempts=attempts,
                                                           last_error=f"No handler for topic {message.topic}")
        return "failed"
    try:
        # Not one transaction: a handler may run checks for seconds, which must not hold a write lock
        # (SQLite). Handlers are idempotent, so a crash before the message is marked sent is retried safely.
        handler(message)
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING).update(
            status=OutboxMessage.Status.SENT, sent_at=now, attempts=attempts, last_error="")
    except Exception as exc:
        logger.exception("Outbox message %s (%s) failed", message.pk, message.topic)
        final = attempts >= settings.TRIAGE_OUTBOX_MAX_ATTEMPTS
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING).update(
            status=OutboxMessage.Status.FAILED if final else OutboxMessage.Status.PENDING,
            attempts=attempts, next_attempt_at=now + outbox_backoff(attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:1000])
        return "failed" if final else "retry"
    return "sent"


def _notification_recipients(*, incident: Incident | None, event: str, payload: dict) -> list[str]:
    recipients = list(settings.TRIAGE_INCIDENT_NOTIFY_EMAILS)
    if event == EVENT_ESCALATED:
        level = EscalationLevel.objects.filter(pk=payload.get("level", {}).get("id")).first()
        recipients = [level.email] if level and level.email else []
    elif event in (EVENT_ACKNOWLEDGED, EVENT_RESOLVED) and incident and incident.reporter and incident.reporter.email:
        recipients.append(incident.reporter.email)
    return sorted(set(filter(None, recipients)))


def _handle_incident_event(message: OutboxMessage) -> None:
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


def _handle_checks(message: OutboxMessage) -> None:
    incident = Incident.objects.select_related("system").filter(pk=message.payload["incident_id"]).first()
    if incident is not None:
        incident_checks_run(incident=incident, reason=message.payload.get("reason", "filed"))


def _handle_match_report(message: OutboxMessage) -> None:
    incident_report_match(incident_id=message.payload["incident_id"])


def _handle_attachment(message: OutboxMessage) -> None:
    attachment_process(attachment_id=message.payload["attachment_id"])


OUTBOX_HANDLERS: dict[str, Callable[[OutboxMessage], None]] = {
    EVENT_CREATED: _handle_incident_event,
    EVENT_ACKNOWLEDGED: _handle_incident_event,
    EVENT_ESCALATED: _handle_incident_event,
    EVENT_RESOLVED: _handle_incident_event,
    TOPIC_CHECKS: _handle_checks,
    TOPIC_MATCH_REPORT: _handle_match_report,
    TOPIC_ATTACHMENT: _handle_attachment,
}


# --- webhooks ----------------------------------------------------------------------------------

def webhook_backoff_seconds(attempt: int) -> int:
    """Delay before attempt `attempt + 1`: base, 2x base, 4x base, ... capped at an hour."""
    return min(settings.TRIAGE_WEBHOOK_BACKOFF_SECONDS * (2 ** max(attempt - 1, 0)), 3600)


def webhook_delivery_enqueue(*, delivery_id: int) -> None:
    """Queue a delivery; a broker outage leaves it pending for `webhook_deliveries_requeue`."""
    from .tasks import webhook_delivery_send_task

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
    now = _now(now)
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
    # Chat formats (issue 12): Slack/Teams endpoints get a message built from the incident, not the event JSON.
    from .webhook_formats import delivery_body
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
    now = _now(now)
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
                               created_by=_user_or_none(created_by), format=format)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


# --- review --------------------------------------------------------------------------------------

def review_draft(*, incident: Incident) -> dict[str, str]:
    """A starting point built from the important timeline events (the reviewer edits it)."""
    events = incident.timeline.filter(important=True).order_by("created_at", "id")
    lines = [f"- {timezone.localtime(e.created_at):%Y-%m-%d %H:%M} {e.message}" for e in events]
    summary = f"{incident.title} on {incident.system.name} ({incident.severity.name})."
    if incident.resolved_at:
        summary += f" Open for {_duration_words(incident.resolved_at - incident.created_at)}."
    return {"summary": summary + "\n\nKey events:\n" + "\n".join(lines), "root_cause": "",
            "contributing_factors": "", "lessons": ""}


def _duration_words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"


def review_save(
    *, incident: Incident, author: AbstractBaseUser, summary: str, root_cause: str, contributing_factors: str,
    lessons: str = "", now: datetime | None = None,
) -> PostIncidentReview:
    with transaction.atomic():
        review, created = PostIncidentReview.objects.get_or_create(incident=incident, defaults={"author": author})
        review.summary, review.root_cause = summary.strip(), root_cause.strip()
        review.contributing_factors, review.lessons = contributing_factors.strip(), lessons.strip()
        review.full_clean()
        review.save()
        timeline_add(incident=incident, kind=Kind.REVIEW, actor=author, now=now,
                     message="Post-incident review written" if created else "Post-incident review updated")
    return review


def action_item_add(
    *, review: PostIncidentReview, title: str, owner: AbstractBaseUser | None = None, due_date: Any = None,
) -> ActionItem:
    item = ActionItem(review=review, title=title.strip(), owner=owner, due_date=due_date)
    item.full_clean()
    item.save()
    return item


def action_item_set_done(*, item: ActionItem, done: bool, now: datetime | None = None) -> bool:
    changed = ActionItem.objects.filter(pk=item.pk, done=not done).update(
        done=done, done_at=_now(now) if done else None)
    item.refresh_from_db()
    return bool(changed)


def idempotency_prune(*, now: datetime | None = None) -> int:
    """Forget Idempotency-Key responses older than the retention (clients retry within minutes)."""
    from .models import IdempotencyKey

    cutoff = _now(now) - timedelta(hours=settings.TRIAGE_IDEMPOTENCY_HOURS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]


