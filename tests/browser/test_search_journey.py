"""Journey: an on-call engineer types a misspelled query, sees the right article highlighted, opens it."""

import re

import pytest
from playwright.sync_api import expect

from kb.models import Signature, Symptom
from kb.search import index_articles
from kb.services import article_create, system_upsert

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def articles(db):
    system, _ = system_upsert(slug="coordinaitor", name="CoordinAItor")
    target = article_create(
        system=system, title="PostgreSQL connection refused or rejected",
        summary="The API cannot open a database connection.",
        body="## What you see\n\nThe health endpoint reports the database as down and the connection is refused.\n\n"
             "## Fix\n\nStart PostgreSQL, then restart the API.\n",
        tags=["postgres"],
    )
    symptom = Symptom.objects.create(system=system, title="Nothing listens on port 5432")
    symptom.articles.add(target)
    Signature.objects.create(symptom=symptom, text="Error: connect ECONNREFUSED 127.0.0.1:5432")
    index_articles([target.pk])
    article_create(system=system, title="Port 3000 already in use", summary="Another process holds the port.",
                   body="Find it with lsof and stop it.")
    return target


def test_misspelled_query_finds_the_article_with_a_highlight_and_opens_it(page, articles):
    page.goto("/")
    box = page.locator("section.search-box input[name=q]")
    box.click()
    box.press_sequentially("postgress conection refused", delay=30)

    results = page.locator("#home-search-results")
    first = results.locator("a[data-search-hit]").first
    expect(first).to_have_text("PostgreSQL connection refused or rejected")
    expect(results.locator("mark").first).to_be_visible()
    expect(results).to_contain_text("connection refused")  # "showing results for" the corrected words

    # Keyboard: ↓ moves from the box to the first result, Enter opens it.
    box.press("ArrowDown")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(articles.get_absolute_url()) + "$"))
    expect(page.locator("h1")).to_contain_text("PostgreSQL connection refused or rejected")


def test_search_page_works_without_javascript(browser, live_server, articles):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/search/")
        page.locator("form[data-search-form] input[name=q]").fill("ECONNREFUSED")
        page.locator("form[data-search-form] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/search/\?q=ECONNREFUSED"))
        hit = page.locator("#search-results a[data-search-hit]").first
        expect(hit).to_have_text("PostgreSQL connection refused or rejected")
        expect(page.locator("#search-results")).to_contain_text("Nothing listens on port 5432")
        hit.click()
        expect(page.locator("h1")).to_contain_text("PostgreSQL connection refused or rejected")
    finally:
        context.close()
