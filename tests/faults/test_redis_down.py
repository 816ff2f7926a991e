"""Redis (broker and cache on one URL) killed under a running gunicorn: the API keeps answering, and the
notifications of what was filed meanwhile go out once Redis is back."""

import subprocess
import sys
import time
import uuid

import httpx
import pytest
from django.conf import settings

from .conftest import manage_shell

pytestmark = [pytest.mark.faults, pytest.mark.integration]

SETUP = """
from accounts.services import api_key_create
from django.contrib.auth import get_user_model
from incidents.services.severities import severities_ensure_defaults
from kb.models import System
severities_ensure_defaults()
System.objects.get_or_create(slug="gateway", defaults={"name": "Gateway"})
user, _ = get_user_model().objects.get_or_create(username="faults", defaults={"email": "faults@example.com"})
print(api_key_create(user=user, scopes=["read", "write"])[1])
"""


def test_api_keeps_working_without_redis_and_notifications_follow_its_return(web, redis_server, postgres_cluster,
                                                                              stack_env, tmp_path):
    key = manage_shell(stack_env, SETUP).splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    redis_server.kill()

    with httpx.Client(base_url=web.url, timeout=20) as client:
        assert client.get("/api/v1/systems/").status_code == 200
        title = f"Gateway 502s {uuid.uuid4().hex[:8]}"
        body = {"title": title, "system": "gateway", "severity": "high",
                "what_happened": "Every request through the gateway answers 502."}
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        first = client.post("/api/v1/incidents/", json=body, headers=headers)
        assert first.status_code == 201, first.text
        retry = client.post("/api/v1/incidents/", json=body, headers=headers)
        assert retry.status_code in (200, 201), retry.text
        assert retry.json()["id"] == first.json()["id"]
        match = client.post("/api/v1/match/", json={"text": "ECONNREFUSED 10.0.0.7:6379"}, headers=auth)
        assert match.status_code == 200, match.text
        health = client.get("/health/").json()
        assert "cache" in health["degraded"] and "broker" in health["failing"]

    with postgres_cluster.connect() as conn:
        assert conn.execute("SELECT count(*) FROM incidents_incident WHERE title = %s", [title]).fetchone()[0] == 1
        pending = conn.execute("SELECT count(*) FROM incidents_outboxmessage WHERE status = 'pending'").fetchone()[0]
        assert pending >= 1

    redis_server.start()  # the same port: nothing is reconfigured
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--hostname", f"faults-{uuid.uuid4().hex[:6]}@%h", "--without-heartbeat", "--without-mingle",
         "--without-gossip"],
        cwd=settings.BASE_DIR, env={**__import__("os").environ, **stack_env},
        stdout=(tmp_path / "worker.log").open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        # What the periodic relay (beat) would do: publish the pending outbox to the worker.
        manage_shell(stack_env, "from incidents.tasks import outbox_relay_task; print(outbox_relay_task())")
        deadline = time.monotonic() + 30
        mails = ""
        while time.monotonic() < deadline:
            mail_dir = tmp_path / "mail"
            mails = "".join(p.read_text(errors="replace") for p in mail_dir.glob("*")) if mail_dir.exists() else ""
            if title in mails:
                break
            time.sleep(0.3)
        assert title in mails, (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        assert "oncall@example.com" in mails
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert "Internal Server Error" not in web.log()
