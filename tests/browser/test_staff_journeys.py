"""Journeys a staff member makes from the header: import a guide, find a knowledge gap, add a monitor, read
the metrics, close an action item; and the header search that drops down under the box."""

import re

import pytest
from playwright.sync_api import expect

from incidents.models import ActionItem, PostIncidentReview, Severity
from incidents.services.lifecycle import incident_open
from incidents.services.severities import severities_ensure_defaults
from kb.search import index_articles
from kb.services import article_create, system_upsert

pytestmark = pytest.mark.django_db(transaction=True)

GUIDE = b"""# Queue workers

## Workers stop consuming after a broker restart

The workers keep running but take no new tasks once the broker comes back.

### Solution

Restart the workers so they reconnect:

```bash
systemctl restart queue-workers
```
"""


@pytest.fixture
def signed_in(page, login, staff_user, password):
    login(staff_user.username, password)
    return page


@pytest.fixture
def redis_article(db):
    system, _ = system_upsert(slug="triage", name="Triage")
    article = article_create(system=system, title="Redis broker unreachable",
                             body="## What you see\n\nThe consumer cannot reach Redis and tasks stay queued.\n")
    index_articles([article.pk])
    return article


def test_import_a_guide_from_the_header(signed_in, tmp_path):
    page = signed_in
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Import").click()
    expect(page).to_have_url(re.compile(r"/import/$"))
    guide = tmp_path / "queue-workers.md"
    guide.write_bytes(GUIDE)
    page.set_input_files("input[name=files]", str(guide))
    page.fill("input[name=new_system]", "Queue")
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".import-report")).to_contain_text("Queue")
    page.goto("/systems/queue/")
    expect(page.locator("main")).to_contain_text("Workers stop consuming after a broker restart")


def test_a_search_that_finds_nothing_shows_up_in_search_gaps(signed_in, redis_article):
    page = signed_in
    box = page.locator(".header-search input[name=q]")
    box.fill("zyxwvut kafka")
    box.press("Enter")  # Enter opens the full results page
    expect(page).to_have_title(re.compile(r"^zyxwvut kafka · Search · Triage$"))
    expect(page.locator("#search-results")).to_contain_text("No article mentions")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Search gaps").click()
    expect(page.locator("main")).to_contain_text("zyxwvut kafka")


def test_header_search_drops_down_results_and_names_words_without_hits(signed_in, redis_article):
    page = signed_in
    page.evaluate("window.__stillSamePage = true")
    box = page.locator(".header-search input[name=q]")
    box.click()
    box.press_sequentially("kafka consumer", delay=20)
    dropdown = page.locator("#header-search-results")
    expect(dropdown.locator("a[data-search-hit]").first).to_have_text("Redis broker unreachable")
    expect(dropdown).to_contain_text("No article mentions kafka")
    box.press("ArrowDown")
    expect(dropdown.locator("a[data-search-hit]").first).to_be_focused()
    assert page.evaluate("window.__stillSamePage") is True  # results came under the box, the page stayed
    page.keyboard.press("Escape")
    expect(box).to_be_focused()


def test_add_a_monitor_from_the_monitors_page(signed_in):
    page = signed_in
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Checks & monitors").click()
    expect(page.locator("h1")).to_have_text("Monitors")
    page.get_by_role("button", name="New monitor").click()
    expect(page.locator("input[name=interval_seconds]")).to_have_value("60")
    page.fill("input[name=name]", "Local web port")
    page.fill("input[name=slug]", "local-web-port")
    page.select_option("select[name=type]", "tcp")
    page.fill("input[name=target]", "127.0.0.1:9")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Local web port")
    page.goto("/diagnostics/monitors/")
    row = page.locator(".monitor-list > li", has_text="Local web port")
    expect(row.locator(".heartbeat")).to_be_visible()
    expect(row).to_contain_text("not run")


def test_metrics_page_draws_axes_and_lists_open_incidents(signed_in, staff_user):
    severities_ensure_defaults()
    system, _ = system_upsert(slug="triage", name="Triage")
    incident_open(title="Queue stuck", system=system, severity=Severity.objects.get(slug="high"),
                                    reporter=staff_user, what_happened="Every task stays queued for an hour.")
    page = signed_in
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Metrics").click()
    expect(page.locator("h1")).to_have_text("Incident metrics")
    expect(page.locator(".chart text.axis").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("1 open")


def test_close_my_action_item_from_the_cockpit(signed_in, staff_user):
    severities_ensure_defaults()
    system, _ = system_upsert(slug="triage", name="Triage")
    incident = incident_open(
        title="Queue stuck", system=system, severity=Severity.objects.get(slug="high"), reporter=staff_user,
        what_happened="Every task stays queued for an hour.")
    review = PostIncidentReview.objects.create(incident=incident)
    item = ActionItem.objects.create(review=review, title="Alert on queue depth", owner=staff_user)
    page = signed_in
    page.goto("/")
    expect(page.locator("main")).to_contain_text("Alert on queue depth")
    page.get_by_role("link", name="All", exact=True).click()
    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("button", name=re.compile("Mark done")).click()
    expect(row).to_contain_text("Done")
    item.refresh_from_db()
    assert item.done
