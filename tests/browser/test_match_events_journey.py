"""An engineer pastes a traceback with a few log lines: the traceback is one event with its known fix,
the system filter narrows the result, and "File an incident with this" files it prefilled. On a phone the
page never scrolls sideways."""

import os

import pytest
from playwright.sync_api import expect

from incidents.services.severities import severities_ensure_defaults
from kb import matching
from kb.matching import retrieval
from kb.models import SymptomSolution
from tests.factories import ArticleFactory, SignatureFactory, SolutionFactory, SymptomFactory, SystemFactory

EXCEPTION = "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked"
PASTE = f"""2025-06-01 10:00:00 INFO [api] started on 0.0.0.0:8100
Traceback (most recent call last):
  File "/srv/orchestrator/app/db_errors.py", line 88, in run_job
    session.commit()
  File "/srv/orchestrator/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1960, in _exec
    self.dialect.do_execute(cursor, statement, parameters, context)
{EXCEPTION}
2025-06-01 10:00:05 ERROR [scheduler] tick 41 skipped: lease lost
2025-06-01 10:00:07 ERROR [api] sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"""


@pytest.fixture
def knowledge():
    matching.matcher_reset()
    orchestrator = SystemFactory(name="Orchestrator", slug="orchestrator")
    locked = SymptomFactory(system=orchestrator, title="Writes fail with a lock error", severity="high")
    SignatureFactory(symptom=locked, text=EXCEPTION)
    fix = SolutionFactory(system=orchestrator, title="Give SQLite a busy timeout and WAL mode", resolved_count=2,
                          steps="1. Set a busy timeout.", steps_html="<ol><li>Set a busy timeout.</li></ol>")
    SymptomSolution.objects.create(symptom=locked, solution=fix)
    # No signature knows the pool error; this article's words are what retrieval finds it by.
    ArticleFactory(system=orchestrator, title="Connection pool exhausted under load",
                   body="## QueuePool limit reached\n\nThe QueuePool overflow is full: raise pool_size and "
                        "max_overflow, or close sessions.\n")
    scheduler = SystemFactory(name="Scheduler", slug="scheduler")
    lease = SymptomFactory(system=scheduler, title="Scheduler lost its lease")
    SignatureFactory(symptom=lease, text="tick 41 skipped: lease lost")
    yield
    matching.matcher_reset()


@pytest.mark.django_db(transaction=True)
def test_paste_a_traceback_filter_by_system_and_file_an_incident(page, login, user, password, knowledge):
    severities_ensure_defaults()  # a transactional test may follow one that flushed them
    login(user.username, password)
    page.goto("/match/")
    page.get_by_label("Paste your error").fill(PASTE)
    page.get_by_role("button", name="Match", exact=True).click()

    results = page.locator("#match-results")
    expect(results.locator(".match-counts")).to_contain_text("2 known symptoms")
    expect(results.locator(".match-counts")).to_contain_text("1 unknown error template")
    # The traceback is one event: one card with its fix, and no frame line among the unknown errors.
    card = results.locator('.match-card[data-kind="signature"]', has_text="Writes fail with a lock error")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Give SQLite a busy timeout and WAL mode")
    expect(card.locator(".hit")).to_have_attribute("data-line", "7")
    unknown = results.locator(".unknown-errors")
    expect(unknown).to_contain_text("QueuePool limit of size")
    expect(unknown).not_to_contain_text("db_errors.py")
    if not getattr(retrieval, "STUB", False):  # needs retrieval
        expect(results.locator('.match-card[data-kind="related"]').first).to_contain_text(
            "Connection pool exhausted under load")

    _screenshots(page)

    # The system filter: htmx re-matches as soon as it changes.
    page.get_by_label("System").select_option("scheduler")
    expect(results.locator('.match-card[data-kind="signature"]')).to_have_count(1)
    expect(results).to_contain_text("Scheduler lost its lease")
    expect(results).to_contain_text("1 known symptom of other systems is hidden")
    page.get_by_label("System").select_option("orchestrator")
    expect(results.locator('.match-card[data-kind="signature"]')).to_have_count(1)
    expect(results).to_contain_text("Writes fail with a lock error")

    # File an incident from the result: the form is prefilled with the first event, the paste and the system.
    page.get_by_role("button", name="File an incident with this").click()
    expect(page.locator("#id_title")).to_have_value(EXCEPTION)
    expect(page.locator("#id_system option:checked")).to_have_text("Orchestrator")
    description = page.locator("#id_what_happened").input_value()
    assert "Known symptom: Writes fail with a lock error (Orchestrator)" in description
    assert PASTE in description
    page.get_by_role("button", name="File incident").click()
    expect(page.locator("h1")).to_contain_text(EXCEPTION)


def _screenshots(page) -> None:
    """The result on a phone and on a desktop: never wider than the phone's screen."""
    folder = os.environ.get("TRIAGE_SCREENSHOTS")
    for width, height in ((390, 844), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if folder:
            page.screenshot(path=os.path.join(folder, f"match-{width}.png"), full_page=True)
