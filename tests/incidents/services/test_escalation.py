"""Escalation through the levels with a controllable clock: once per level, stopped by acknowledging."""

from datetime import timedelta

import pytest
from django.core import mail

from incidents.models import EscalationLevel, EscalationRecord, Severity, TimelineEvent, WebhookDelivery
from incidents.services.escalation import escalation_levels_due, incident_escalate, incidents_escalate_due
from incidents.services.lifecycle import incident_acknowledge

pytestmark = pytest.mark.django_db


@pytest.fixture
def levels(stub_receiver):
    receiver = stub_receiver([200])
    EscalationLevel.objects.all().delete()
    oncall = EscalationLevel.objects.create(order=1, name="On-call", email="oncall@example.com",
                                            webhook_url=receiver.url, webhook_secret="pager")
    manager = EscalationLevel.objects.create(order=2, name="Manager", email="boss@example.com")
    director = EscalationLevel.objects.create(order=3, name="Director", email="director@example.com")
    return oncall, manager, director, receiver


@pytest.mark.parametrize(("slug", "minutes", "expected"), [
    ("critical", 4, 0), ("critical", 5, 1), ("critical", 14, 1), ("critical", 15, 2), ("critical", 30, 3),
    ("high", 15, 1), ("high", 30, 2), ("low", 60 * 24, 1), ("low", 60 * 24 * 30, 1), ("medium", 59, 0),
])
def test_levels_due_follow_the_severity_targets(slug, minutes, expected):
    severity = Severity.objects.get(slug=slug)
    from django.utils import timezone

    opened = timezone.now()
    assert escalation_levels_due(severity=severity, opened_at=opened,
                                          now=opened + timedelta(minutes=minutes)) == expected


def test_escalates_once_per_level_as_the_clock_moves(open_incident, critical, levels,
                                                     django_capture_on_commit_callbacks):
    oncall, manager, director, receiver = levels
    # Opening and escalating share the test's one transaction: its commit callbacks are all captured.
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(severity=critical)
        opened = incident.created_at
        assert incidents_escalate_due(now=opened + timedelta(minutes=4)) == []
        assert incidents_escalate_due(now=opened + timedelta(minutes=6)) == [(incident.pk, 1)]
        # The beat job runs again a minute later: nothing new.
        assert incidents_escalate_due(now=opened + timedelta(minutes=7)) == []
        assert incidents_escalate_due(now=opened + timedelta(minutes=16)) == [(incident.pk, 2)]
        assert incidents_escalate_due(now=opened + timedelta(minutes=31)) == [(incident.pk, 3)]
        assert incidents_escalate_due(now=opened + timedelta(hours=5)) == []
    assert list(EscalationRecord.objects.values_list("level__order", flat=True)) == [1, 2, 3]
    recipients = sorted(m.to[0] for m in mail.outbox if "escalated" in m.subject)
    assert recipients == ["boss@example.com", "director@example.com", "oncall@example.com"]
    # The on-call level's own webhook got exactly one signed delivery.
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["X-Triage-Event"] == "incident.escalated"
    assert WebhookDelivery.objects.get(escalation_level=oncall).status == WebhookDelivery.Status.SUCCEEDED
    assert incident.timeline.filter(kind=TimelineEvent.Kind.ESCALATION, important=True).count() == 3


def test_late_beat_run_catches_up_on_every_level_due(open_incident, critical, levels):
    incident = open_incident(severity=critical)
    done = incidents_escalate_due(now=incident.created_at + timedelta(minutes=20))
    assert done == [(incident.pk, 1), (incident.pk, 2)]


def test_acknowledging_stops_escalation(open_incident, critical, levels, responder):
    incident = open_incident(severity=critical)
    opened = incident.created_at
    assert incidents_escalate_due(now=opened + timedelta(minutes=6)) == [(incident.pk, 1)]
    incident_acknowledge(incident=incident, actor=responder, now=opened + timedelta(minutes=8))
    assert incidents_escalate_due(now=opened + timedelta(minutes=20)) == []
    assert incidents_escalate_due(now=opened + timedelta(hours=3)) == []
    assert EscalationRecord.objects.count() == 1


def test_low_severity_never_goes_beyond_the_first_level(open_incident, low, levels):
    incident = open_incident(severity=low)
    done = incidents_escalate_due(now=incident.created_at + timedelta(days=10))
    assert done == [(incident.pk, 1)]


def test_manual_escalation_notifies_the_next_level_and_the_timer_skips_it(open_incident, critical, levels,
                                                                          responder):
    incident = open_incident(severity=critical)
    record = incident_escalate(incident=incident, actor=responder)
    assert record.level.order == 1 and record.manual
    assert incidents_escalate_due(now=incident.created_at + timedelta(minutes=6)) == []
    assert incident_escalate(incident=incident, actor=responder).level.order == 2
    assert incident_escalate(incident=incident, actor=responder).level.order == 3
    assert incident_escalate(incident=incident, actor=responder) is None


def test_inactive_levels_are_skipped(open_incident, critical, levels):
    oncall, manager, director, receiver = levels
    EscalationLevel.objects.filter(pk=oncall.pk).update(active=False)
    incident = open_incident(severity=critical)
    done = incidents_escalate_due(now=incident.created_at + timedelta(minutes=6))
    assert done == [(incident.pk, 2)]
