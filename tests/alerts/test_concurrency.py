"""Concurrent first posts of one alert (or of one group) open exactly one incident (PostgreSQL row locks)."""

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from alerts.models import Alert
from incidents.models import Incident

from . import payloads

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")


def post_in_threads(bodies_by_thread: list[list[dict]], url: str) -> list[int]:
    barrier = threading.Barrier(len(bodies_by_thread))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(bodies: list[dict]) -> None:
        client = Client()
        try:
            barrier.wait()
            for body in bodies:
                response = client.post(url, data=json.dumps(body), content_type="application/json")
                with lock:
                    statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(bodies,)) for bodies in bodies_by_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_alert_make_one_incident(make_source):
    _source, key = make_source()
    statuses = post_in_threads([[payloads.alertmanager()] * 3 for _ in range(8)],
                               f"/api/v1/alerts/alertmanager/{key}/")
    assert statuses == [202] * 24
    assert Incident.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.repeat_count == 23


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_alerts_of_one_group_join_one_incident(make_source):
    _source, key = make_source()
    bodies = [[payloads.alertmanager(payloads.am_alert(f"fp-{t}-{i}")) for i in range(3)] for t in range(6)]
    statuses = post_in_threads(bodies, f"/api/v1/alerts/alertmanager/{key}/")
    assert statuses == [202] * 18
    assert Incident.objects.count() == 1
    assert Alert.objects.filter(incident=Incident.objects.get()).count() == 18


@pytest.mark.django_db(transaction=True)
def test_concurrent_events_v2_triggers_with_one_dedup_key_make_one_incident(make_source):
    _source, key = make_source("events_v2")
    statuses = post_in_threads([[payloads.events_v2(key)] * 2 for _ in range(6)], "/api/v1/alerts/events/v2/enqueue")
    assert statuses == [202] * 12
    assert Incident.objects.count() == 1
