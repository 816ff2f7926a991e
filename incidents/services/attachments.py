"""Files attached to an incident: stored with size and hash, then logs and bundles are matched after commit."""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction

from .. import bundles, integrations
from ..models import Attachment, Incident, OutboxMessage, TimelineEvent
from ..outbox import TOPIC_ATTACHMENT, outbox_add, outbox_relay_on_commit
from .symptoms import symptom_hits_record
from .timeline import clock_now, signed_in_or_none, timeline_add

Kind = TimelineEvent.Kind

LOG_SUFFIXES = (".log", ".txt", ".out", ".err", ".trace", ".json", ".jsonl")


SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class Upload:
    """A file to attach: anything with a name and chunks (Django's UploadedFile, ContentFile, File)."""

    name: str
    file: File


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
    now = clock_now(now)
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
        content_type=(getattr(upload.file, "content_type", "") or "")[:120], uploaded_by=signed_in_or_none(actor),
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
            outbox_relay_on_commit()
    return attachment


def attachment_process(*, attachment_id: int, now: datetime | None = None) -> str:
    """Match a log attachment, or the log files inside a bundle; record matches on the timeline. Idempotent."""
    now = clock_now(now)
    attachment = Attachment.objects.select_related("incident").filter(pk=attachment_id).first()
    if attachment is None:
        return "missing"
    claimed = Attachment.objects.filter(pk=attachment_id, processed_at__isnull=True).update(processed_at=now)
    if not claimed:
        return "already processed"
    incident = attachment.incident
    result: dict[str, Any] = {}
    symptom_ids: list[int] = []
    with attachment.file.open("rb") as handle:
        if attachment.kind == Attachment.Kind.BUNDLE:
            report = bundles.BundleReport()
            try:
                for member, data in bundles.bundle_iter_text_members(
                    handle, filename=attachment.name, limits=bundle_limits(), report=report
                ):
                    hits = integrations.symptoms_match_bytes(data)
                    symptom_ids += symptom_hits_record(
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
            symptom_ids += symptom_hits_record(incident=incident, hits=integrations.symptoms_match_stream(handle),
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


def handle_attachment(message: OutboxMessage) -> None:
    attachment_process(attachment_id=message.payload["attachment_id"])
