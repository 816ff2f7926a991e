"""Walking a tree: check nodes that answer themselves on each state, changing answers, resuming, escalating."""

from __future__ import annotations

import pytest

from diagnostics.models import Check, CheckRun
from trees import analytics, hooks, selectors, services
from trees import walkthrough as walking
from trees.context import context_from_text
from trees.exceptions import WalkthroughError
from trees.models import Walkthrough, WalkthroughStep

from .test_trees_support import TREE_YAML, aim_check

# The shared fixtures (shop, tree, listening_port) live in test_trees_support.
pytest_plugins = ["tests.trees.test_trees_support"]

pytestmark = pytest.mark.django_db
Outcome = Walkthrough.Outcome


@pytest.fixture
def walk(tree, user, django_capture_on_commit_callbacks):
    """Start as ``user`` and answer "Yes" (the process runs), which enters the check node and runs it."""

    def _walk(context: dict | None = None) -> Walkthrough:
        walkthrough = walking.walkthrough_start(tree=tree, user=user, context=context)
        with django_capture_on_commit_callbacks(execute=True):
            walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="Yes", user=user)
        return walkthrough

    return _walk


def keys(walkthrough: Walkthrough) -> list[str]:
    return list(walkthrough.steps.order_by("order").values_list("node_key", flat=True))


def settle(walkthrough: Walkthrough) -> WalkthroughStep | None:
    return walking.walkthrough_check_settle(walkthrough=walkthrough)


# --- check nodes branch on each state ------------------------------------------------------------------


def test_critical_check_answers_itself_and_follows_the_critical_branch(walk):
    walkthrough = walk()  # the check's port is closed
    step = settle(walkthrough)
    assert step.node_key == "firewall" and keys(walkthrough) == ["running", "port", "firewall"]
    check_step = walkthrough.steps.get(order=2)
    assert (check_step.check_state, check_step.answered_by_check, check_step.choice) == ("critical", True, "critical")
    assert "refused" in check_step.check_message or "CONNECTED" in check_step.check_message


def test_ok_check_follows_the_ok_branch(walk, listening_port):
    aim_check(f"127.0.0.1:{listening_port}")
    walkthrough = walk()
    assert settle(walkthrough).node_key == "fixed-config"
    assert walkthrough.steps.get(order=2).check_state == "ok"


def test_warning_check_follows_the_warning_branch(walk, listening_port):
    aim_check(f"127.0.0.1:{listening_port}", warning_threshold=0.0)  # any connect time is "slow"
    walkthrough = walk()
    assert settle(walkthrough).node_key == "slow"


def test_unknown_check_asks_the_walker_instead(walk, user):
    aim_check("10.255.255.1:80")  # outside the allowlist: the check cannot run, so it cannot tell
    walkthrough = walk()
    assert settle(walkthrough) is None
    step = selectors.walkthrough_current(walkthrough)
    assert (step.node_key, step.check_state, step.is_answered) == ("port", "unknown", False)
    result = walking.walkthrough_answer(walkthrough=walkthrough, step_number=2, choice="I can't tell", user=user)
    assert result.step.node_key == "escalate"
    assert walkthrough.steps.get(order=2).answered_by_check is False


def test_walker_may_answer_a_check_themselves_before_it_finishes(tree, user):
    walkthrough = walking.walkthrough_start(tree=tree, user=user)
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="1", user=user)  # run not executed
    step = selectors.walkthrough_current(walkthrough)
    assert step.check_run.status == CheckRun.Status.QUEUED
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=2, choice="ok", user=user)
    from diagnostics.services import check_runs_execute

    check_runs_execute(run_ids=[step.check_run_id])
    assert settle(walkthrough) is None  # the finished run does not overrule the walker
    assert keys(walkthrough) == ["running", "port", "fixed-config"]


def test_anonymous_walkers_answer_checks_themselves(tree):
    walkthrough = walking.walkthrough_start(tree=tree, session_key="s" * 32)
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="Yes")
    step = selectors.walkthrough_current(walkthrough)
    assert step.node_key == "port" and step.check_run is None
    assert not CheckRun.objects.exists()


def test_check_runs_against_host_and_port_from_the_log(tree, walk, listening_port):
    node = tree.nodes.get(key="port")
    node.check_target = "{host}:{port}"
    node.save()
    walkthrough = walk({"host": "127.0.0.1", "port": str(listening_port), "line": "connect ECONNREFUSED"})
    assert settle(walkthrough).node_key == "fixed-config"  # the tree's own check (closed port) would say CRITICAL
    run = walkthrough.steps.get(order=2).check_run
    assert run.check_def.target == f"127.0.0.1:{listening_port}"
    assert run.check_def.slug.startswith("shop-api-port-at-")
    assert "from your log" in walkthrough.steps.get(order=2).check_message
    # The same values again reuse that check instead of making another.
    walk({"host": "127.0.0.1", "port": str(listening_port)})
    assert Check.objects.filter(slug__startswith="shop-api-port-at-").count() == 1


def test_hosts_outside_the_allowlist_never_get_a_check_made_for_them(tree, walk):
    node = tree.nodes.get(key="port")
    node.check_target = "{host}:{port}"
    node.save()
    walkthrough = walk({"host": "10.9.8.7", "port": "5432"})
    assert not Check.objects.filter(slug__startswith="shop-api-port-at-").exists()
    assert "not a host checks may reach" in walkthrough.steps.get(order=2).check_message


@pytest.mark.parametrize("line, expected", [
    ("connect ECONNREFUSED 127.0.0.1:5432", {"host": "127.0.0.1", "port": "5432"}),
    ("Error 111 connecting to localhost:6379. Connection refused.", {"host": "localhost", "port": "6379"}),
    ('could not connect to server: is the server running on host "db.internal" and accepting TCP/IP '
     "connections on port 5433?", {"host": "db.internal", "port": "5433"}),
    ("httpx.ConnectError: http://127.0.0.1:8100/api/health", {"host": "127.0.0.1", "port": "8100"}),
    ("Error: listen EADDRINUSE: address already in use :::3000", {"port": "3000"}),
    ("2024-05-01 12:00:01 ERROR worker crashed", {}),
])
def test_host_and_port_are_extracted_from_log_lines(line, expected):
    assert context_from_text(line) == expected


# --- answers, going back, changing answers, resuming ---------------------------------------------------


def test_solution_yes_ends_the_walkthrough_resolved(walk, user):
    walkthrough = walk()
    step = settle(walkthrough)
    result = walking.walkthrough_answer(walkthrough=walkthrough, step_number=step.order, choice="fixed", user=user)
    walkthrough.refresh_from_db()
    assert (walkthrough.outcome, walkthrough.exit_node_key) == (Outcome.RESOLVED, "firewall")
    assert walkthrough.finished_at is not None and result.step.order == 3


def test_changing_an_earlier_answer_drops_the_later_steps(walk, user):
    walkthrough = walk()
    settle(walkthrough)
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=3, choice="fixed", user=user)
    result = walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="No", user=user)
    walkthrough.refresh_from_db()
    assert keys(walkthrough) == ["running", "start"] and result.step.node_key == "start"
    assert walkthrough.outcome == Outcome.IN_PROGRESS and walkthrough.finished_at is None


def test_giving_the_same_answer_again_keeps_the_later_steps(walk, user):
    walkthrough = walk()
    settle(walkthrough)
    result = walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="yes", user=user)
    assert result.step.order == 2 and keys(walkthrough) == ["running", "port", "firewall"]


def test_going_back_reopens_the_previous_step_without_rerunning_its_check(walk):
    walkthrough = walk()
    settle(walkthrough)
    step = walking.walkthrough_go_back(walkthrough=walkthrough)
    assert step.node_key == "port" and not step.is_answered and step.auto_answer is False
    assert settle(walkthrough) is None  # the old result does not answer it again
    assert walking.walkthrough_go_back(walkthrough=walkthrough).node_key == "running"
    with pytest.raises(WalkthroughError, match="first step"):
        walking.walkthrough_go_back(walkthrough=walkthrough)


def test_rerun_queues_the_check_again(walk, user, django_capture_on_commit_callbacks):
    walkthrough = walk()
    settle(walkthrough)
    with django_capture_on_commit_callbacks(execute=True):
        walking.walkthrough_answer(walkthrough=walkthrough, step_number=2, choice="rerun", user=user)
    assert CheckRun.objects.count() == 2 and keys(walkthrough) == ["running", "port"]
    assert settle(walkthrough).node_key == "firewall"


def test_bad_choices_are_refused_with_the_choices_offered(walk, user):
    walkthrough = walk()
    with pytest.raises(WalkthroughError, match="choose one of: ok"):
        walking.walkthrough_answer(walkthrough=walkthrough, step_number=2, choice="maybe", user=user)
    with pytest.raises(WalkthroughError, match="no step 9"):
        walking.walkthrough_answer(walkthrough=walkthrough, step_number=9, choice="ok", user=user)


def test_an_unfinished_walkthrough_is_offered_for_resuming(walk, tree, user, other_user):
    walkthrough = walk()
    assert selectors.walkthrough_for_visitor(tree=tree, user=user, session_key=None) == walkthrough
    assert selectors.walkthrough_for_visitor(tree=tree, user=other_user, session_key=None) is None


def test_restart_abandons_and_starts_with_the_same_context(walk, user):
    walkthrough = walk({"host": "127.0.0.1", "port": "1"})
    fresh = walking.walkthrough_restart(walkthrough=walkthrough, user=user)
    walkthrough.refresh_from_db()
    assert walkthrough.outcome == Outcome.ABANDONED and walkthrough.exit_node_key == "port"
    assert fresh.context == {"host": "127.0.0.1", "port": "1"} and keys(fresh) == ["running"]


# --- escalation, links, transcripts --------------------------------------------------------------------


def escalate(walk, user) -> Walkthrough:
    walkthrough = walk({"host": "127.0.0.1", "port": "5432", "line": "connect ECONNREFUSED 127.0.0.1:5432"})
    settle(walkthrough)
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=3, choice="not_fixed", user=user)
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=4, choice="escalate", user=user)
    walkthrough.refresh_from_db()
    return walkthrough


def test_escalation_links_to_the_incident_form_by_walkthrough_id(walk, user):
    walkthrough = escalate(walk, user)
    assert walkthrough.outcome == Outcome.ESCALATED
    assert selectors.walkthrough_incident_url(walkthrough) == f"/incidents/new/?walkthrough={walkthrough.pk}"


def test_escalation_prefill_carries_title_system_severity_and_the_transcript(walk, user):
    walkthrough = escalate(walk, user)
    escalation = selectors.walkthrough_escalation(walkthrough_id=walkthrough.pk, user=user)
    assert escalation.system_slug == "shop" and escalation.severity == "sev2"
    assert "The shop API is down" in escalation.title
    transcript = escalation.transcript
    assert "1. Is the API process running? — Yes" in transcript
    assert "[check: CRITICAL" in transcript and "(answered by the check)" in transcript
    assert "Values from the log: host=127.0.0.1, port=5432" in transcript
    assert transcript == selectors.walkthrough_transcript(walkthrough)


def test_escalation_prefill_is_refused_to_visitors_who_cannot_see_the_walkthrough(walk, user):
    from django.contrib.auth.models import AnonymousUser

    walkthrough = escalate(walk, user)
    assert selectors.walkthrough_escalation(walkthrough_id=walkthrough.pk, user=AnonymousUser()) is None
    assert selectors.walkthrough_escalation(walkthrough_id=walkthrough.pk + 1000, user=user) is None


def test_the_incident_link_stays_short_however_long_the_transcript(walk):
    walkthrough = walk({"line": "x" * 500})
    settle(walkthrough)
    assert len(selectors.walkthrough_transcript(walkthrough)) > 500
    assert len(selectors.walkthrough_incident_url(walkthrough)) < 60


def test_without_a_registered_incident_form_there_is_no_escalation_link(walk, user, monkeypatch):
    walkthrough = escalate(walk, user)
    monkeypatch.setattr(hooks, "_escalation_url_builder", None)
    assert selectors.walkthrough_incident_url(walkthrough) is None


def test_link_nodes_continue_in_the_linked_tree_with_the_same_context(tree, user):
    text = ("slug: entry\ntitle: Where to start\nsystem: shop\nstatus: published\nentry: go\nnodes:\n"
            "- key: go\n  kind: link\n  tree: api-down\n")
    first = services.tree_import_yaml(text=text).tree
    walkthrough = walking.walkthrough_start(tree=first, user=user, context={"port": "80"})
    result = walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="continue", user=user)
    walkthrough.refresh_from_db()
    assert walkthrough.outcome == Outcome.LINKED
    assert result.child.tree == tree and result.child.parent == walkthrough and result.child.context == {"port": "80"}
    assert selectors.walkthrough_transcript(result.child).startswith("Decision tree “Where to start”")


def test_a_removed_node_stops_the_walkthrough_with_a_clear_message(walk, user):
    walkthrough = walk()
    settle(walkthrough)
    text = TREE_YAML.replace("    CRITICAL: firewall\n", "    CRITICAL: escalate\n")
    text = text.replace("- key: firewall\n  kind: solution\n  title: Open the port in the firewall\n"
                        "  article: firewall-rules\n  next: escalate\n", "")
    services.tree_import_yaml(text=text)
    with pytest.raises(WalkthroughError, match="removed from the tree"):
        walking.walkthrough_answer(walkthrough=walkthrough, step_number=3, choice="fixed", user=user)
    # Earlier steps still work: changing the check's answer takes the tree as it is now.
    assert walking.walkthrough_answer(walkthrough=walkthrough, step_number=2, choice="critical",
                                    user=user).step.node_key == "escalate"


# --- analytics -----------------------------------------------------------------------------------------


def test_analytics_count_starts_completions_outcomes_and_flag_abandons(tree, user):
    from datetime import timedelta

    from django.utils import timezone

    def finish(*answers: tuple[int, str]) -> Walkthrough:
        walkthrough = walking.walkthrough_start(tree=tree, user=user)
        for number, choice in answers:
            walking.walkthrough_answer(walkthrough=walkthrough, step_number=number, choice=choice, user=user)
        return walkthrough

    finish((1, "Yes"), (2, "ok"), (3, "fixed"))  # resolved at fixed-config
    finish((1, "Yes"), (2, "ok"), (3, "fixed"))
    finish((1, "Yes"), (2, "critical"), (3, "not_fixed"), (4, "escalate"))  # escalated
    gave_up = finish((1, "No"))
    walking.walkthrough_abandon(walkthrough=gave_up)  # abandoned at "start"
    stale = finish((1, "No"))
    Walkthrough.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(days=2))
    finish()  # still going, recent: neither finished nor abandoned
    # Two minutes at the first question for every walker.
    WalkthroughStep.objects.filter(order=1, left_at__isnull=False).update(
        entered_at=timezone.now() - timedelta(minutes=2), left_at=timezone.now())

    stats = analytics.tree_analytics(tree)
    assert stats.starts == 6 and stats.completions == 3
    assert (stats.outcomes["resolved"], stats.outcomes["escalated"], stats.outcomes["abandoned"]) == (2, 1, 2)
    by_key = {row.key: row for row in stats.nodes}
    assert by_key["running"].visits == 6 and by_key["start"].visits == 2
    assert by_key["start"].abandons == 2 and by_key["start"].drop_off == 100.0 and by_key["start"].flagged
    assert not by_key["fixed-config"].flagged
    assert 119 <= by_key["running"].median_seconds <= 121
    assert ("fixed-config", "Reload the configuration", "resolved", 2) in stats.exits
    assert ("escalate", "Call the shop on-call engineer", "escalated", 1) in stats.exits


def test_a_log_line_cannot_move_a_tree_check_to_another_host(tree, walk, settings):
    settings.TRIAGE_CHECK_ALLOWED_TARGETS = ["127.0.0.0/8", "::1", "localhost"]
    node = tree.nodes.get(key="port")
    node.check_target = "{host}:{port}"
    node.save()
    walkthrough = walk({"host": "127.0.0.2", "port": "6379"})  # allowlisted, but not the check's own host
    assert not Check.objects.filter(slug__startswith="shop-api-port-at-").exists()
    assert "is not the host this check watches" in walkthrough.steps.get(order=2).check_message
