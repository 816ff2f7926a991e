"""A reader finds an article, copies a command and votes; then a staff editor changes it and reviews the diff."""

import pytest
from playwright.sync_api import expect

from kb import services
from tests.factories import SystemFactory

COMMAND = "sudo systemctl restart orchestrator --no-block"
BODY = (
    "Restart the service when the port stays taken.\n\n"
    "## Restart it\n\n"
    f"```bash\n{COMMAND}\n```\n\n"
    "## Check it\n\nThe health endpoint answers again.\n"
)


@pytest.mark.django_db(transaction=True)
def test_reader_copies_and_votes_then_staff_edits_and_sees_the_diff(page, login, staff_user, password):
    system = SystemFactory(name="Orchestrator", slug="orchestrator", description="Runs the agent pipeline.")
    services.article_create(system=system, title="Port 8100 already in use", body=BODY,
                            summary="Another process holds the port.", tags=["network"], author=staff_user)

    # A reader browses home -> system -> article.
    page.goto("/")
    page.get_by_role("link", name="Orchestrator").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orchestrator")
    page.get_by_role("link", name="Port 8100 already in use").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Port 8100 already in use")

    # Copy the command from its code block.
    copy = page.locator(".article-body .copy-button").first
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == COMMAND

    # Vote "helpful": the thanks replaces the question in place, without a page load.
    page.evaluate("window.__stillSamePage = true")
    page.locator("#vote").get_by_role("button", name="Yes").click()
    expect(page.locator("#vote")).to_contain_text("Thanks for the feedback")
    assert page.evaluate("window.__stillSamePage") is True

    # A staff editor logs in and edits the article with the live preview.
    login(staff_user.username, password)
    page.goto("/systems/orchestrator/port-8100-already-in-use/")
    page.get_by_role("link", name="Edit").click()
    body = page.locator("textarea[name=body]")
    body.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nAlso free port 8101 with fuser.")
    expect(page.locator("#preview")).to_contain_text("Also free port 8101 with fuser.")
    page.fill("input[name=note]", "Mention port 8101")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".article-body")).to_contain_text("Also free port 8101 with fuser.")
    expect(page.locator(".messages")).to_contain_text("Article saved.")

    # History shows the new revision; its diff shows the added line.
    page.get_by_role("link", name="History").click()
    expect(page.locator("table.revisions")).to_contain_text("Mention port 8101")
    page.get_by_role("button", name="Compare selected revisions").click()
    expect(page.locator("#revision-diff ins")).to_contain_text(["Also free port 8101 with fuser."])
    expect(page.locator("#revision-diff")).to_contain_text("r1")
