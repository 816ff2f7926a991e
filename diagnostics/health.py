"""Triage's own health: database, broker, workers and cache, as served by /health/.

/health/ is public (load balancers call it), so a failing component names only the kind of error; the
full message, which can hold the database's or broker's host and user, goes to the log.

The cache is reported but never fails the whole: it only holds throttle and rate-limit counters and
version tokens, and fails open (common.cache), so without it Triage works, just unthrottled: "degraded".
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComponentHealth:
    ok: bool
    detail: str
    # A degraded component is reported but does not make the whole failing (see the module docstring).
    degraded: bool = False

    def as_dict(self) -> dict:
        status = "ok" if self.ok else ("degraded" if self.degraded else "failing")
        return {"status": status, "detail": self.detail}


def _failure(component: str, exc: BaseException) -> ComponentHealth:
    logger.warning("health: %s failing: %s: %s", component, type(exc).__name__, exc)
    return ComponentHealth(False, f"unreachable ({type(exc).__name__})")


def database_health() -> ComponentHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the database is unusable
        return _failure("database", exc)
    return ComponentHealth(True, connection.vendor)


def broker_health() -> ComponentHealth:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # kombu raises many kinds; all mean "cannot enqueue"
        return _failure("broker", exc)
    return ComponentHealth(True, str(transport))


def cache_health() -> ComponentHealth:
    """A round trip to the cache; when it fails, Triage runs without throttles and rate limits."""
    ping = getattr(cache, "ping", None)
    try:
        if ping is not None:
            ping()
        else:
            cache.set("triage:health", "1", 10)
    except Exception as exc:  # any backend error: the cache fails open, so this is degraded, not down
        logger.warning("health: cache unavailable: %s: %s", type(exc).__name__, exc)
        return ComponentHealth(False, f"unreachable ({type(exc).__name__}); throttles and rate limits are off",
                               degraded=True)
    return ComponentHealth(True, type(caches["default"]).__name__)  # the backend, not the proxy


def workers_health() -> ComponentHealth:
    cutoff = timezone.now() - timedelta(seconds=settings.TRIAGE_WORKER_STALE_SECONDS)
    try:
        latest = WorkerHeartbeat.objects.order_by("-seen_at").first()
    except Exception as exc:
        return ComponentHealth(False, f"cannot read heartbeats: {type(exc).__name__}")
    if latest is None:
        return ComponentHealth(False, "no worker has ever reported a heartbeat")
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).count()
    if not alive:
        age = int((timezone.now() - latest.seen_at).total_seconds())
        return ComponentHealth(False, f"last heartbeat {age}s ago from {latest.hostname}")
    return ComponentHealth(True, f"{alive} worker(s) alive")


def system_health() -> dict:
    """Status "ok" (200) or "failing" (503); a degraded component is listed under "degraded" only."""
    components = {
        "database": database_health(),
        "broker": broker_health(),
        "workers": workers_health(),
        "cache": cache_health(),
    }
    failing = [name for name, c in components.items() if not c.ok and not c.degraded]
    degraded = [name for name, c in components.items() if c.degraded]
    return {
        "status": "failing" if failing else "ok",
        "version": settings.VERSION,
        "components": {name: c.as_dict() for name, c in components.items()},
        "failing": failing,
        "degraded": degraded,
    }
