"""The diagnostics pages: checks, runs, monitors, staff authoring and YAML in the browser."""

import pytest
from django.utils import timezone

from diagnostics.models import Check, CheckRun
from diagnostics.services import check_create, check_runs_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def check(http_stub):
    return check_create(name="Stub <health>", slug="stub-health", type="http", target=f"{http_stub.url}/health",
                        conditions=["[STATUS] == 200"])


def test_check_list_and_htmx_fragment(client, check):
    page = client.get("/diagnostics/checks/")
    assert page.status_code == 200
    assert "Stub &lt;health&gt;" in page.content.decode()  # escaped
    fragment = client.get("/diagnostics/checks/?type=http", HTTP_HX_REQUEST="true")
    assert [t.name for t in fragment.templates][0] == "diagnostics/partials/check_rows.html"
    assert "HX-Request" in fragment["Vary"]
    assert "Stub" not in client.get("/diagnostics/checks/?type=dns", HTTP_HX_REQUEST="true").content.decode()


def test_boosted_navigation_to_the_monitor_list_gets_the_whole_page(client, check):
    response = client.get("/diagnostics/monitors/", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert [t.name for t in response.templates][0] == "diagnostics/monitor_list.html"
    assert "HX-Request" in response["Vary"]


def test_run_now_without_js_redirects_to_results_page(client, user, check, django_capture_on_commit_callbacks):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/diagnostics/checks/{check.pk}/run/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "Done:" in body and 'data-state="ok"' in body
    assert 'http-equiv="refresh"' not in body


def test_run_now_with_htmx_returns_polling_fragment_while_pending(client, user, check):
    client.force_login(user)
    response = client.post(f"/diagnostics/checks/{check.pk}/run/", HTTP_HX_REQUEST="true")  # task not run yet
    body = response.content.decode()
    assert [t.name for t in response.templates][0] == "diagnostics/partials/run_batch.html"
    assert 'hx-trigger="every 1s"' in body
    batch = CheckRun.objects.get().batch
    assert f"/diagnostics/batches/{batch}/" in body
    full_page = client.get(f"/diagnostics/batches/{batch}/")
    assert 'http-equiv="refresh"' in full_page.content.decode()  # the no-JS page refreshes itself


def test_anonymous_cannot_run_checks(client, check):
    response = client.post(f"/diagnostics/checks/{check.pk}/run/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not CheckRun.objects.exists()


def test_check_detail_shows_history_uptime_and_evidence(client, user, check, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        check_runs_queue(checks=[check])
        check_runs_queue(checks=[check])
    client.force_login(user)
    body = client.get(f"/diagnostics/checks/{check.pk}/").content.decode()
    assert "100%" in body
    assert "<svg" in body and "polyline" in body
    run = CheckRun.objects.first()
    evidence = client.get(f"/diagnostics/runs/{run.pk}/").content.decode()
    assert "status_line" in evidence and "HTTP/1.1 200 OK" in evidence


def test_run_pages_need_a_login_by_default(client, user, check, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch, runs = check_runs_queue(checks=[check])
    pages = [f"/diagnostics/runs/{runs[0].pk}/", f"/diagnostics/batches/{batch}/", f"/diagnostics/checks/{check.pk}/",
             f"/check-results/{batch}/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        assert "status_line" not in response.content.decode()
    client.force_login(user)
    for url in pages:
        assert client.get(url).status_code == 200, url


def test_public_diagnostics_setting_opens_run_pages(client, check, settings, django_capture_on_commit_callbacks):
    settings.TRIAGE_PUBLIC_DIAGNOSTICS = True
    with django_capture_on_commit_callbacks(execute=True):
        _batch, runs = check_runs_queue(checks=[check])
    assert "status_line" in client.get(f"/diagnostics/runs/{runs[0].pk}/").content.decode()


def test_staff_creates_check_and_parse_errors_are_shown(client, staff_user):
    client.force_login(staff_user)
    data = {"name": "API", "slug": "api", "type": "http", "target": "http://localhost:3000/health",
            "timeout_seconds": "5", "retries": "2", "failure_threshold": "1", "success_threshold": "1",
            "enabled": "on", "parameters_text": "method: GET", "conditions_text": "[STATUS] => 200"}
    response = client.post("/diagnostics/checks/new/", data)
    assert response.status_code == 400
    assert "condition 1: cannot parse" in response.content.decode()
    assert not Check.objects.exists()
    data["conditions_text"] = "[STATUS] == 200\n[BODY].json.status == ok"
    response = client.post("/diagnostics/checks/new/", data)
    assert response.status_code == 302
    created = Check.objects.get()
    assert created.conditions == ["[STATUS] == 200", "[BODY].json.status == ok"]
    assert created.parameters == {"method": "GET"}
    data["parameters_text"] = "method: [unclosed"
    response = client.post(f"/diagnostics/checks/{created.pk}/edit/", data)
    assert response.status_code == 400 and "not valid YAML" in response.content.decode()


def test_non_staff_cannot_author_checks(client, user, check):
    client.force_login(user)
    assert client.get("/diagnostics/checks/new/").status_code == 302
    assert client.post(f"/diagnostics/checks/{check.pk}/delete/").status_code == 302
    assert Check.objects.filter(pk=check.pk).exists()
    assert client.get("/diagnostics/checks/export.yml").status_code == 302


def test_staff_imports_and_exports_yaml_in_the_browser(client, staff_user):
    client.force_login(staff_user)
    text = "checks:\n- slug: disk-root\n  name: Root disk\n  type: disk\n  target: /\n  warning: 80\n  critical: 90\n"
    response = client.post("/diagnostics/checks/import/", {"yaml_text": text})
    assert response.status_code == 200 and "Created 1" in response.content.decode()
    exported = client.get("/diagnostics/checks/export.yml")
    assert exported["Content-Type"].startswith("application/yaml")
    assert "slug: disk-root" in exported.content.decode()
    bad = client.post("/diagnostics/checks/import/", {"yaml_text": "checks:\n- slug: x\n  name: X\n  type: http\n  target: nope\n"})
    assert bad.status_code == 400 and "Nothing was imported" in bad.content.decode()


def test_monitor_list_queries_do_not_grow_with_monitors(client, django_assert_max_num_queries):
    def make(count: int, start: int) -> None:
        checks = Check.objects.bulk_create([
            Check(name=f"Monitor {i}", slug=f"monitor-{i}", type="memory", interval_seconds=60, current_state="ok",
                  recent=[["ok", 10.0], ["critical", 30.0], ["ok", 12.0]]) for i in range(start, start + count)
        ])
        now = timezone.now()
        CheckRun.objects.bulk_create([
            CheckRun(check_def=c, status="done", state=state, finished_at=now)
            for c in checks for state in ("ok", "ok", "ok", "critical")
        ])

    make(5, 0)
    with django_assert_max_num_queries(8) as few:
        assert client.get("/diagnostics/monitors/?per_page=1000").status_code == 200
    make(995, 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/diagnostics/monitors/?per_page=1000")
    body = response.content.decode()
    assert body.count('class="sparkline"') == 1000
    assert "75.00%" in body
    assert "1000 monitors" in body


def test_monitor_list_is_paginated_by_default(client):
    Check.objects.bulk_create([Check(name=f"Monitor {i:04}", slug=f"monitor-{i}", type="memory", interval_seconds=60)
                               for i in range(150)])
    body = client.get("/diagnostics/monitors/").content.decode()
    assert "Monitor 0099" in body and "Monitor 0100" not in body
    assert "Page 1 of 2" in body
    assert "Monitor 0100" in client.get("/diagnostics/monitors/?page=2").content.decode()
