"""Someone pastes an error, follows the decision tree it suggests, and is walked to a fix; a check answers
one step by itself, Back and changing an earlier answer work, and another path ends in a prefilled incident.
On a phone (390×844) the step, finish, transcript and diagram pages fit without sideways scroll; the diagram's
script is fetched only when the diagram is opened. Screenshots go to var/screenshots/trees/."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from diagnostics.services import check_create
from kb.markdown import render_markdown
from kb.models import Signature, Solution, Symptom
from tests.factories import ArticleFactory, SystemFactory
from trees import services

TREE = """\
slug: api-down
title: The shop API is down
system: shop
symptoms:
- Connection refused on the API port
entry: running
nodes:
- key: running
  kind: question
  title: Is the API process running?
  prompt: Run `systemctl status shop-api`.
  answers:
  - label: Yes
    next: port
  - label: No
    next: start
- key: start
  kind: instruction
  title: Start the service
  prompt: Run `systemctl start shop-api`.
  next: port
- key: port
  kind: check
  title: Does the API port accept connections?
  check: shop-api-port
  target: '{host}:{port}'
  branches:
    OK: reload
    CRITICAL: firewall
    UNKNOWN: escalate
- key: reload
  kind: solution
  title: Reload the configuration
  solution: Reload the API configuration
  next: escalate
- key: firewall
  kind: solution
  title: Open the port in the firewall
  article: firewall-rules
  next: escalate
- key: escalate
  kind: escalate
  title: Call the shop on-call engineer
"""


SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "trees"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def fits(page, name: str) -> None:
    """No sideways scroll at the current width; a full-page screenshot for a person to look at."""
    page.wait_for_load_state("networkidle")
    sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    width = page.viewport_size["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert sideways <= 0, f"{page.url} scrolls sideways by {sideways}px at {width}px"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shop_tree() -> None:
    """The shop system with its article, symptom, solution, a port check on a closed port, and TREE."""
    system = SystemFactory(name="Shop", slug="shop")
    ArticleFactory(system=system, title="Firewall rules", slug="firewall-rules")
    Symptom.objects.create(system=system, title="Connection refused on the API port")
    Solution.objects.create(system=system, title="Reload the API configuration", steps="1. Reload it.",
                            steps_html=render_markdown("1. Reload it.").html)
    check_create(name="Shop API port", slug="shop-api-port", type="tcp", target=f"127.0.0.1:{closed_port()}",
                 retries=0, timeout_seconds=2)
    services.tree_import_yaml(text=TREE)


@pytest.fixture
def listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_from_a_pasted_error_through_a_self_answering_check_to_a_fix_and_to_an_incident(page, login, user, password,
                                                                                       listening):
    system = SystemFactory(name="Shop", slug="shop")
    ArticleFactory(system=system, title="Firewall rules", slug="firewall-rules")
    symptom = Symptom.objects.create(system=system, title="Connection refused on the API port")
    Signature.objects.create(symptom=symptom, text="connect ECONNREFUSED 10.0.0.1:8080")
    Solution.objects.create(system=system, title="Reload the API configuration", steps="1. `systemctl reload shop-api`",
                            steps_html=render_markdown("1. `systemctl reload shop-api`").html)
    # The tree's own check aims at a closed port; the log line's values point it at a listening one.
    check_create(name="Shop API port", slug="shop-api-port", type="tcp", target=f"127.0.0.1:{closed_port()}",
                 retries=0, timeout_seconds=2)
    services.tree_import_yaml(text=TREE)

    login(user.username, password)
    page.goto("/match/")
    page.fill("textarea[name=text]", f"2025-06-01 12:00:00 ERROR api | connect ECONNREFUSED 127.0.0.1:{listening}")
    page.get_by_role("button", name="Match").click()
    page.get_by_role("button", name="Walk through “The shop API is down”").click()

    expect(page.locator("input[name=host]")).to_have_value("127.0.0.1")
    expect(page.locator("input[name=port]")).to_have_value(str(listening))
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/walk/\d+/step/1/$"))
    step1_url = page.url
    page.evaluate("window.__samePage = true")

    # "Yes" enters the check node; the check runs against the port from the log, says OK and answers itself.
    page.get_by_role("button", name="Yes").click()
    walkthrough = page.locator("#walkthrough")
    expect(walkthrough.locator("h2")).to_have_text("Reload the configuration")
    expect(page).to_have_url(re.compile(r"/step/3/$"))
    expect(walkthrough).to_contain_text("The check answered step 2: OK")
    expect(walkthrough.locator(".walk-crumbs")).to_contain_text("2. Does the API port accept connections?")
    assert page.evaluate("window.__samePage") is True  # swapped in by htmx, not a page load

    # The browser's Back button shows step 1 as it is stored: answered "Yes".
    page.go_back()
    expect(page).to_have_url(step1_url)
    expect(page.locator("#walkthrough h2")).to_have_text("Is the API process running?")
    expect(page.locator("#walkthrough")).to_contain_text("You answered: Yes")
    page.go_forward()
    expect(page.locator("#walkthrough h2")).to_have_text("Reload the configuration")

    # Change the earlier answer from the breadcrumbs: "No" leads to an instruction, then the check again.
    page.get_by_label("Change the answer to step 1").click()
    expect(page).to_have_url(step1_url)
    page.get_by_role("button", name="No", exact=True).click()
    expect(page.locator("#walkthrough h2")).to_have_text("Start the service")
    expect(page).to_have_url(re.compile(r"/step/2/$"))
    page.get_by_role("button", name="Done, continue").click()
    expect(page.locator("#walkthrough h2")).to_have_text("Reload the configuration")
    expect(page).to_have_url(re.compile(r"/step/4/$"))
    expect(page.locator(".walk-finish")).to_contain_text("Did this fix it?")
    page.get_by_role("button", name="Yes, this fixed it").click()
    expect(page.locator(".walk-outcome")).to_contain_text("Fixed — the walkthrough is finished.")
    finished_url = page.url

    # Another path: the fix does not help, and the walkthrough escalates to a prefilled incident form.
    page.get_by_role("button", name="Restart").click()
    expect(page.locator("#walkthrough h2")).to_have_text("Is the API process running?")
    page.get_by_role("button", name="Yes", exact=True).click()
    page.get_by_role("button", name="No, it is still broken").click()
    expect(page.locator("#walkthrough h2")).to_have_text("Call the shop on-call engineer")
    page.get_by_role("button", name="File an incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/new/\?"))
    expect(page.locator("input[name=title]")).to_have_value("The shop API is down: not solved by the decision tree")
    expect(page.locator("select[name=system] option:checked")).to_have_text("Shop")
    expect(page.locator("body")).to_contain_text("A walkthrough transcript will be attached")
    transcript = page.locator("input[name=transcript]").input_value()
    assert "2. Does the API port accept connections? [check: OK" in transcript
    assert "(answered by the check)" in transcript and f"port={listening}" in transcript

    # On a phone: the steps, the finish, the transcript and the tree with its diagram fit the screen.
    walkthrough_url = finished_url
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto(step1_url)
        expect(page.get_by_role("button", name="None of these")).to_be_visible()
        fits(page, "walkthrough-step")
        page.goto(walkthrough_url)
        expect(page.locator(".walk-outcome")).to_be_visible()
        fits(page, "walkthrough-finish")
        page.goto(re.sub(r"step/\d+/$", "transcript/", walkthrough_url))
        expect(page.locator(".walk-transcript-steps")).to_contain_text("Does the API port accept connections?")
        fits(page, "walkthrough-transcript")


@pytest.mark.django_db(transaction=True)
def test_tree_page_shows_at_once_and_loads_the_diagram_only_when_opened(page, login, staff_user, password):
    shop_tree()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    login(staff_user.username, password)
    for viewport in (PHONE, DESKTOP):
        fetched.clear()
        page.set_viewport_size(viewport)
        page.goto("/trees/shop/api-down/")
        page.wait_for_load_state("networkidle")
        assert not [url for url in fetched if "mermaid" in url], "the diagram script loaded before it was asked for"
        page.get_by_text("Show diagram").click()
        expect(page.locator(".tree-diagram-box svg")).to_be_visible()
        assert [url for url in fetched if url.endswith("mermaid.min.js")]
        assert all(url.startswith(page.url.split("/trees/")[0]) for url in fetched), "a request left the site"
        fits(page, "tree-detail-diagram")
