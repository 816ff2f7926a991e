"""The Events API v2 compatible endpoint answers like PagerDuty's."""

import json

from alerts.models import Alert
from incidents.models import Incident

from . import payloads

URL = "/api/v1/alerts/events/v2/enqueue"


def post(client, body):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json")


def test_trigger_answers_202_with_its_dedup_key_and_a_second_trigger_makes_no_second_incident(client, make_source):
    _source, key = make_source("events_v2")
    first = post(client, payloads.events_v2(key))
    assert first.status_code == 202
    assert first.json() == {"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"}
    second = post(client, payloads.events_v2(key))
    assert second.json()["dedup_key"] == "srv01/HTTP"
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.title == "Example alert on host1.example.com"
    assert Alert.objects.get().repeat_count == 1
    assert "routing_key" not in Alert.objects.get().payload  # the key is a secret
    source = Alert.objects.get().source
    assert source.last_payload["dedup_key"] == "srv01/HTTP" and "routing_key" not in source.last_payload


def test_trigger_without_dedup_key_gets_one_back(client, make_source):
    _source, key = make_source("events_v2")
    response = post(client, payloads.events_v2(key, dedup_key=None))
    assert response.status_code == 202
    dedup_key = response.json()["dedup_key"]
    assert Alert.objects.get().fingerprint == dedup_key


def test_acknowledge_then_resolve(client, make_source):
    _source, key = make_source("events_v2")
    post(client, payloads.events_v2(key))
    assert post(client, payloads.events_v2(key, action="acknowledge")).status_code == 202
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.INVESTIGATING and incident.acknowledged_at is not None
    assert post(client, payloads.events_v2(key, action="resolve")).status_code == 202
    assert Alert.objects.get().status == "resolved"
    assert Incident.objects.get().status == Incident.Status.MITIGATED


def test_severity_error_maps_to_high(client, make_source):
    _source, key = make_source("events_v2")
    post(client, payloads.events_v2(key, severity="error"))
    assert Incident.objects.get().severity.slug == "high"


def test_invalid_event_answers_400_in_pagerdutys_shape(client, make_source):
    _source, key = make_source("events_v2")
    body = payloads.events_v2(key)
    del body["payload"]["summary"]
    body["payload"]["severity"] = "disastrous"
    response = post(client, body)
    assert response.status_code == 400
    data = response.json()
    assert data["status"] == "invalid event" and data["message"] == "Event object is invalid"
    assert "'payload.summary' is missing or blank" in data["errors"]
    assert any("payload.severity" in e for e in data["errors"])
    assert post(client, payloads.events_v2(key, action="resolve", dedup_key=None)).status_code == 400
    assert post(client, b"[").json()["status"] == "invalid event"
    assert not Incident.objects.exists()


def test_unknown_routing_key_is_404(client, make_source):
    make_source("events_v2")
    response = post(client, payloads.events_v2("f" * 32))
    assert response.status_code == 404
    assert response.json()["status"] == "invalid event"
    assert not Incident.objects.exists()
