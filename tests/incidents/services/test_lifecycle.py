from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import Incident, OutboxMessage, Severity, TimelineEvent
from incidents.services.comments import incident_comment_add
from incidents.services.lifecycle import (
    TransitionError,
    incident_acknowledge,
    incident_resolve,
    incident_transition,
    incident_update,
)
from incidents.services.timeline import timeline_add, timeline_event_set_important
from tests.factories import ArticleFactory, SolutionFactory

pytestmark = pytest.mark.django_db
Status = Incident.Status


def test_migration_creates_default_severities_with_targets():
    targets = {s.slug: (s.response_target, s.escalation_target) for s in Severity.objects.all()}
    assert targets["critical"] == (timedelta(minutes=5), timedelta(minutes=15))
    assert targets["high"] == (timedelta(minutes=15), timedelta(minutes=30))
    assert targets["medium"] == (timedelta(hours=1), timedelta(hours=4))
    assert targets["low"] == (timedelta(days=1), None)
    assert list(Severity.objects.values_list("slug", flat=True)) == ["critical", "high", "medium", "low"]


def test_severity_with_escalation_before_response_is_invalid():
    severity = Severity(name="Odd", slug="odd", rank=9, response_target=timedelta(hours=1),
                        escalation_target=timedelta(minutes=5))
    with pytest.raises(ValidationError, match="later than the response target"):
        severity.full_clean()


def test_filing_writes_incident_timeline_and_outbox_in_one_go(open_incident, user):
    incident = open_incident(transcript="Q: Is the server up? A: yes")
    assert incident.status == Status.TRIAGE
    assert incident.reporter == user
    assert list(incident.participants.all()) == [user]
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds == [TimelineEvent.Kind.CREATED, TimelineEvent.Kind.TRANSCRIPT]
    topics = set(OutboxMessage.objects.values_list("topic", flat=True))
    assert {"incident.created", "incident.checks", "incident.match_report"} <= topics


def test_filing_with_blank_title_is_refused_and_saves_nothing(open_incident):
    with pytest.raises(ValidationError) as error:
        open_incident(title="  ")
    assert "title" in error.value.message_dict
    assert Incident.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_acknowledge_sets_acknowledged_at_and_commander(open_incident, responder):
    incident = open_incident()
    when = timezone.now() + timedelta(minutes=3)
    assert incident_acknowledge(incident=incident, actor=responder, now=when) is True
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING
    assert incident.acknowledged_at == when
    assert incident.commander == responder
    assert incident.timeline.filter(kind=TimelineEvent.Kind.STATUS).count() == 1
    assert OutboxMessage.objects.filter(topic="incident.acknowledged").count() == 1


def test_each_transition_stamps_its_own_timestamp(open_incident, responder):
    incident = open_incident()
    start = incident.created_at
    steps = [(Status.INVESTIGATING, 1), (Status.MITIGATED, 2), (Status.RESOLVED, 3), (Status.CLOSED, 4)]
    for status, minutes in steps:
        assert incident_transition(incident=incident, to_status=status, actor=responder,
                                            now=start + timedelta(minutes=minutes))
    incident.refresh_from_db()
    assert incident.acknowledged_at == start + timedelta(minutes=1)
    assert incident.mitigated_at == start + timedelta(minutes=2)
    assert incident.resolved_at == start + timedelta(minutes=3)
    assert incident.closed_at == start + timedelta(minutes=4)


def test_resolving_straight_from_triage_also_stamps_acknowledged_and_mitigated(open_incident, responder):
    incident = open_incident()
    when = incident.created_at + timedelta(minutes=9)
    incident_resolve(incident=incident, actor=responder, now=when)
    incident.refresh_from_db()
    assert incident.acknowledged_at == incident.mitigated_at == incident.resolved_at == when


@pytest.mark.parametrize(("path", "target"), [
    ([], Status.CLOSED),
    ([Status.INVESTIGATING, Status.MITIGATED], Status.CANCELLED),
    ([Status.CANCELLED], Status.INVESTIGATING),
    ([Status.RESOLVED, Status.CLOSED], Status.INVESTIGATING),
    ([], "exploded"),
])
def test_invalid_transition_is_refused_with_the_allowed_moves(open_incident, responder, path, target):
    incident = open_incident()
    for status in path:
        incident_transition(incident=incident, to_status=status, actor=responder)
    before = incident.status
    with pytest.raises(TransitionError) as error:
        incident_transition(incident=incident, to_status=target, actor=responder)
    assert "status" in error.value.message_dict
    incident.refresh_from_db()
    assert incident.status == before


def test_concurrent_transition_is_a_noop_for_the_second_caller(open_incident, responder, staff_user):
    incident = open_incident()
    first = Incident.objects.get(pk=incident.pk)
    second = Incident.objects.get(pk=incident.pk)  # loaded before the first change lands
    assert incident_acknowledge(incident=first, actor=responder) is True
    assert incident_transition(incident=second, to_status=Status.INVESTIGATING, actor=staff_user) is False
    incident.refresh_from_db()
    assert incident.commander == responder
    assert incident.timeline.filter(kind=TimelineEvent.Kind.STATUS).count() == 1
    assert OutboxMessage.objects.filter(topic="incident.acknowledged").count() == 1


def test_duplicate_needs_the_original(open_incident, responder):
    original = open_incident(title="First report")
    copy = open_incident(title="Second report")
    with pytest.raises(TransitionError):
        incident_transition(incident=copy, to_status=Status.DUPLICATE, actor=responder)
    assert incident_transition(incident=copy, to_status=Status.DUPLICATE, actor=responder,
                                        duplicate_of=original)
    copy.refresh_from_db()
    assert copy.duplicate_of == original and copy.closed_at is not None


def test_resolve_links_solution_and_counts_it_once(open_incident, responder, system):
    article = ArticleFactory(system=system)
    solution = SolutionFactory(system=system)
    incident = open_incident()
    assert incident_resolve(incident=incident, actor=responder, article=article, solution=solution,
                                     note="restarted the worker")
    stale = Incident.objects.get(pk=incident.pk)
    stale.status = Status.INVESTIGATING  # a second, late request that still thinks it is open
    assert incident_resolve(incident=stale, actor=responder, solution=solution) is False
    solution.refresh_from_db()
    incident.refresh_from_db()
    assert solution.resolved_count == 1
    assert incident.resolved_by_article == article and incident.resolved_by_solution == solution
    assert incident.resolution_note == "restarted the worker"
    assert list(article.resolved_incidents.all()) == [incident]
    assert incident.timeline.filter(kind=TimelineEvent.Kind.ARTICLE, important=True).count() == 2


def test_reopening_a_resolved_incident_takes_back_the_solution_count(open_incident, responder, system):
    solution = SolutionFactory(system=system)
    incident = open_incident()
    incident_resolve(incident=incident, actor=responder, solution=solution)
    assert incident_transition(incident=incident, to_status=Status.INVESTIGATING, actor=responder)
    solution.refresh_from_db()
    incident.refresh_from_db()
    assert solution.resolved_count == 0
    assert incident.resolved_at is None and incident.resolved_by_solution is None


def test_resolve_requires_failing_checks_to_pass_or_a_reason(open_incident, responder):
    incident = open_incident()
    timeline_add(incident=incident, kind=TimelineEvent.Kind.CHECK, message="Check “api health”: CRITICAL",
                          data={"check_id": 7, "state": "critical"})
    with pytest.raises(ValidationError, match="still failing"):
        incident_resolve(incident=incident, actor=responder)
    assert incident_resolve(incident=incident, actor=responder, override_reason="check host is down")
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.checks_override_reason == "check host is down"


def test_resolve_is_allowed_once_the_failing_check_passes(open_incident, responder):
    incident = open_incident()
    for state in ("critical", "ok"):
        timeline_add(incident=incident, kind=TimelineEvent.Kind.CHECK, message="Check “api health”",
                              data={"check_id": 7, "state": state})
    assert incident_resolve(incident=incident, actor=responder)


def test_comment_markdown_is_rendered_once_and_sanitised(open_incident, user):
    incident = open_incident()
    comment = incident_comment_add(
        incident=incident, author=user, body="**Restarted** it <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<strong>Restarted</strong>" in comment.body_html
    assert "<script" not in comment.body_html and "javascript:" not in comment.body_html
    event = incident.timeline.get(kind=TimelineEvent.Kind.COMMENT)
    assert event.data == {"comment_id": comment.pk}
    assert "<" not in event.message


def test_empty_comment_is_refused(open_incident, user):
    with pytest.raises(ValidationError):
        incident_comment_add(incident=open_incident(), author=user, body="   ")


def test_field_changes_write_timeline_events(open_incident, responder, critical):
    incident = open_incident()
    changed = incident_update(incident=incident, actor=responder, severity=critical, title="Renamed")
    assert sorted(changed) == ["severity", "title"]
    messages = list(incident.timeline.filter(kind=TimelineEvent.Kind.FIELD).values_list("message", flat=True))
    assert any("High → Critical" in m for m in messages)
    assert incident_update(incident=incident, actor=responder, title="Renamed") == []


def test_marking_an_event_important_is_idempotent(open_incident):
    event = open_incident().timeline.first()
    event.important = False
    event.save()
    assert timeline_event_set_important(event=event, important=True) is True
    assert timeline_event_set_important(event=event, important=True) is False
