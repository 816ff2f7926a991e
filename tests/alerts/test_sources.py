"""Alert sources: the staff API (key shown once), the staff page with its test button, the incident panel."""

import json

from alerts.models import AlertSource, source_key_hash
from incidents.models import Incident

from . import payloads


def test_staff_creates_a_source_and_sees_its_key_once(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post("/api/v1/alert-sources/", data=json.dumps(
        {"name": "Prometheus", "kind": "alertmanager", "system": "storage", "severity": "high",
         "severity_map": {"page": "critical"}, "group_window": "00:05:00"}), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    key = body["key"]
    assert body["receive_url"] == f"http://testserver/api/v1/alerts/alertmanager/{key}/"
    source = AlertSource.objects.get()
    assert source.hashed_key == source_key_hash(key) and key not in json.dumps(
        AlertSource.objects.values().get(), default=str)
    listed = client.get(f"/api/v1/alert-sources/{source.pk}/").json()
    assert "key" not in listed and listed["receive_url"].endswith("/alerts/alertmanager/<key>/")
    posted = client.post(f"/api/v1/alerts/alertmanager/{key}/", data=json.dumps(payloads.alertmanager()),
                         content_type="application/json")
    assert posted.status_code == 202


def test_events_v2_source_answers_the_client_base_url(client, staff_user, system):
    client.force_login(staff_user)
    body = client.post("/api/v1/alert-sources/", data=json.dumps(
        {"name": "PD", "kind": "events_v2", "system": "storage", "severity": "low"}),
        content_type="application/json").json()
    assert body["events_v2_base_url"] == "http://testserver/api/v1/alerts/events"
    assert len(body["key"]) == 32


def test_non_staff_cannot_list_or_create_sources(client, user, system):
    client.force_login(user)
    assert client.get("/api/v1/alert-sources/").status_code == 403
    response = client.post("/api/v1/alert-sources/", data=json.dumps(
        {"name": "x", "kind": "generic", "system": "storage", "severity": "low"}), content_type="application/json")
    assert response.status_code == 403
    assert client.get("/alerts/sources/").status_code == 302  # to the login page


def test_bad_source_input_is_400(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post("/api/v1/alert-sources/", data=json.dumps(
        {"name": "x", "kind": "nagios", "system": "nope", "severity": "low"}), content_type="application/json")
    assert response.status_code == 400


def test_sources_page_creates_a_source_shows_its_url_and_sends_a_test_alert(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post("/alerts/sources/", {
        "name": "Grafana prod", "kind": "grafana", "system": system.pk, "severity": "1",
        "system_label": "service", "severity_label": "severity", "severity_map": "{}", "field_paths": "{}",
        "group_window": "00:10:00"})
    assert response.status_code == 200
    source = AlertSource.objects.get()
    assert f"/api/v1/alerts/grafana/{response.context['created']['key']}/" in response.content.decode()
    response = client.post(f"/alerts/sources/{source.pk}/test/", follow=True)
    assert "Test alert opened" in response.content.decode()
    incident = Incident.objects.get()
    assert incident.title == "Test alert from Grafana prod"
    page = client.get("/alerts/sources/").content.decode()
    assert "Last payload" in page and "TriageTestAlert" in page


def test_incident_page_lists_its_alerts(client, staff_user, make_source):
    _source, key = make_source()
    client.post(f"/api/v1/alerts/alertmanager/{key}/", data=json.dumps(payloads.alertmanager()),
                content_type="application/json")
    client.force_login(staff_user)
    page = client.get(Incident.objects.get().get_absolute_url()).content.decode()
    assert 'id="alerts"' in page and "alertname=DiskFull" in page and "Firing" in page


def test_a_source_created_inactive_or_with_a_bad_map_is_an_answer_not_a_500(client, staff_user, system):
    client.force_login(staff_user)
    created = client.post("/api/v1/alert-sources/", data=json.dumps(
        {"name": "Paused", "kind": "generic", "system": "storage", "severity": "low", "active": False}),
        content_type="application/json")
    assert created.status_code == 201 and AlertSource.objects.get().active is False
    refused = client.post("/api/v1/alert-sources/", data=json.dumps(
        {"name": "Bad", "kind": "generic", "system": "storage", "severity": "low", "severity_map": {"a": 1}}),
        content_type="application/json")
    assert refused.status_code == 400 and "severity_map" in refused.content.decode()


def test_a_patch_cannot_save_a_map_that_would_break_every_later_alert(client, staff_user, make_source):
    source, _key = make_source()
    client.force_login(staff_user)
    for bad in ({"severity_map": []}, {"field_paths": "x"}, {"group_window": "-00:05:00"}):
        response = client.patch(f"/api/v1/alert-sources/{source.pk}/", data=json.dumps(bad),
                                content_type="application/json")
        assert response.status_code == 400, bad
    source.refresh_from_db()
    assert source.severity_map == {} and source.field_paths == {}
