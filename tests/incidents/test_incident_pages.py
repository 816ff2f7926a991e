"""Incident list and detail as an on-call tool: SLA and commander in the list, the next step as the primary
button, cancelling apart and confirmed, verify results by the buttons, Resolve preselecting the matched fix,
known fixes while filing following the chosen system."""

import pytest
from django.urls import reverse

from incidents.models import Incident
from kb.models import SymptomSolution
from tests.factories import ArticleFactory, SignatureFactory, SolutionFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_list_shows_response_state_commander_and_age(staff_client, staff_user, open_incident):
    incident = open_incident(title="Queue stuck")
    Incident.objects.filter(pk=incident.pk).update(commander=staff_user)
    body = staff_client.get(reverse("incidents:list")).content.decode()
    assert "<th>Response</th><th>Commander</th>" in body
    assert "Respond within" in body and "data-countdown" in body
    assert staff_user.get_username() in body


def test_list_filters_are_chips_that_keep_their_choice(staff_client, open_incident):
    open_incident(title="Queue stuck")
    body = staff_client.get(reverse("incidents:list"), {"status": ["triage", "closed"], "open": "true"}).content.decode()
    assert 'type="checkbox" name="status" value="closed" checked' in body
    assert 'type="checkbox" name="status" value="mitigated">' in body
    assert 'type="radio" name="open" value="true" checked' in body
    assert "<select multiple" not in body


def test_triage_incident_offers_acknowledge_first_and_cancel_apart_behind_a_confirmation(staff_client, open_incident):
    incident = open_incident()
    body = staff_client.get(incident.get_absolute_url()).content.decode()
    actions = body[body.index('id="actions"'):body.index("</section>", body.index('id="actions"'))]
    assert actions.index(">Acknowledge<") < actions.index("Resolve…")
    assert 'class="danger-zone"' in actions
    assert actions.index("Cancel incident…") > actions.index("Escalate")
    assert 'value="cancelled"' not in actions[:actions.index('class="danger-zone"')]


def test_investigating_incident_has_resolve_as_the_primary_action(staff_client, staff_user, open_incident):
    incident = open_incident()
    staff_client.post(reverse("incidents:action", args=[incident.pk, "acknowledge"]))
    body = staff_client.get(incident.get_absolute_url()).content.decode()
    assert '<a href="#resolve-form" role="button" class="" data-open-details="resolve">Resolve…</a>' in body


def test_resolve_form_preselects_the_solution_of_the_matched_symptom(staff_client, open_incident, system):
    symptom = SymptomFactory(system=system, title="Database is locked")
    solution = SolutionFactory(system=system, title="Move the queue to PostgreSQL")
    SolutionFactory(system=system, title="Another fix")
    SymptomSolution.objects.create(symptom=symptom, solution=solution, rank=0)
    article = ArticleFactory(system=system, title="Locked database")
    symptom.articles.add(article)
    incident = open_incident()
    incident.symptoms.add(symptom)
    form = staff_client.get(incident.get_absolute_url()).context["resolve_form"]
    assert form.initial == {"article": article.pk, "solution": solution.pk}
    body = staff_client.get(incident.get_absolute_url()).content.decode()
    assert f'<option value="{solution.pk}" selected>Move the queue to PostgreSQL</option>' in body


def test_verify_returns_to_the_buttons_and_says_what_the_checks_say(staff_client, open_incident, settings):
    incident = open_incident()
    response = staff_client.post(reverse("incidents:action", args=[incident.pk, "verify"]))
    assert response.url.endswith("#actions") or response.url.endswith("?verified=1#actions")
    body = staff_client.get(incident.get_absolute_url() + "?verified=1").content.decode()
    assert "Verified: every check that was failing passes now." in body


def test_known_fixes_follow_the_chosen_system_and_show_the_matched_line(client, user, system):
    other = SystemFactory(name="Billing", slug="billing")
    for owner, title in ((system, "Locked in Orchestrator"), (other, "Locked in Billing")):
        SignatureFactory(symptom=SymptomFactory(system=owner, title=title), text="database is locked")
    client.force_login(user)
    text = "Workers stopped.\nsqlite3.OperationalError: database is locked (after 5 s of waiting for the writer)"
    body = client.post(reverse("incidents:suggest"), {"what_happened": text, "system": other.pk}, **HX).content.decode()
    assert "Locked in Billing" in body and "Locked in Orchestrator" not in body
    assert "1 match in other systems left out" in body
    assert "sqlite3.OperationalError: database is locked (after 5 s of waiting for the writer)" in body
