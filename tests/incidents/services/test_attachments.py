"""Attached logs and bundles are matched after commit, and the matches land on the timeline."""

import io
import tarfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from incidents.models import Attachment, TimelineEvent
from incidents.services.attachments import Upload, attachment_add, attachment_process
from tests.factories import SignatureFactory, SymptomFactory

pytestmark = pytest.mark.django_db
LOG = b"2024-05-01 12:00:01 INFO starting\n2024-05-01 12:00:02 ERROR sqlite3.OperationalError: database is locked\n"


@pytest.fixture
def locked_symptom(system):
    symptom = SymptomFactory(system=system, title="SQLite database is locked")
    SignatureFactory(symptom=symptom, text="sqlite3.OperationalError: database is locked")
    return symptom


def upload(name: str, data: bytes) -> Upload:
    return Upload(name=name, file=ContentFile(data, name=name))


def bundle_bytes() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name, data in (("diag/logs/orchestrator.log", LOG), ("../escape.log", b"x\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_attached_log_is_hashed_and_its_symptom_matched_on_the_timeline(
    open_incident, locked_symptom, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(uploads=[upload("orchestrator.log", LOG)])
    attachment = Attachment.objects.get()
    assert attachment.kind == Attachment.Kind.LOG and attachment.size == len(LOG)
    assert len(attachment.sha256) == 64 and attachment.processed_at is not None
    assert attachment.result["symptom_ids"] == [locked_symptom.pk]
    event = incident.timeline.get(kind=TimelineEvent.Kind.SYMPTOM, data__source="orchestrator.log")
    assert "SQLite database is locked" in event.message and event.important
    assert event.data["lines"] == [2]
    assert list(incident.symptoms.all()) == [locked_symptom]


def test_pasted_logs_become_an_attachment_and_are_matched(open_incident, locked_symptom,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(pasted_logs=LOG.decode())
    assert incident.attachments.get().name == "pasted-logs.txt"
    assert incident.timeline.filter(kind=TimelineEvent.Kind.SYMPTOM).exists()


def test_bundle_is_unpacked_safely_and_its_logs_matched(open_incident, locked_symptom,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(uploads=[upload("diagnostics_20240501.tar.gz", bundle_bytes())])
    attachment = Attachment.objects.get()
    assert attachment.kind == Attachment.Kind.BUNDLE
    assert attachment.result["bundle"]["scanned"] == ["diag/logs/orchestrator.log"]
    assert attachment.result["bundle"]["skipped"] == [{"name": "../escape.log", "reason": "path traversal"}]
    summary = incident.timeline.get(kind=TimelineEvent.Kind.ATTACHMENT, data__has_key="scanned")
    assert "scanned 1 file(s), skipped 1" in summary.message and summary.important
    sources = [e.data["source"] for e in incident.timeline.filter(kind=TimelineEvent.Kind.SYMPTOM)]
    assert sources == ["diagnostics_20240501.tar.gz: diag/logs/orchestrator.log"]


def test_processing_twice_does_nothing_the_second_time(open_incident, locked_symptom,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(uploads=[upload("app.log", LOG)])
    attachment = incident.attachments.get()
    assert attachment_process(attachment_id=attachment.pk) == "already processed"
    assert incident.timeline.filter(kind=TimelineEvent.Kind.SYMPTOM).count() == 1


def test_too_large_attachment_is_refused_and_nothing_is_filed(open_incident, settings):
    settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationError, match="limit is 10 bytes"):
        open_incident(uploads=[upload("big.log", b"x" * 11)])
    from incidents.models import Incident

    assert Incident.objects.count() == 0


def test_attachment_names_are_made_safe(open_incident, user):
    incident = open_incident()
    attachment = attachment_add(incident=incident, upload=upload("../../<script>.log", b"hi"), actor=user)
    assert attachment.name == "_script_.log"
    assert ".." not in attachment.file.name


def test_unreadable_bundle_is_reported_not_raised(open_incident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(uploads=[upload("broken.tar.gz", b"not an archive at all")])
    event = incident.timeline.get(kind=TimelineEvent.Kind.ATTACHMENT, data__has_key="scanned")
    assert "Not a readable" in event.message
