"""Receiving alerts over HTTP: dedup, grouping, resolve, acknowledge, flapping, and bad input."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert
from incidents.models import Incident, TimelineEvent
from kb.models import System
from tests.factories import SystemFactory

from . import payloads


def post(client, url: str, body, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)


def am_url(key: str) -> str:
    return f"/api/v1/alerts/alertmanager/{key}/"


def test_alertmanager_notification_posted_twice_gives_one_incident(client, make_source):
    _source, key = make_source()
    first = post(client, am_url(key), payloads.alertmanager())
    second = post(client, am_url(key), payloads.alertmanager())
    assert first.status_code == second.status_code == 202
    assert first.json()["alerts"][0]["outcome"] == "opened"
    assert second.json()["alerts"][0]["outcome"] == "repeated"
    incident = Incident.objects.get()
    assert incident.title == "Disk /var is 97% full"
    assert incident.severity.slug == "critical"  # from the severity label
    alert = Alert.objects.get()
    assert (alert.incident_id, alert.repeat_count, alert.status) == (incident.pk, 1, "firing")
    assert alert.payload["alert"]["fingerprint"] == "c0ffee0123456789"


def test_resolved_notification_resolves_the_alert_and_mitigates_the_incident(client, make_source):
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager())
    response = post(client, am_url(key), payloads.alertmanager(payloads.am_alert(status="resolved")))
    assert response.status_code == 202
    assert response.json()["alerts"][0]["outcome"] == "resolved"
    alert = Alert.objects.get()
    assert alert.status == "resolved" and alert.resolved_at is not None
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.MITIGATED  # not resolved: a person confirms
    messages = list(incident.timeline.values_list("message", flat=True))
    assert any("resolved" in m and "Disk /var" in m for m in messages)


def test_incident_stays_open_while_one_of_its_alerts_still_fires(client, make_source):
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a1"), payloads.am_alert("a2")))
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a1", status="resolved")))
    assert Incident.objects.get().status == Incident.Status.TRIAGE
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a2", status="resolved")))
    assert Incident.objects.get().status == Incident.Status.MITIGATED


def test_wrong_key_is_refused_with_404(client, make_source):
    _source, key = make_source()
    for bad in ("0" * 32, key[:-1] + ("a" if key[-1] != "a" else "b"), "nope"):
        response = post(client, am_url(bad), payloads.alertmanager())
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert not Incident.objects.exists()


def test_key_of_another_kind_is_refused(client, make_source):
    _source, key = make_source("grafana")
    assert post(client, am_url(key), payloads.alertmanager()).status_code == 404


def test_bad_json_is_400_and_wrong_shape_lists_the_problems(client, make_source):
    _source, key = make_source()
    response = post(client, am_url(key), b"{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    response = post(client, am_url(key), {"version": "4", "alerts": []})
    assert response.status_code == 400
    assert response.json()["errors"] == ["alerts: expected a non-empty list"]
    response = post(client, am_url(key), payloads.alertmanager(payloads.am_alert(status="pending")))
    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_body_over_the_limit_is_413_before_parsing(client, make_source, settings):
    settings.TRIAGE_ALERT_MAX_BYTES = 1000
    _source, key = make_source()
    big = payloads.alertmanager(payloads.am_alert(summary="x" * 2000))
    response = post(client, am_url(key), big)
    assert response.status_code == 413
    assert not Incident.objects.exists()


def test_only_post_is_accepted(client, make_source):
    _source, key = make_source()
    assert client.get(am_url(key)).status_code == 405


def test_alerts_of_one_system_within_the_window_join_one_incident(client, make_source):
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a1")))
    response = post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a2", alertname="Inodes")))
    assert response.json()["alerts"][0]["outcome"] == "grouped"
    assert Incident.objects.count() == 1
    assert Alert.objects.filter(incident=Incident.objects.get()).count() == 2


def test_alert_for_another_system_opens_its_own_incident(client, make_source):
    SystemFactory(name="Billing", slug="billing")
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a1")))
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a2", service="billing")))
    assert sorted(Incident.objects.values_list("system__slug", flat=True)) == ["billing", "storage"]


def test_one_notification_naming_several_systems_looks_them_up_once(client, make_source):
    SystemFactory(name="Billing", slug="billing")
    SystemFactory(name="Search", slug="search")
    _source, key = make_source()
    body = payloads.alertmanager(payloads.am_alert("a1", service="billing"), payloads.am_alert("a2", service="search"),
                                 payloads.am_alert("a3", service="no-such-system"), payloads.am_alert("a4"))
    with CaptureQueriesContext(connection) as queries:
        response = post(client, am_url(key), body)
    assert response.status_code == 202
    assert dict(Alert.objects.values_list("fingerprint", "system_slug")) == {
        "a1": "billing", "a2": "search", "a3": "storage", "a4": "storage"}
    system_lookups = [q["sql"] for q in queries.captured_queries
                      if f'FROM "{System._meta.db_table}"' in q["sql"] and "IN (" in q["sql"]]
    assert len(system_lookups) == 1


def test_alert_after_the_grouping_window_opens_a_new_incident(client, make_source):
    source, key = make_source()
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a1")))
    Alert.objects.update(last_received_at=Alert.objects.get().last_received_at - timedelta(minutes=11))
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a2")))
    assert Incident.objects.count() == 2


def test_zero_window_never_groups(client, make_source):
    _source, key = make_source(group_window=timedelta(0))
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a1")))
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert("a2")))
    assert Incident.objects.count() == 2


def test_flapping_alert_reopens_its_alert_not_a_new_incident(client, make_source):
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager())
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert(status="resolved")))
    response = post(client, am_url(key), payloads.alertmanager())
    assert response.json()["alerts"][0]["outcome"] == "reopened"
    assert Incident.objects.count() == 1
    alert = Alert.objects.get()
    assert (alert.status, alert.flap_count) == ("firing", 1)
    assert Incident.objects.get().status == Incident.Status.INVESTIGATING  # mitigated no more


def test_alert_firing_after_a_person_resolved_the_incident_opens_a_new_one(client, make_source, staff_user):
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager())
    Incident.objects.update(status=Incident.Status.RESOLVED)
    post(client, am_url(key), payloads.alertmanager())
    assert Incident.objects.count() == 2
    assert Alert.objects.get().incident == Incident.objects.order_by("-pk").first()


def test_resolve_of_an_unknown_alert_is_accepted_and_ignored(client, make_source):
    _source, key = make_source()
    response = post(client, am_url(key), payloads.alertmanager(payloads.am_alert(status="resolved")))
    assert response.status_code == 202
    assert response.json()["alerts"][0]["outcome"] == "ignored"
    assert not Incident.objects.exists()


def test_payload_kept_on_the_alert_is_bounded(client, make_source):
    _source, key = make_source()
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert(huge="y" * 100_000)))
    alert = Alert.objects.get()
    assert alert.payload["truncated"] is True
    assert len(json.dumps(alert.payload)) < 70_000


def test_grafana_alert_uses_its_title_without_a_summary(client, make_source):
    _source, key = make_source("grafana")
    response = post(client, f"/api/v1/alerts/grafana/{key}/", payloads.grafana())
    assert response.status_code == 202
    assert Incident.objects.get().title == "[FIRING:1] HighLatency Checkout (shop)"
    post(client, f"/api/v1/alerts/grafana/{key}/", payloads.grafana(status="resolved"))
    assert Alert.objects.get().status == "resolved"


def test_generic_source_reads_its_field_paths(client, make_source):
    SystemFactory(name="Billing", slug="billing")
    _source, key = make_source("generic", field_paths={"title": "check.name", "fingerprint": "check.id",
                                                       "status": "state", "system": "meta.service"})
    url = f"/api/v1/alerts/generic/{key}/"
    body = {"check": {"id": "42", "name": "Invoice queue stuck"}, "state": "down", "meta": {"service": "billing"}}
    assert post(client, url, body).status_code == 202
    incident = Incident.objects.get()
    assert (incident.title, incident.system.slug) == ("Invoice queue stuck", "billing")
    post(client, url, {**body, "state": "ok"})
    assert Alert.objects.get().status == "resolved"
    response = post(client, url, {"state": "down"})
    assert response.status_code == 400


def test_new_alert_records_last_payload_on_its_source(client, make_source):
    source, key = make_source()
    post(client, am_url(key), payloads.alertmanager())
    source.refresh_from_db()
    assert source.last_payload["receiver"] == "triage" and source.last_received_at is not None


def test_matched_symptom_and_its_fix_land_on_the_timeline(client, make_source, system,
                                                          django_capture_on_commit_callbacks):
    from kb.models import SymptomSolution
    from tests.factories import SignatureFactory, SolutionFactory, SymptomFactory

    symptom = SymptomFactory(system=system, title="Filesystem full")
    SignatureFactory(symptom=symptom, text="No space left on device")
    solution = SolutionFactory(system=system, title="Rotate and compress old logs")
    SymptomSolution.objects.create(symptom=symptom, solution=solution)
    _source, key = make_source()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox relay runs after commit
        post(client, am_url(key), payloads.alertmanager(payloads.am_alert(summary="No space left on device"
                                                                                 " on db-1:/var")))
    incident = Incident.objects.get()
    assert symptom in incident.symptoms.all()
    fixes = incident.timeline.filter(kind=TimelineEvent.Kind.SYMPTOM, message__contains="fix:")
    assert fixes.filter(message__contains="Rotate and compress old logs").exists()
    assert Alert.objects.get().enriched_at is not None


@pytest.mark.parametrize("count", [2])
def test_one_notification_holding_a_fingerprint_twice_makes_one_alert(client, make_source, count):
    _source, key = make_source()
    response = post(client, am_url(key), payloads.alertmanager(*[payloads.am_alert("dup")] * count))
    assert [a["outcome"] for a in response.json()["alerts"]] == ["opened", "repeated"]
    assert Alert.objects.count() == 1


def test_enrichment_cut_short_is_done_again_by_the_retry(client, make_source, system, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    """A worker dying between the claim and the timeline (here: an error) leaves the alert unclaimed."""
    from alerts import bridge
    from alerts.services import alert_enrich
    from tests.factories import SignatureFactory, SymptomFactory

    symptom = SymptomFactory(system=system, title="Filesystem full")
    SignatureFactory(symptom=symptom, text="No space left on device")
    _source, key = make_source()
    real_timeline_add = bridge.timeline_add

    def worker_dies(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(bridge, "timeline_add", worker_dies)
    post(client, am_url(key), payloads.alertmanager(payloads.am_alert(summary="No space left on device")))
    alert = Alert.objects.get()
    with pytest.raises(SystemExit):
        alert_enrich(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.enriched_at is None
    monkeypatch.setattr(bridge, "timeline_add", real_timeline_add)
    assert alert_enrich(alert_id=alert.pk) == "1 symptom(s)"
    assert Incident.objects.get().timeline.filter(kind=TimelineEvent.Kind.SYMPTOM).exists()
    assert alert_enrich(alert_id=alert.pk) == "already enriched"


def test_json_nested_too_deep_is_400_not_500(client, make_source):
    _source, key = make_source()
    response = post(client, am_url(key), b"[" * 200_000 + b"]" * 200_000)
    assert response.status_code == 400
    assert not Incident.objects.exists()
