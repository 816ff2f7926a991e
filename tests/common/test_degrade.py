"""Degrade, never fail: a cache outage lifts throttles instead of failing requests; a lost database is a 503."""

import json
import logging

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from accounts.api import server_error
from common.cache import FailOpenRedisCache
from common.middleware import DatabaseUnavailableMiddleware
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db

CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {"default": {"BACKEND": "common.cache.FailOpenRedisCache", "LOCATION": CLOSED_REDIS,
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}


def test_fail_open_cache_misses_and_drops_writes_when_redis_is_down(caplog):
    cache = FailOpenRedisCache(CLOSED_REDIS, {"OPTIONS": {"socket_connect_timeout": 0.2}})
    with caplog.at_level(logging.WARNING, logger="common.cache"):
        assert cache.get("k", "fallback") == "fallback"
        assert cache.set("k", 1) is None
        assert cache.add("k", 1) is False
        assert cache.get_many(["a", "b"]) == {}
    assert cache.is_down
    assert len([r for r in caplog.records if "cache unavailable" in r.message]) == 1
    with pytest.raises(ValueError):
        cache.incr("k")


def test_api_reads_and_throttles_work_with_the_cache_down(cache_down, api_client):
    SystemFactory(name="Gateway", slug="gateway")
    for _ in range(3):
        response = api_client.get("/api/v1/systems/")
        assert response.status_code == 200
        assert response.json()["count"] == 1


def test_rate_limited_views_answer_with_the_cache_down(cache_down, settings, client):
    settings.TRIAGE_RATE_LIMITS = {**settings.TRIAGE_RATE_LIMITS,
                                   "login": {"rate": "1/m", "methods": ["POST"], "views": ["login"]}}
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 200


def test_health_reports_the_cache_degraded_without_failing(cache_down, client):
    from diagnostics.tasks import worker_heartbeat_task

    worker_heartbeat_task.apply()
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["degraded"] == ["cache"]
    assert body["components"]["cache"]["status"] == "degraded"


def test_health_names_no_database_address_when_the_database_fails(client, monkeypatch):
    from diagnostics import health

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed: '
                               'FATAL: password authentication failed for user "triage"')

    monkeypatch.setattr(health.connection, "cursor", refuse)
    body = client.get("/health/").json()
    detail = body["components"]["database"]["detail"]
    assert body["components"]["database"]["status"] == "failing"
    assert "db.internal" not in detail and "10.0.0.5" not in detail and "triage" not in detail
    assert detail == "unreachable (OperationalError)"


@pytest.mark.parametrize(("path", "content_type"), [("/api/v1/systems/", "application/json"),
                                                    ("/systems/", "text/html")])
def test_lost_database_in_a_view_is_a_503_with_retry_after(path, content_type, settings):
    request = RequestFactory().get(path)
    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    response = middleware.process_exception(request, OperationalError("could not connect to server"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.TRIAGE_RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith(content_type)
    assert b"could not connect" not in response.content
    assert b"try again" in response.content


def test_other_view_errors_are_left_to_django():
    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None


def test_lost_database_outside_a_view_is_a_503_too():
    request = RequestFactory().get("/api/v1/incidents/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "service_unavailable"
    assert "Retry-After" in response


def test_a_real_bug_outside_a_view_stays_a_500():
    try:
        raise KeyError("bug")
    except KeyError:
        response = server_error(RequestFactory().get("/api/v1/incidents/"))
    assert response.status_code == 500
