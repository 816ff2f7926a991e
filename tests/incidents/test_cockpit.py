"""The signed-in home page is the on-call cockpit: open incidents with their response targets, monitors that
need attention with heartbeat bars, my action items; anonymous visitors keep the knowledge-base home."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnostics.engine import CheckResult
from diagnostics.models import Check, CheckRun
from diagnostics.services import check_create, check_runs_record
from incidents.models import ActionItem, Incident, PostIncidentReview, Severity
from incidents.selectors import incident_sla
from kb import hooks

pytestmark = pytest.mark.django_db


def record_runs(check: Check, states: list[str]) -> None:
    for number, state in enumerate(states):
        run = CheckRun.objects.create(check_def=check, trigger=CheckRun.Trigger.MONITOR)
        check_runs_record(outcomes=[(run, CheckResult(state=state, message=f"run {number}: {state}",
                                                      duration_ms=12.0))])


def monitor(name: str) -> Check:
    return check_create(name=name, slug=name.lower().replace(" ", "-"), type="tcp", target="127.0.0.1:9",
                        interval_seconds=60)


def test_signed_in_home_shows_open_incident_with_response_countdown_and_commander(client, user, open_incident):
    incident = open_incident(title="Checkout returns 502")
    Incident.objects.filter(pk=incident.pk).update(commander=user)
    client.force_login(user)
    body = client.get(reverse("kb:home")).content.decode()
    assert "On call" in body and "Checkout returns 502" in body
    respond_by = incident.created_at + incident.severity.response_target
    assert f'datetime="{timezone.localtime(respond_by).isoformat()}" data-countdown' in body
    assert f"Commander: {user.get_username()}" in body


def test_closed_incidents_are_not_on_the_cockpit(client, user, open_incident):
    incident = open_incident(title="Already fixed yesterday")
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.CLOSED)
    client.force_login(user)
    assert "Already fixed yesterday" not in client.get(reverse("kb:home")).content.decode()


def test_cockpit_shows_failing_monitor_with_heartbeat_bar_and_hides_steady_ones(client, user):
    failing, steady = monitor("Payments DB"), monitor("Steady cache")
    record_runs(failing, ["ok"] * 5 + ["critical"] * 3)
    record_runs(steady, ["ok"] * 4)
    client.force_login(user)
    body = client.get(reverse("kb:home")).content.decode()
    assert "Payments DB" in body and "Steady cache" not in body
    assert body.count('class="beat beat-critical"') == 3 and body.count('class="beat beat-ok"') == 5
    assert "run 7: critical" in body  # the tooltip names the run's message


def test_a_flapping_monitor_that_is_ok_now_still_needs_attention(client, user):
    flapping = monitor("Checkout API")
    record_runs(flapping, ["ok", "critical", "ok", "critical", "ok"])
    client.force_login(user)
    body = client.get(reverse("kb:home")).content.decode()
    assert "Checkout API" in body and "flapping" in body


def test_cockpit_lists_only_my_open_action_items(client, user, other_user, open_incident):
    review = PostIncidentReview.objects.create(incident=open_incident())
    ActionItem.objects.create(review=review, title="Add a readiness probe", owner=user)
    ActionItem.objects.create(review=review, title="Someone else's chore", owner=other_user)
    ActionItem.objects.create(review=review, title="Already done", owner=user, done=True)
    client.force_login(user)
    body = client.get(reverse("kb:home")).content.decode()
    assert "Add a readiness probe" in body
    assert "Someone else&#x27;s chore" not in body and "Already done" not in body


def test_anonymous_home_stays_the_knowledge_base_entry_point(client, open_incident):
    open_incident(title="Secret outage")
    body = client.get(reverse("kb:home")).content.decode()
    assert "Troubleshooting knowledge base" in body and "Secret outage" not in body and "On call" not in body


def test_home_panels_come_in_order_and_a_panel_may_decline(rf, user):
    request = rf.get("/")
    request.user = user
    hooks.register_home_panel("test-late", lambda r: ("late.html", {}), order=99)
    hooks.register_home_panel("test-none", lambda r: None, order=1)
    try:
        templates = [template for template, _ in hooks.home_panels(request)]
    finally:
        hooks.unregister_home_panel("test-late")
        hooks.unregister_home_panel("test-none")
    assert templates[-1] == "late.html"
    assert templates.index("incidents/partials/home_incidents.html") < templates.index("late.html")


@pytest.mark.parametrize(("age", "acked_after", "state"), [
    (timedelta(minutes=1), None, "ok"),
    (timedelta(minutes=4, seconds=30), None, "at-risk"),
    (timedelta(minutes=9), None, "breached"),
    (timedelta(minutes=9), timedelta(minutes=2), "met"),
    (timedelta(minutes=9), timedelta(minutes=7), "late"),
])
def test_response_target_state(open_incident, age, acked_after, state):
    now = timezone.now()
    critical = Severity.objects.get(slug="critical")  # 5 minute response target
    incident = open_incident(severity=critical, now=now - age)
    if acked_after is not None:
        incident.acknowledged_at = incident.created_at + acked_after
    assert incident_sla(incident, now=now).state == state
