"""An engineer pastes a traceback, sees the fix with the offending line highlighted, then uploads a log;
a staff member turns an unknown error into a symptom in two clicks."""

import pytest
from playwright.sync_api import expect

from kb import matching
from kb.models import SymptomSolution
from tests.factories import ArticleFactory, SignatureFactory, SolutionFactory, SymptomFactory, SystemFactory

TRACEBACK = """Traceback (most recent call last):
  File "/srv/orchestrator/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1960, in _exec
    self.dialect.do_execute(cursor, statement, parameters, context)
sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked
[SQL: UPDATE tasks SET status=? WHERE tasks.id = ?]"""

LOG = b"""2025-06-01T10:00:00Z INFO [api] started on 0.0.0.0:8100
2025-06-01T10:00:01Z INFO [api] GET /api/health 200
2025-06-01T10:00:02Z ERROR [db] sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked
2025-06-01T10:00:03Z ERROR [billing] ledger batch 42 rejected: checksum mismatch
"""


@pytest.fixture
def locked_database():
    matching.matcher_reset()
    system = SystemFactory(name="Orchestrator", slug="orchestrator")
    symptom = SymptomFactory(system=system, title="Writes fail with a lock error", severity="high")
    SignatureFactory(symptom=symptom, text="sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked")
    solution = SolutionFactory(system=system, title="Give SQLite a busy timeout and WAL mode", resolved_count=4,
                               steps="1. Set a busy timeout.", steps_html="<ol><li>Set a busy timeout.</li></ol>")
    SymptomSolution.objects.create(symptom=symptom, solution=solution)
    symptom.articles.add(ArticleFactory(system=system, title="SQLite database is locked"))
    yield symptom
    matching.matcher_reset()


@pytest.mark.django_db(transaction=True)
def test_paste_a_traceback_see_the_fix_then_upload_a_log(page, locked_database):
    page.goto("/")
    page.evaluate("window.__stillSamePage = true")
    page.get_by_label("Error message, stack trace or log lines").fill(TRACEBACK)
    page.get_by_role("button", name="Find known fixes").click()

    results = page.locator("#paste-results")
    expect(results).to_contain_text("Writes fail with a lock error")
    expect(results).to_contain_text("Give SQLite a busy timeout and WAL mode")
    expect(results.get_by_role("link", name="SQLite database is locked")).to_be_visible()
    offending = results.locator(".hit")
    expect(offending).to_have_attribute("data-line", "4")
    expect(offending.locator("mark")).to_contain_text("database is locked")
    assert page.evaluate("window.__stillSamePage") is True  # swapped in by htmx, no page load

    # A whole log file, uploaded on the match page.
    page.get_by_role("link", name="Upload it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Match an error or a log")
    page.get_by_label("…or upload a log file").set_input_files(
        files=[{"name": "orchestrator.log", "mimeType": "text/plain", "buffer": LOG}])
    page.get_by_role("button", name="Match", exact=True).click()

    results = page.locator("#match-results")
    expect(results).to_contain_text("Checked 4 lines")
    expect(results.locator(".hit")).to_have_attribute("data-line", "3")
    expect(results).to_contain_text("Unknown errors")
    expect(results).to_contain_text("ledger batch <*> rejected: checksum mismatch")


@pytest.mark.django_db(transaction=True)
def test_staff_turn_an_unknown_error_into_a_symptom_in_two_clicks(page, login, staff_user, password, locked_database):
    login(staff_user.username, password)
    page.goto("/match/")
    page.get_by_label("Paste your error").fill("2025-06-01T10:00:03Z ERROR [billing] ledger batch 42 rejected: checksum mismatch")
    page.get_by_role("button", name="Match", exact=True).click()
    expect(page.locator("#match-results")).to_contain_text("Unknown errors")

    page.get_by_role("link", name="Make it a symptom").click()  # click one: the prefilled form appears in place
    form = page.locator(".unknown-symptom-form")
    expect(form.get_by_label("Signature")).to_have_value("ledger batch 42 rejected: checksum mismatch")
    expect(form.get_by_label("System")).to_have_value(str(locked_database.system.pk))
    form.get_by_role("button", name="Create symptom").click()  # click two
    expect(page.locator("#match-results")).to_contain_text("will be recognised from now on")

    page.get_by_label("Paste your error").fill("ERROR ledger batch 77 rejected: checksum mismatch")
    page.get_by_role("button", name="Match", exact=True).click()
    expect(page.locator("#match-results .match-card")).to_contain_text("ledger batch 42 rejected")
