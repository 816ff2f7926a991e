"""Integrations with the other engines: checks on filing and "Verify fix", the matcher and search."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents import integrations, selectors, services
from incidents.models import Incident, TimelineEvent
from tests.factories import ArticleFactory, SignatureFactory, SymptomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def health_check(system, stub_receiver):
    from diagnostics.services import check_create

    server = stub_receiver([200])
    server.get_status = 503
    check = check_create(name="Orchestrator health", slug="orchestrator-health", type="http",
                         target=server.url.replace("/hook", "/api/health"), conditions=["[STATUS] == 200"],
                         timeout_seconds=2, retries=0)
    system.checks.add(check)
    return check, server


def check_events(incident: Incident) -> list[tuple[str, str]]:
    return [(e.data["state"], e.data["reason"]) for e in incident.timeline.filter(kind=TimelineEvent.Kind.CHECK)]


def test_filing_runs_the_systems_checks_and_records_them(open_incident, health_check,
                                                         django_capture_on_commit_callbacks):
    check, _server = health_check
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    assert check_events(incident) == [("critical", "filed")]
    event = incident.timeline.get(kind=TimelineEvent.Kind.CHECK)
    assert event.important and "Orchestrator health" in event.message
    assert selectors.incident_failing_checks(incident=incident) == [
        {"check_id": check.pk, "state": "critical", "name": "Orchestrator health"}]
    from diagnostics.models import CheckRun

    assert CheckRun.objects.filter(check_def=check, state="critical").count() == 1


def test_verify_fix_reruns_failing_checks_and_unblocks_resolve(open_incident, health_check, responder,
                                                               django_capture_on_commit_callbacks):
    _check, server = health_check
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    with pytest.raises(ValidationError):
        services.incident_resolve(incident=incident, actor=responder)
    assert [o.state for o in services.incident_verify(incident=incident, actor=responder)] == ["critical"]
    server.get_status = 200  # the fix lands
    outcomes = services.incident_verify(incident=incident, actor=responder)
    assert [o.state for o in outcomes] == ["ok"]
    assert check_events(incident) == [("critical", "filed"), ("critical", "verify"), ("ok", "verify")]
    assert services.incident_verify(incident=incident, actor=responder) == []  # nothing failing any more
    assert services.incident_resolve(incident=incident, actor=responder)


def test_verify_button_and_api_action(client, api_client, open_incident, health_check, responder,
                                      django_capture_on_commit_callbacks):
    _check, server = health_check
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Verify fix (1 failing)" in page
    server.get_status = 200
    response = client.post(reverse("incidents:action", args=[incident.pk, "verify"]), follow=True)
    assert "1 check(s) pass now" in response.content.decode()
    api_client.force_authenticate(responder)
    body = api_client.post(f"/api/v1/incidents/{incident.pk}/verify/").json()
    assert body == {"checks_available": True, "results": [], "still_failing": 0}


def test_without_diagnostics_filing_and_verify_degrade_quietly(open_incident, health_check, responder, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    monkeypatch.setattr(integrations, "checks_available", lambda: False)
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    assert check_events(incident) == []
    assert services.incident_verify(incident=incident, actor=responder) == []
    assert services.incident_resolve(incident=incident, actor=responder)


def test_matcher_finds_symptoms_in_the_report_text(open_incident, system, django_capture_on_commit_callbacks):
    symptom = SymptomFactory(system=system, title="Port already in use")
    SignatureFactory(symptom=symptom, text="OSError: [Errno 98] Address already in use")
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(what_happened="Start-up fails: OSError: [Errno 98] Address already in use")
    assert list(incident.symptoms.all()) == [symptom]
    event = incident.timeline.get(kind=TimelineEvent.Kind.SYMPTOM)
    assert event.data["source"] == "the report"


def test_matcher_finds_a_masked_signature_with_its_line_number(system):
    symptom = SymptomFactory(system=system, title="Disk full")
    SignatureFactory(symptom=symptom, text="No space   left on device")
    hits = integrations.symptoms_match_text("write failed\nOSError: no space left on DEVICE\n")
    assert [(h.symptom_id, h.line_numbers) for h in hits] == [(symptom.pk, (2,))]


def test_a_failing_search_suggests_nothing_instead_of_raising(system, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("search is down")

    monkeypatch.setattr(integrations, "search", broken)
    assert integrations.articles_search("redis connection refused", system_id=system.pk) == []


def test_matcher_refusing_binary_input_matches_nothing():
    assert integrations.symptoms_match_bytes(b"\x7fELF\x00\x00binary") == []


def test_search_suggests_articles_of_the_incidents_system_first(system):
    from tests.factories import SystemFactory

    other = SystemFactory(name="Other", slug="other")
    ArticleFactory(system=other, title="Redis connection refused on start")
    mine = ArticleFactory(system=system, title="Redis connection refused by the orchestrator")
    from kb.search import index_articles

    index_articles(list(__import__("kb.models", fromlist=["Article"]).Article.objects.values_list("pk", flat=True)))
    hits = integrations.articles_search("redis connection refused", system_id=system.pk)
    assert hits and hits[0].article_id == mine.pk
    assert len(hits) == 2


def test_resolution_count_feeds_the_matchers_ranking(open_incident, responder, system):
    from kb.matching import symptom_match_text
    from kb.models import SymptomSolution
    from tests.factories import SolutionFactory

    first, second = (SymptomFactory(system=system, title=t) for t in ("A timeout", "B timeout"))
    for symptom in (first, second):
        SignatureFactory(symptom=symptom, text="upstream timed out")
    solution = SolutionFactory(system=system)
    SymptomSolution.objects.create(symptom=second, solution=solution)
    before = [m.symptom.pk for m in symptom_match_text(text="upstream timed out").matches]
    services.incident_resolve(incident=open_incident(), actor=responder, solution=solution)
    after = [m.symptom.pk for m in symptom_match_text(text="upstream timed out").matches]
    assert before == [first.pk, second.pk] and after == [second.pk, first.pk]
