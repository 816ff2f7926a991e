"""A user files an incident (after a validation error), attaches a log and sees the matched symptom;
a responder acknowledges it, verifies the fix and resolves it."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from diagnostics.services import check_create
from incidents.defaults import RESPONDERS_GROUP
from incidents.models import Incident
from incidents.services.severities import severities_ensure_defaults
from tests.factories import SignatureFactory, SymptomFactory, SystemFactory, UserFactory
from tests.incidents.conftest import StubReceiver

LOG = b"2024-05-01 10:00:00 INFO worker started\n2024-05-01 10:00:05 ERROR sqlite3.OperationalError: database is locked\n"


@pytest.fixture
def health_server():
    server = StubReceiver([200])
    server.get_status = 503  # the system is down until the "fix" below
    yield server
    server.close()


@pytest.mark.django_db(transaction=True)
def test_file_with_validation_error_attach_log_then_responder_acknowledges_verifies_resolves(
    page, login, user, password, health_server,
):
    severities_ensure_defaults()  # a transactional test may follow one that flushed them
    responder = UserFactory(username="rita")
    responder.groups.add(Group.objects.get(name=RESPONDERS_GROUP))
    system = SystemFactory(name="Orchestrator", slug="orchestrator")
    symptom = SymptomFactory(system=system, title="SQLite database is locked")
    SignatureFactory(symptom=symptom, text="sqlite3.OperationalError: database is locked")
    check = check_create(name="Orchestrator health", slug="orchestrator-health", type="http",
                         target=health_server.url.replace("/hook", "/api/health"),
                         conditions=["[STATUS] == 200"], timeout_seconds=2, retries=0)
    system.checks.add(check)

    # The reporter opens the form from a link that names the system.
    login(user.username, password)
    page.goto("/incidents/new/?system=orchestrator")
    expect(page.locator("#id_system")).to_have_value(str(system.pk))

    # htmx checks a field as soon as it is left.
    page.fill("#id_title", "DB")
    page.locator("#id_title").press("Tab")
    expect(page.locator("#field-title .field-error")).to_contain_text("at least 5 characters")

    # Submitting with the description missing is refused, and what was typed is kept.
    page.get_by_role("button", name="File incident").click()
    expect(page.locator("#field-what_happened .field-error")).to_be_visible()
    expect(page.locator("#id_title")).to_have_value("DB")

    # While typing, the known symptom shows beside the form.
    page.fill("#id_title", "Workers stopped picking up tasks")
    page.locator("#id_what_happened").press_sequentially("Tasks queue up. sqlite3.OperationalError: database is locked")
    expect(page.locator("#suggestions")).to_contain_text("SQLite database is locked")

    page.set_input_files("#id_attachments", files=[{"name": "worker.log", "mimeType": "text/plain", "buffer": LOG}])
    page.get_by_role("button", name="File incident").click()

    # The incident page: the log's match and the failing health check are on the timeline.
    expect(page.locator("h1")).to_contain_text("Workers stopped picking up tasks")
    timeline = page.locator("#timeline-events")
    expect(timeline).to_contain_text("Matched symptom “SQLite database is locked” in worker.log")
    expect(timeline).to_contain_text("Orchestrator health")
    expect(timeline.locator("li.important").first).to_be_visible()
    url = page.url
    assert ">Acknowledge<" not in page.content()

    # A responder takes over.
    page.context.clear_cookies()
    login(responder.username, password)
    page.goto(url)
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#incident-status")).to_have_text("Investigating")

    # Resolving while the check fails asks for a reason; the fix lands and "Verify fix" turns it green.
    health_server.get_status = 200
    page.get_by_role("button", name="Verify fix (1 failing)").click()
    expect(page.locator(".messages")).to_contain_text("1 check(s) pass now")
    expect(page.locator("#timeline-events")).to_contain_text("OK")
    expect(page.locator(".verify-result")).to_contain_text("passes now")  # shown by the buttons, not off screen

    page.locator("#resolve summary").click()
    page.fill("#id_note", "Moved the queue to PostgreSQL; workers drain again.")
    page.get_by_role("button", name="Resolve incident").click()
    expect(page.locator("#incident-status")).to_have_text("Resolved")
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.RESOLVED and incident.checks_override_reason == ""
    assert incident.acknowledged_at and incident.resolved_at
