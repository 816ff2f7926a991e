"""The walkthrough pages: step URLs, htmx swaps with pushed URLs, no-JS redirects, access, staff pages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diagnostics.models import CheckRun
from diagnostics.services import check_runs_execute
from tests.factories import SignatureFactory
from trees import walkthrough as walking
from trees.models import Walkthrough

from .test_trees_support import TREE_YAML

# The shared fixtures (shop, tree, listening_port) live in test_trees_support.
pytest_plugins = ["tests.trees.test_trees_support"]

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def template_names(response) -> list[str]:
    return [t.name for t in response.templates]


@pytest.fixture
def started(client, user, tree):
    client.force_login(user)
    response = client.post("/trees/shop/api-down/start/")
    walkthrough = Walkthrough.objects.get()
    assert response.status_code == 302 and response["Location"] == walkthrough.step_url(1)
    return walkthrough


def test_tree_page_shows_start_form_diagram_and_steps_in_words(client, tree):
    body = client.get("/trees/shop/api-down/").content.decode()
    assert '<pre class="mermaid"' in body and "flowchart TD" in body
    assert 'id="node-port"' in body and "Shop API port" in body
    assert 'action="/trees/shop/api-down/start/"' in body
    assert "/nodes/port/edit/" not in body  # editing is for staff


def test_tree_page_prefills_host_and_port_from_a_matched_line(client, tree):
    body = client.get("/trees/shop/api-down/?symptom=1&line=connect+ECONNREFUSED+127.0.0.1:5432").content.decode()
    assert 'value="127.0.0.1"' in body and 'value="5432"' in body and "ECONNREFUSED" in body


def test_start_keeps_the_context_and_rejects_bad_values(client, user, tree):
    client.force_login(user)
    bad = client.post("/trees/shop/api-down/start/", {"host": "bad host!", "port": "99999"})
    assert bad.status_code == 400 and not Walkthrough.objects.exists()
    client.post("/trees/shop/api-down/start/", {"host": "127.0.0.1", "port": "5432", "line": "boom", "symptom": "3"})
    assert Walkthrough.objects.get().context == {"host": "127.0.0.1", "port": "5432", "line": "boom", "symptom": 3}


def test_step_page_shows_the_question_and_its_answers(client, started):
    response = client.get(started.step_url(1))
    body = response.content.decode()
    assert template_names(response)[0] == "trees/walkthrough.html"
    assert "Is the API process running?" in body and 'value="1"' in body and ">Yes</button>" in body
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_answer_swaps_in_the_next_step_and_pushes_its_url(client, started):
    response = client.post(started.step_url(1), {"choice": "2"}, **HX)
    assert template_names(response)[0] == "trees/partials/walkthrough_step.html"
    assert response["HX-Push-Url"] == started.step_url(2)
    assert "Start the service" in response.content.decode()


def test_answer_without_javascript_redirects_to_the_next_step(client, started):
    response = client.post(started.step_url(1), {"choice": "No"})
    assert response.status_code == 302 and response["Location"] == started.step_url(2)


def test_a_check_step_polls_until_the_run_is_done_then_shows_where_it_led(client, started):
    client.post(started.step_url(1), {"choice": "Yes"})  # the run is queued, not executed (on_commit in tests)
    pending = client.get(started.step_url(2))
    body = pending.content.decode()
    assert 'hx-trigger="every 1s"' in body and "Running" in body and 'http-equiv="refresh"' in body
    poll = client.get(started.step_url(2), HTTP_HX_TRIGGER="walk-poll", **HX)
    assert poll.status_code == 204  # nothing new yet: htmx keeps the page
    check_runs_execute(run_ids=list(CheckRun.objects.values_list("pk", flat=True)))
    done = client.get(started.step_url(2), HTTP_HX_TRIGGER="walk-poll", **HX)
    assert done["HX-Push-Url"] == started.step_url(3)
    text = done.content.decode()
    assert "Open the port in the firewall" in text and "The check answered step 2: CRITICAL" in text
    # Without JavaScript the same URL redirects onward.
    assert client.get(started.step_url(2)).status_code == 200  # now an answered step: shown, not moved


def test_earlier_steps_show_their_answer_and_can_be_changed(client, started):
    client.post(started.step_url(1), {"choice": "No"})
    client.post(started.step_url(2), {"choice": "done"})
    body = client.get(started.step_url(1)).content.decode()
    assert "You answered: <strong>No</strong>" in body and 'aria-pressed="true"' in body
    assert "Change the answer" in body and "Continue to step 2" in body
    response = client.post(started.step_url(1), {"choice": "Yes"})
    assert response["Location"] == started.step_url(2)
    assert list(started.steps.values_list("node_key", flat=True)) == ["running", "port"]


def test_breadcrumbs_list_every_answer_with_a_link_to_change_it(client, started):
    client.post(started.step_url(1), {"choice": "No"})
    body = client.get(started.step_url(2)).content.decode()
    assert "1. Is the API process running?" in body and "→ No" in body
    assert 'aria-label="Change the answer to step 1"' in body


def test_a_dropped_step_url_leads_to_the_current_step(client, started):
    client.post(started.step_url(1), {"choice": "No"})
    client.post(started.step_url(2), {"choice": "done"})
    client.post(started.step_url(1), {"choice": "No"})  # same answer: steps kept
    assert started.steps.count() == 3
    client.post(started.step_url(1), {"choice": "Yes"})
    assert client.get(started.step_url(3))["Location"] == started.step_url(2)


def test_invalid_choice_is_a_400_with_the_message(client, started):
    response = client.post(started.step_url(1), {"choice": "perhaps"})
    assert response.status_code == 400 and "is not an answer to this step" in response.content.decode()
    assert client.post(started.step_url(1), {"choice": "perhaps"}, **HX).status_code == 422


def test_escalating_redirects_to_the_prefilled_incident_form(client, started):
    client.post(started.step_url(1), {"choice": "Yes"})
    client.post(started.step_url(2), {"choice": "critical"})
    client.post(started.step_url(3), {"choice": "not_fixed"})
    response = client.post(started.step_url(4), {"choice": "escalate"})
    assert response.status_code == 302 and response["Location"] == f"/incidents/new/?walkthrough={started.pk}"
    form = client.get(response["Location"]).content.decode()
    assert "not solved by the decision tree" in form and "A walkthrough transcript will be attached" in form
    htmx = client.post(started.step_url(4), {"choice": "escalate"}, **HX)
    assert htmx["HX-Redirect"].startswith("/incidents/new/?")


def test_resume_link_goes_to_the_current_step(client, started):
    client.post(started.step_url(1), {"choice": "No"})
    assert client.get(started.get_absolute_url())["Location"] == started.step_url(2)
    assert "Resume it" in client.get("/trees/shop/api-down/").content.decode()


def test_restart_abandons_and_starts_over(client, started):
    client.post(started.step_url(1), {"choice": "No"})
    response = client.post(f"{started.get_absolute_url()}restart/")
    fresh = Walkthrough.objects.exclude(pk=started.pk).get()
    assert response["Location"] == fresh.step_url(1)
    started.refresh_from_db()
    assert started.outcome == Walkthrough.Outcome.ABANDONED


def test_colleagues_can_view_a_shared_link_but_not_answer(client, started, other_user):
    share_url = client.get(started.step_url(1)).context["share_url"]
    assert "?share=" in share_url
    client.force_login(other_user)
    page = client.get(share_url)
    assert page.status_code == 200 and "Start your own" in page.content.decode()
    assert client.post(share_url, {"choice": "No"}).status_code == 403


def test_a_walkthrough_is_not_readable_by_its_id_alone(client, started, other_user):
    client.force_login(other_user)
    for url in (started.step_url(1), f"{started.get_absolute_url()}transcript/", started.get_absolute_url(),
                started.step_url(1) + "?share=forged"):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_see_only_their_own_walkthroughs(client, tree, started):
    client.logout()
    assert client.get(started.step_url(1)).status_code == 404
    client.post("/trees/shop/api-down/start/")
    mine = Walkthrough.objects.get(user__isnull=True)
    assert mine.session_key and client.get(mine.step_url(1)).status_code == 200
    client.post(mine.step_url(1), {"choice": "Yes"})
    body = client.get(mine.step_url(2)).content.decode()
    assert "once you <a" in body and "log in</a>" in body and not CheckRun.objects.exists()


def test_transcript_page_and_text_download(client, started):
    client.post(started.step_url(1), {"choice": "No"})
    page = client.get(f"{started.get_absolute_url()}transcript/")
    assert "1. Is the API process running? — No" in page.content.decode()
    text = client.get(f"{started.get_absolute_url()}transcript/?format=text")
    assert text["Content-Type"].startswith("text/plain") and b"Is the API process running?" in text.content


def test_user_supplied_text_is_escaped(client, user, tree):
    client.force_login(user)
    client.post("/trees/shop/api-down/start/", {"line": "<script>alert(1)</script>"})
    walkthrough = Walkthrough.objects.get()
    body = client.get(f"{walkthrough.get_absolute_url()}transcript/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_drafts_are_hidden_from_non_staff(client, user, staff_user, tree):
    tree.status = "draft"
    tree.save()
    client.force_login(user)
    assert client.get("/trees/shop/api-down/").status_code == 404
    client.force_login(staff_user)
    assert client.get("/trees/shop/api-down/").status_code == 200


# --- entry points --------------------------------------------------------------------------------------


def test_system_and_article_pages_link_their_trees(client, tree):
    assert 'href="/trees/shop/api-down/"' in client.get("/systems/shop/").content.decode()
    assert 'href="/trees/shop/api-down/"' in client.get("/systems/shop/firewall-rules/").content.decode()


def test_match_results_open_the_tree_of_the_matched_symptom_with_the_line(client, tree):
    SignatureFactory(symptom=tree.symptoms.get(), text="connect ECONNREFUSED 10.0.0.1:8080")
    body = client.post("/match/", {"text": "app | connect ECONNREFUSED 127.0.0.1:4242"}).content.decode()
    assert "/trees/shop/api-down/?symptom=" in body and "line=app%20%7C%20connect%20ECONNREFUSED" in body


# --- staff pages ---------------------------------------------------------------------------------------


def test_staff_edit_a_node_and_it_becomes_a_revision(client, staff_user, tree):
    client.force_login(staff_user)
    form = client.get("/trees/shop/api-down/nodes/running/edit/")
    assert form.status_code == 200 and "Yes -&gt; port" in form.content.decode()
    response = client.post("/trees/shop/api-down/nodes/running/edit/", {
        "title": "Is shop-api running?", "prompt": "Look at **systemctl**.", "answers": "Yes -> port\nNo -> start"})
    assert response.status_code == 302
    node = tree.nodes.get(key="running")
    assert node.title == "Is shop-api running?" and "<strong>systemctl</strong>" in node.prompt_html
    assert tree.revisions.count() == 2


def test_node_edit_that_breaks_the_tree_shows_the_problems(client, staff_user, tree):
    client.force_login(staff_user)
    response = client.post("/trees/shop/api-down/nodes/running/edit/", {"answers": "Yes -> nowhere\nNo -> start"})
    assert response.status_code == 400 and "points at" in response.content.decode()
    assert tree.revisions.count() == 1


def test_non_staff_cannot_edit_upload_or_see_analytics(client, user, tree):
    assert client.get("/trees/shop/api-down/analytics/").status_code == 302  # to log in
    client.force_login(user)
    for url in ("/trees/shop/api-down/analytics/", "/trees/shop/api-down/nodes/port/edit/", "/trees/new/",
                "/trees/shop/api-down/upload/", "/trees/shop/api-down/history/"):
        assert client.get(url).status_code == 403, url


def test_yaml_download_and_upload_round_trip(client, staff_user, tree):
    client.force_login(staff_user)
    download = client.get("/trees/shop/api-down/yaml/")
    assert download.content.decode() == TREE_YAML and "attachment" in download["Content-Disposition"]
    changed = TREE_YAML.replace("Start the service", "Start shop-api")
    upload = SimpleUploadedFile("tree.yml", changed.encode(), content_type="application/yaml")
    response = client.post("/trees/shop/api-down/upload/", {"file": upload, "note": "rename"})
    assert response.status_code == 302 and tree.nodes.get(key="start").title == "Start shop-api"
    bad = client.post("/trees/new/", {"text": "title: x\nsystem: shop\nnodes: [{key: a, kind: nope}]"})
    assert bad.status_code == 400 and "unknown kind" in bad.content.decode()


def test_analytics_page_shows_numbers_and_flags(client, staff_user, tree):
    walkthrough = walking.walkthrough_start(tree=tree, user=staff_user)
    walking.walkthrough_answer(walkthrough=walkthrough, step_number=1, choice="No", user=staff_user)
    walking.walkthrough_abandon(walkthrough=walkthrough)
    client.force_login(staff_user)
    body = client.get("/trees/shop/api-down/analytics/").content.decode()
    assert 'data-stat="starts">1<' in body and "needs rework" in body
    assert '<tr data-node="start" class="flagged">' in body


def test_search_hits_link_the_trees_that_lead_to_them(client, tree):
    from kb.services import article_create

    article = article_create(system=tree.system, title="Firewall port rules for the shop API", body="Open 8080.")
    node = tree.nodes.get(key="firewall")
    node.article = article
    node.save()
    body = client.get("/search/", {"q": "firewall port rules"}).content.decode()
    assert "Firewall port rules for the shop API" in body
    assert 'Decision tree: <a href="/trees/shop/api-down/">The shop API is down</a>' in body


def test_search_page_looks_up_trees_for_all_hits_in_one_query(client, tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kb.services import article_create

    node = tree.nodes.get(key="firewall")
    node.article = article_create(system=tree.system, title="Firewall rule 0", body="Open 8080.")
    node.save()
    for n in range(1, 8):
        article_create(system=tree.system, title=f"Firewall rule {n}", body="Open 8080.")
    with CaptureQueriesContext(connection) as captured:
        body = client.get("/search/", {"q": "firewall rule"}).content.decode()
    assert body.count("data-search-hit") >= 8
    assert 'Decision tree: <a href="/trees/shop/api-down/">' in body
    assert sum("kb_treenode" in query["sql"] for query in captured) == 1
