"""Triage's own health: database, broker and workers, as served by /health/."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import WorkerHeartbeat


@dataclass(frozen=True)
class ComponentHealth:
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"status": "ok" if self.ok else "failing", "detail": self.detail}


def database_health() -> ComponentHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the database is unusable
        return ComponentHealth(False, f"{type(exc).__name__}: {exc}".strip()[:300])
    return ComponentHealth(True, connection.vendor)


def broker_health() -> ComponentHealth:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # kombu raises many kinds; all mean "cannot enqueue"
        return ComponentHealth(False, f"{type(exc).__name__}: {exc}".strip()[:300])
    return ComponentHealth(True, str(transport))


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
    components = {"database": database_health(), "broker": broker_health(), "workers": workers_health()}
    healthy = all(c.ok for c in components.values())
    return {
        "status": "ok" if healthy else "failing",
        "version": settings.VERSION,
        "components": {name: c.as_dict() for name, c in components.items()},
        "failing": [name for name, c in components.items() if not c.ok],
    }
