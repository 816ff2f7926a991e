"""A staff member walks a tree twice (a failing check leads to a fix that works; then "None of these" leads to
an incident) and opens the tree's analytics from the tree page: starts, outcomes, what the check said per node,
on a phone and a desktop without sideways scroll. Screenshots go to var/screenshots/trees/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from trees.models import Walkthrough

from .test_tree_journey import DESKTOP, PHONE, fits, shop_tree


@pytest.mark.django_db(transaction=True)
def test_staff_opens_a_trees_analytics_after_two_walkthroughs(page, login, staff_user, password):
    shop_tree()
    login(staff_user.username, password)

    # First walkthrough: the check fails by itself (drawn in CRITICAL colours) and the firewall fix works.
    page.goto("/trees/shop/api-down/")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Yes", exact=True).click()
    walkthrough = page.locator("#walkthrough")
    expect(walkthrough.locator("h2")).to_have_text("Open the port in the firewall")
    notice = walkthrough.locator(".walk-notice")
    expect(notice).to_contain_text("The check answered step 2: CRITICAL")
    expect(notice).to_have_class(re.compile(r"\bwalk-state-critical\b"))
    expect(notice.locator(".check-state-critical")).to_have_text("CRITICAL")
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        fits(page, "walkthrough-critical-check")
    page.get_by_role("button", name="Yes, this fixed it").click()
    expect(page.locator(".walk-outcome")).to_contain_text("Fixed")

    # Second walkthrough: none of the answers fits, which leads to the escalate node and the incident form.
    page.get_by_role("button", name="Restart").click()
    expect(page.locator("#walkthrough h2")).to_have_text("Is the API process running?")
    page.get_by_role("button", name="None of these").click()
    expect(page.locator("#walkthrough h2")).to_have_text("Call the shop on-call engineer")
    page.get_by_role("button", name="File an incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/new/\?"))
    assert sorted(Walkthrough.objects.values_list("outcome", flat=True)) == ["escalated", "resolved"]

    # The tree page links to its analytics for staff.
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto("/trees/shop/api-down/")
        page.get_by_role("link", name="Analytics").click()
        expect(page).to_have_url(re.compile(r"/trees/shop/api-down/analytics/$"))
        expect(page.locator("h1")).to_have_text("Analytics: The shop API is down")
        expect(page.locator("[data-stat=starts]")).to_have_text("2")
        expect(page.locator("[data-stat=outcomes]")).to_have_text("1 · 1 · 0 · 0")
        port = page.locator("tr[data-node=port]")
        expect(port.locator(".check-state-critical")).to_have_text("CRITICAL")
        expect(page.locator("[data-exit='escalate:escalated']")).to_contain_text("1 escalated")
        fits(page, "tree-analytics")
