"""/api/v1/checks/, check-runs/, monitors/, check-events/: access matrix, validation and queued runs."""

import pytest

from diagnostics.models import Check, CheckRun
from diagnostics.services import check_create, check_runs_queue

pytestmark = pytest.mark.django_db

NEW = {"name": "CoordinAItor API", "slug": "coordinaitor-api", "type": "http",
       "target": "http://localhost:3000/health", "conditions": ["[STATUS] == 200"], "parameters": {"method": "GET"}}


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def check(http_stub):
    return check_create(name="Stub", slug="stub", type="http", target=f"{http_stub.url}/health")


def test_staff_creates_updates_and_deletes_checks(api_client, staff_admin_key):
    created = api_client.post("/api/v1/checks/", NEW, format="json", **bearer(staff_admin_key))
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["current_state"] == ""
    changed = api_client.patch(f"/api/v1/checks/{pk}/", {"interval_seconds": 60}, format="json",
                               **bearer(staff_admin_key))
    assert changed.status_code == 200 and changed.json()["is_monitor"] is True
    assert api_client.delete(f"/api/v1/checks/{pk}/", **bearer(staff_admin_key)).status_code == 204
    assert not Check.objects.exists()


def test_non_staff_cannot_write_checks(api_client, write_key, read_key):
    assert api_client.post("/api/v1/checks/", NEW, format="json", **bearer(write_key)).status_code == 403
    assert api_client.post("/api/v1/checks/", NEW, format="json", **bearer(read_key)).status_code == 403
    assert api_client.post("/api/v1/checks/", NEW, format="json").status_code in (401, 403)
    assert not Check.objects.exists()


def test_invalid_condition_is_a_400_naming_the_field(api_client, staff_admin_key):
    response = api_client.post("/api/v1/checks/", {**NEW, "conditions": ["[STATUS] === 200"]}, format="json",
                               **bearer(staff_admin_key))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert "condition 1" in body["fields"]["conditions"][0]


def test_duplicate_slug_and_bad_types_are_400(api_client, staff_admin_key, check):
    response = api_client.post("/api/v1/checks/", {**NEW, "slug": "stub"}, format="json", **bearer(staff_admin_key))
    assert response.status_code == 400 and "slug" in response.json()["fields"]
    response = api_client.post("/api/v1/checks/", {**NEW, "type": "exec"}, format="json", **bearer(staff_admin_key))
    assert response.status_code == 400


def test_run_returns_202_with_run_ids_and_results_are_readable(api_client, write_key, check,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/v1/checks/{check.pk}/run/", **bearer(write_key))
    assert response.status_code == 202
    body = response.json()
    assert len(body["runs"]) == 1 and body["batch"]
    run = api_client.get(f"/api/v1/check-runs/{body['runs'][0]}/", **bearer(write_key)).json()
    assert run["check"] == check.pk and run["state"] == "ok" and run["status"] == "done"
    assert run["metrics"][0]["name"] == "response_time"
    assert run["evidence"]["status_line"] == "HTTP/1.1 200 OK"
    listed = api_client.get(f"/api/v1/check-runs/?batch={body['batch']}", **bearer(write_key)).json()
    assert listed["count"] == 1
    events = api_client.get(f"/api/v1/check-events/?check={check.pk}", **bearer(write_key)).json()
    assert events["results"][0]["to_state"] == "ok"


def test_run_needs_a_signed_in_user_with_write_scope(api_client, read_key, check):
    assert api_client.post(f"/api/v1/checks/{check.pk}/run/").status_code in (401, 403)
    assert api_client.post(f"/api/v1/checks/{check.pk}/run/", **bearer(read_key)).status_code == 403
    assert api_client.post("/api/v1/checks/999999/run/", **bearer(read_key)).status_code in (403, 404)
    assert not CheckRun.objects.exists()


def test_run_of_missing_check_is_404(api_client, write_key):
    assert api_client.post("/api/v1/checks/999999/run/", **bearer(write_key)).status_code == 404


def test_monitors_list_uptime_and_recent(api_client, check, django_capture_on_commit_callbacks):
    Check.objects.filter(pk=check.pk).update(interval_seconds=60)
    check_create(name="Not a monitor", slug="manual", type="memory")
    with django_capture_on_commit_callbacks(execute=True):
        check_runs_queue(checks=[check])
    body = api_client.get("/api/v1/monitors/").json()
    assert [m["slug"] for m in body["results"]] == ["stub"]
    assert body["results"][0]["uptime_24h"] == 100.0
    assert body["results"][0]["recent"][0][0] == "ok"


def test_filters_on_checks(api_client, check):
    check_create(name="Disk", slug="disk", type="disk", target="/")
    assert [c["slug"] for c in api_client.get("/api/v1/checks/?type=disk").json()["results"]] == ["disk"]
    assert [c["slug"] for c in api_client.get("/api/v1/checks/?q=stu").json()["results"]] == ["stub"]


def test_every_diagnostics_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in ("/api/v1/checks/", "/api/v1/checks/{id}/", "/api/v1/checks/{id}/run/", "/api/v1/check-runs/",
                 "/api/v1/check-runs/{id}/", "/api/v1/monitors/", "/api/v1/check-events/"):
        assert path in paths, path
    assert "202" in paths["/api/v1/checks/{id}/run/"]["post"]["responses"]


@pytest.mark.parametrize("url", ["/api/v1/check-runs/", "/api/v1/check-events/"])
def test_run_evidence_needs_a_login_unless_diagnostics_are_public(api_client, read_key, settings, url):
    assert api_client.get(url).status_code in (401, 403)
    assert api_client.get(url, **bearer(read_key)).status_code == 200
    settings.TRIAGE_PUBLIC_DIAGNOSTICS = True
    assert api_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/check-runs/", "/api/v1/check-events/"])
@pytest.mark.parametrize("value", ["1e19", "99999999999999999999", "0", "abc"])
def test_an_out_of_range_check_id_filter_is_a_400(api_client, read_key, url, value):
    response = api_client.get(url, {"check": value}, **bearer(read_key))
    assert response.status_code == 400
