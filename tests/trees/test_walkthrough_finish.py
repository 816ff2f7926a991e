"""How a walkthrough ends and what it looks like: "None of these" on every question, the finish panels,
state colours that match the check's result, the full transcript and a diagram that loads only on request."""

from __future__ import annotations

import re

import pytest

from trees import analytics, mermaid, services, views
from trees import walkthrough as walking
from trees.models import Walkthrough
from trees.options import NONE_LABEL, node_options

from .test_trees_support import TREE_YAML

pytest_plugins = ["tests.trees.test_trees_support"]

pytestmark = pytest.mark.django_db
Outcome = Walkthrough.Outcome

NO_ESCALATE_YAML = """\
slug: disk-full
title: The disk is full
system: shop
entry: which
nodes:
- key: which
  kind: question
  title: Which disk is full?
  answers:
  - label: The root disk
    next: clean
- key: clean
  kind: solution
  title: Clean the package cache
  prompt: Run `apt-get clean`.
  next: which
"""


@pytest.fixture
def bare_tree(shop):
    return services.tree_import_yaml(text=NO_ESCALATE_YAML, note="test").tree


def answer(walkthrough: Walkthrough, number: int, choice: str, user=None) -> Walkthrough:
    return walking.walkthrough_answer(walkthrough=walkthrough, step_number=number, choice=choice, user=user).walkthrough


def test_every_question_offers_none_of_these_leading_to_the_escalate_node(tree, user):
    walkthrough = walking.walkthrough_start(tree=tree, user=user)
    labels = [o.label for o in node_options(tree.nodes.get(key="running"))]
    assert labels == ["Yes", "No", NONE_LABEL]
    walkthrough = answer(walkthrough, 1, "none", user)
    assert walkthrough.outcome == Outcome.IN_PROGRESS
    assert list(walkthrough.steps.values_list("node_key", flat=True)) == ["running", "escalate"]


def test_none_of_these_without_an_escalate_node_ends_not_covered(client, user, bare_tree):
    client.force_login(user)
    client.post("/trees/shop/disk-full/start/")
    walkthrough = Walkthrough.objects.get()
    response = client.post(walkthrough.step_url(1), {"choice": "none"})
    assert response.status_code == 302
    walkthrough.refresh_from_db()
    assert walkthrough.outcome == Outcome.NOT_COVERED and walkthrough.exit_node_key == "which"
    body = client.get(walkthrough.step_url(1)).content.decode()
    assert "This tree does not cover what you see." in body
    assert "/search/?q=The+disk+is+full" in body and 'href="/match/"' in body
    assert f"/incidents/new/?walkthrough={walkthrough.pk}" in body  # the registered escalation URL builder


def test_a_tree_that_already_says_none_of_these_gets_no_second_one(shop):
    text = TREE_YAML.replace("  - label: No\n    next: start\n", "  - label: No\n    next: start\n"
                             "  - label: None of these\n    next: escalate\n")
    tree = services.tree_import_yaml(text=text, note="test").tree
    labels = [o.label for o in node_options(tree.nodes.get(key="running"))]
    assert labels.count(NONE_LABEL) == 1 and labels[-1] == NONE_LABEL


def test_diagram_and_walking_order_leave_out_the_implicit_answer(tree):
    assert "none" not in mermaid.tree_mermaid(tree).replace("None", "")


def test_a_critical_check_is_announced_in_critical_colours(client, user, tree, django_capture_on_commit_callbacks):
    client.force_login(user)
    client.post("/trees/shop/api-down/start/")
    walkthrough = Walkthrough.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(walkthrough.step_url(1), {"choice": "1"})  # Yes: the check runs against a closed port
    response = client.get(walkthrough.step_url(2), follow=True)  # the finished run answers the step
    assert response.redirect_chain[-1][0] == walkthrough.step_url(3)
    body = response.content.decode()
    assert "The check answered step 2: CRITICAL" in body
    assert 'class="walk-notice walk-state-critical"' in body
    assert 'class="check-state check-state-critical" data-state="critical"' in body
    assert "walk-state-ok" not in body
    check_page = client.get(walkthrough.step_url(2)).content.decode()
    assert 'data-state="critical">CRITICAL</span>' in check_page and 'walk-check walk-state-critical' in check_page


def test_escalate_step_also_offers_search_and_paste(client, user, tree):
    client.force_login(user)
    walkthrough = walking.walkthrough_start(tree=tree, user=user)
    answer(walkthrough, 1, "none", user)
    body = client.get(walkthrough.step_url(2)).content.decode()
    assert "Before you file it" in body and 'href="/match/"' in body


def test_a_solution_step_is_a_finish_panel_and_yes_says_it_is_done(client, user, tree):
    client.force_login(user)
    walkthrough = walking.walkthrough_start(tree=tree, user=user)
    answer(walkthrough, 1, "Yes", user)
    answer(walkthrough, 2, "critical", user)  # the walker answers the check step: the firewall fix
    step = client.get(walkthrough.step_url(3)).content.decode()
    assert "walk-step walk-finish" in step and "Did this fix it?" in step and "Firewall rules" in step
    assert "data-outcome" not in step
    client.post(walkthrough.step_url(3), {"choice": "fixed"})
    done = client.get(walkthrough.step_url(3)).content.decode()
    assert 'data-outcome="resolved"' in done and "Fixed — the walkthrough is finished." in done
    client.post(walkthrough.step_url(3), {"choice": "not_fixed"})
    assert walkthrough.steps.order_by("order").last().node_key == "escalate"


def test_transcript_shows_long_lines_in_full_with_state_badges(client, user, tree):
    client.force_login(user)
    long_line = "ERROR " + "connection refused by upstream " * 15  # 471 characters, all kept
    walkthrough = walking.walkthrough_start(tree=tree, user=user, context={"line": long_line})
    answer(walkthrough, 1, "Yes", user)
    answer(walkthrough, 2, "critical", user)
    body = client.get(f"/trees/shop/api-down/walk/{walkthrough.pk}/transcript/").content.decode()
    assert long_line.strip() in body  # not cut
    assert 'class="walk-transcript-steps"' in body and '<pre class="walk-transcript">' in body
    assert "It fails (CRITICAL)" in body


def test_tree_page_loads_the_diagram_script_only_on_request(client, tree):
    body = client.get("/trees/shop/api-down/").content.decode()
    assert "mermaid.min.js\"></script>" not in body and "mermaid.initialize" not in body
    assert "<summary>Show diagram</summary>" in body
    script = views._mermaid_script()
    assert (f'data-mermaid-src="{script}"' in body) if script else ("data-mermaid-src" not in body)
    assert "<details class=\"tree-diagram-box\" id=\"tree-diagram\" open" not in body
    assert "“None of these”, which leads to “Call the shop on-call engineer”" in body


def test_analytics_count_not_covered_and_show_what_checks_said(client, staff_user, tree, bare_tree):
    walkthrough = walking.walkthrough_start(tree=bare_tree)
    answer(walkthrough, 1, "none")
    stats = analytics.tree_analytics(bare_tree)
    assert stats.completions == 1 and stats.outcomes[Outcome.NOT_COVERED] == 1
    checked = walking.walkthrough_start(tree=tree)
    answer(checked, 1, "Yes")
    checked.steps.filter(order=2).update(check_state="critical")
    row = next(r for r in analytics.tree_analytics(tree).nodes if r.key == "port")
    assert row.check_state_list == [("critical", 1)]
    client.force_login(staff_user)
    body = client.get("/trees/shop/api-down/analytics/").content.decode()
    assert re.search(r'<tr data-node="port">.*?data-state="critical">CRITICAL</span>\s*1</span>', body, re.S)
