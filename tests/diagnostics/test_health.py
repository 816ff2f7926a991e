from datetime import timedelta

import pytest
from django.utils import timezone

from diagnostics.models import WorkerHeartbeat
from diagnostics.tasks import worker_heartbeat_task

pytestmark = pytest.mark.django_db


def test_health_is_200_with_fresh_worker_heartbeat(client):
    worker_heartbeat_task.apply()
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "broker", "workers", "cache"}
    assert body["components"]["cache"]["detail"] == "LocMemCache"  # the backend in use, not Django's proxy
    assert body["version"]


def test_health_is_503_naming_workers_when_no_heartbeat(client):
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]


def test_health_is_503_when_heartbeat_is_stale(client):
    WorkerHeartbeat.objects.create(hostname="w1", seen_at=timezone.now() - timedelta(minutes=10))
    response = client.get("/health/")
    assert response.status_code == 503
    assert "last heartbeat" in response.json()["components"]["workers"]["detail"]


def test_health_is_503_naming_broker_when_broker_is_down(client, settings):
    from config.celery import app

    worker_heartbeat_task.apply()
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/health/")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_heartbeat_task_twice_keeps_one_row_per_worker():
    worker_heartbeat_task.apply()
    worker_heartbeat_task.apply()
    assert WorkerHeartbeat.objects.count() == 1
