"""`/api/v1/trees/` (staff CRUD, YAML in and out) and `/api/v1/walkthroughs/` (a bot drives a tree)."""

from __future__ import annotations

import pytest

from diagnostics.models import CheckRun
from trees.models import DecisionTree, Walkthrough

from .test_trees_support import TREE_YAML

# The shared fixtures (shop, tree, listening_port) live in test_trees_support.
pytest_plugins = ["tests.trees.test_trees_support"]

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


# --- trees ---------------------------------------------------------------------------------------------


def test_trees_list_filters_by_system_and_hides_drafts(api_client, tree, read_key):
    other = TREE_YAML.replace("slug: api-down", "slug: draft-one").replace("status: published", "status: draft")
    from trees import services

    services.tree_import_yaml(text=other)
    listed = api_client.get("/api/v1/trees/?system=shop", **bearer(read_key)).json()
    assert [t["slug"] for t in listed["results"]] == ["api-down"]
    assert api_client.get("/api/v1/trees/?system=nope", **bearer(read_key)).json()["results"] == []


def test_tree_detail_has_nodes_and_yaml_comes_out_exactly(api_client, tree, read_key):
    body = api_client.get(f"/api/v1/trees/{tree.pk}/", **bearer(read_key)).json()
    assert body["entry"] == "running" and [n["key"] for n in body["nodes"]][:2] == ["running", "start"]
    port = next(n for n in body["nodes"] if n["key"] == "port")
    assert port["check"] == "shop-api-port" and port["branches"]["CRITICAL"] == "firewall"
    response = api_client.get(f"/api/v1/trees/{tree.pk}/yaml/", **bearer(read_key))
    assert response["Content-Type"].startswith("application/yaml") and response.content.decode() == TREE_YAML


def test_staff_create_from_json_or_raw_yaml_and_replace(api_client, shop, staff_admin_key):
    created = api_client.post("/api/v1/trees/", {"yaml": TREE_YAML, "note": "first"}, format="json",
                              **bearer(staff_admin_key))
    assert created.status_code == 201 and created.json()["revision"] == 1
    tree_id = created.json()["id"]
    same = api_client.generic("POST", "/api/v1/trees/", TREE_YAML.encode(), content_type="application/yaml",
                              **bearer(staff_admin_key))
    assert same.status_code == 200 and same.json()["revision"] == 1  # unchanged: no new revision
    changed = TREE_YAML.replace("Start the service", "Start it")
    put = api_client.put(f"/api/v1/trees/{tree_id}/", {"yaml": changed}, format="json", **bearer(staff_admin_key))
    assert put.status_code == 200 and put.json()["revision"] == 2


def test_invalid_yaml_is_a_400_listing_every_problem(api_client, shop, staff_admin_key):
    bad = TREE_YAML.replace("check: shop-api-port", "check: nope").replace("article: firewall-rules", "article: x", 1)
    response = api_client.post("/api/v1/trees/", {"yaml": bad}, format="json", **bearer(staff_admin_key))
    body = response.json()
    assert response.status_code == 400 and body["error"] == "invalid"
    assert len(body["fields"]["yaml"]) == 2 and not DecisionTree.objects.exists()


def test_put_of_another_trees_yaml_is_refused(api_client, tree, staff_admin_key):
    other = TREE_YAML.replace("slug: api-down", "slug: other")
    response = api_client.put(f"/api/v1/trees/{tree.pk}/", {"yaml": other}, format="json", **bearer(staff_admin_key))
    assert response.status_code == 400 and "not 'api-down'" in response.json()["detail"]


def test_tree_writes_need_staff_and_the_write_scope(api_client, tree, write_key, read_key, staff_user):
    assert api_client.post("/api/v1/trees/", {"yaml": TREE_YAML}, format="json").status_code == 401
    assert api_client.post("/api/v1/trees/", {"yaml": TREE_YAML}, format="json",
                           **bearer(write_key)).status_code == 403
    assert api_client.delete(f"/api/v1/trees/{tree.pk}/", **bearer(read_key)).status_code == 403


def test_staff_delete_a_tree(api_client, tree, staff_admin_key):
    assert api_client.delete(f"/api/v1/trees/{tree.pk}/", **bearer(staff_admin_key)).status_code == 204
    assert not DecisionTree.objects.exists()


# --- walkthroughs --------------------------------------------------------------------------------------


def test_a_bot_walks_a_tree_through_a_check_that_answers_itself(api_client, tree, write_key, listening_port,
                                                                django_capture_on_commit_callbacks):
    started = api_client.post("/api/v1/walkthroughs/", {
        "tree": tree.pk, "context": {"line": f"connect ECONNREFUSED 127.0.0.1:{listening_port}"}},
        format="json", **bearer(write_key))
    assert started.status_code == 201
    body = started.json()
    assert body["context"] == {"host": "127.0.0.1", "port": str(listening_port),
                               "line": f"connect ECONNREFUSED 127.0.0.1:{listening_port}"}
    assert body["current"]["step"]["node_key"] == "running"
    assert {"choice": "1", "label": "Yes"} in body["current"]["options"]
    wid = body["id"]
    with django_capture_on_commit_callbacks(execute=True):
        answered = api_client.post(f"/api/v1/walkthroughs/{wid}/answer/", {"choice": "Yes"}, format="json",
                                   **bearer(write_key))
    assert answered.json()["current"]["step"]["node_key"] == "port"
    assert CheckRun.objects.get().trigger == CheckRun.Trigger.API
    # Reading it again lets the finished (CRITICAL: the tree's port is closed) check answer the step.
    current = api_client.get(f"/api/v1/walkthroughs/{wid}/", **bearer(write_key)).json()
    assert current["current"]["step"]["node_key"] == "firewall"
    assert current["steps"][1]["answered_by_check"] is True and current["steps"][1]["check_state"] == "critical"
    assert current["current"]["article_url"] == "/systems/shop/firewall-rules/"
    done = api_client.post(f"/api/v1/walkthroughs/{wid}/answer/", {"choice": "fixed"}, format="json",
                           **bearer(write_key)).json()
    assert done["outcome"] == "resolved" and done["current"] is None


def test_a_bot_can_go_back_change_an_answer_and_escalate(api_client, tree, write_key):
    wid = api_client.post("/api/v1/walkthroughs/", {"tree": tree.pk}, format="json", **bearer(write_key)).json()["id"]
    answer = lambda **data: api_client.post(f"/api/v1/walkthroughs/{wid}/answer/", data, format="json",  # noqa: E731
                                            **bearer(write_key))
    answer(choice="No")
    back = api_client.post(f"/api/v1/walkthroughs/{wid}/back/", **bearer(write_key)).json()
    assert back["current"]["step"]["node_key"] == "running" and len(back["steps"]) == 1
    answer(choice="Yes")
    answer(choice="critical")
    changed = answer(choice="ok", step=2).json()
    assert [s["node_key"] for s in changed["steps"]] == ["running", "port", "fixed-config"]
    answer(choice="not_fixed")
    escalated = answer(choice="escalate").json()
    assert escalated["outcome"] == "escalated" and escalated["incident_url"] == f"/incidents/new/?walkthrough={wid}"
    transcript = api_client.get(f"/api/v1/walkthroughs/{wid}/transcript/", **bearer(write_key)).json()
    assert "2. Does the API port accept connections? — It works (OK)" in transcript["text"]


def test_walkthrough_errors_are_clear_400s(api_client, tree, write_key):
    assert api_client.post("/api/v1/walkthroughs/", {"tree": 999}, format="json",
                           **bearer(write_key)).status_code == 400
    wid = api_client.post("/api/v1/walkthroughs/", {"tree": tree.pk}, format="json", **bearer(write_key)).json()["id"]
    response = api_client.post(f"/api/v1/walkthroughs/{wid}/answer/", {"choice": "banana"}, format="json",
                               **bearer(write_key))
    assert response.status_code == 400 and "choose one of: 1 (Yes), 2 (No)" in response.json()["detail"]
    assert api_client.post(f"/api/v1/walkthroughs/{wid}/back/", **bearer(write_key)).status_code == 400


def test_only_the_walker_may_answer_and_anonymous_may_not_start(api_client, tree, write_key, staff_admin_key,
                                                                 other_user):
    from accounts.services import api_key_create

    assert api_client.post("/api/v1/walkthroughs/", {"tree": tree.pk}, format="json").status_code == 401
    wid = api_client.post("/api/v1/walkthroughs/", {"tree": tree.pk}, format="json", **bearer(write_key)).json()["id"]
    other_key = api_key_create(user=other_user, scopes=["write"])[1]
    assert api_client.get(f"/api/v1/walkthroughs/{wid}/", **bearer(other_key)).status_code == 200
    assert api_client.post(f"/api/v1/walkthroughs/{wid}/answer/", {"choice": "No"}, format="json",
                           **bearer(other_key)).status_code == 403
    assert api_client.get("/api/v1/walkthroughs/", **bearer(other_key)).json()["results"] == []
    assert api_client.post(f"/api/v1/walkthroughs/{wid}/abandon/", **bearer(staff_admin_key)).json()["outcome"] == \
        "abandoned"
    assert Walkthrough.objects.get().outcome == "abandoned"
