"""Monitors look like an uptime monitor: heartbeat bars, uptime that says what it rests on, live history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics.engine import CheckResult
from diagnostics.models import Check, CheckRun
from diagnostics.selectors import check_heartbeats, check_uptimes
from diagnostics.services import check_create, check_runs_record

pytestmark = pytest.mark.django_db


def record(check: Check, states: list[str]) -> None:
    for number, state in enumerate(states):
        run = CheckRun.objects.create(check_def=check, trigger=CheckRun.Trigger.MONITOR)
        check_runs_record(outcomes=[(run, CheckResult(state=state, message=f"run {number}", duration_ms=5.0))])


@pytest.fixture
def monitor() -> Check:
    return check_create(name="Payments DB", slug="payments-db", type="tcp", target="127.0.0.1:9",
                        interval_seconds=60, warning_threshold=200, critical_threshold=500)


def test_heartbeats_are_the_last_fifty_runs_oldest_first(monitor):
    record(monitor, ["ok"] * 55 + ["critical"])
    beats = check_heartbeats(check_ids=[monitor.pk])[monitor.pk]
    assert len(beats) == 50
    assert beats[-1].state == "critical" and beats[-1].message == "run 55"
    assert beats[0].message == "run 6"


def test_monitor_list_draws_a_heartbeat_bar_per_monitor_padded_to_fifty(client, monitor):
    record(monitor, ["ok", "ok", "critical"])
    body = client.get("/diagnostics/monitors/").content.decode()
    assert body.count('class="beat beat-empty"') == 47
    assert body.count('class="beat beat-ok"') == 2 and body.count('class="beat beat-critical"') == 1
    assert "of 3 runs" in body


def test_uptime_says_how_many_runs_it_rests_on_and_when_history_is_short(monitor):
    record(monitor, ["ok", "critical"])
    uptimes = check_uptimes(monitor)
    assert uptimes["30 d"] == {"percent": 50.0, "runs": 2, "covered": False}
    old = timezone.now() - timedelta(days=40)
    CheckRun.objects.filter(check_def=monitor).update(finished_at=old)
    record(monitor, ["ok"])
    assert check_uptimes(monitor)["30 d"] == {"percent": 100.0, "runs": 1, "covered": True}


def test_check_page_shows_uptime_with_run_counts_units_and_a_live_history(client, user, monitor):
    record(monitor, ["ok", "critical"])
    client.force_login(user)  # run history is evidence: signed-in only unless TRIAGE_PUBLIC_DIAGNOSTICS
    body = client.get(f"/diagnostics/checks/{monitor.pk}/").content.decode()
    assert "50.00% of 2 runs (history is shorter than this window)" in body
    assert "warning 200.0 ms, critical 500.0 ms" in body
    assert 'id="check-history"' in body and 'hx-trigger="every 10s"' in body


def test_new_monitor_opens_the_check_form_with_a_schedule(client, staff_user):
    client.force_login(staff_user)
    body = client.get("/diagnostics/checks/new/?monitor=1").content.decode()
    assert 'name="interval_seconds" value="60"' in body


def test_monitor_page_offers_new_and_edit_to_staff_only(client, user, staff_user, monitor):
    client.force_login(user)
    body = client.get("/diagnostics/monitors/").content.decode()
    assert "New monitor" not in body and f"/diagnostics/checks/{monitor.pk}/edit/" not in body
    client.force_login(staff_user)
    body = client.get("/diagnostics/monitors/").content.decode()
    assert "New monitor" in body and f"/diagnostics/checks/{monitor.pk}/edit/" in body
