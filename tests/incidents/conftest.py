import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group

from incidents.defaults import RESPONDERS_GROUP
from incidents.models import Severity
from incidents.services.lifecycle import incident_open
from incidents.services.severities import severities_ensure_defaults
from tests.factories import SystemFactory, UserFactory


@pytest.fixture(autouse=True)
def _incident_defaults(db, settings, tmp_path):
    """Severities and the responders group exist (a transactional test may have flushed the migration's rows)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Fast hashing: these tests create several users each; PBKDF2 would dominate their run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TRIAGE_INCIDENT_NOTIFY_EMAILS = []
    # The receivers in these tests listen on loopback, which webhooks refuse unless listed.
    settings.TRIAGE_WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1"]
    severities_ensure_defaults()


@pytest.fixture
def critical(db) -> Severity:
    return Severity.objects.get(slug="critical")


@pytest.fixture
def low(db) -> Severity:
    return Severity.objects.get(slug="low")


@pytest.fixture
def system(db):
    return SystemFactory(name="Orchestrator", slug="orchestrator")


@pytest.fixture
def responder(db):
    person = UserFactory(username="rita")
    person.groups.add(Group.objects.get(name=RESPONDERS_GROUP))
    return person


@pytest.fixture
def open_incident(db, user, system):
    """File an incident as `user` (kwargs override the defaults)."""

    def _open(**kwargs):
        values = {
            "title": "Dashboard cards stuck on Ready", "system": system,
            "severity": Severity.objects.get(slug="high"), "reporter": user,
            "what_happened": "Agents show ready but never pick up work.",
        }
        values.update(kwargs)
        return incident_open(**values)

    return _open


class StubReceiver:
    """A loopback HTTP server that records requests and answers with scripted status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        self.get_status = 200  # what GET answers (switch it to simulate an outage and its fix)
        self.answer: bytes | None = None  # what POST answers instead of {"ok": ...}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                payload = receiver.answer or json.dumps({"ok": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 — a health endpoint for diagnostic checks
                payload = b'{"status": "ok"}' if receiver.get_status < 400 else b'{"status": "down"}'
                self.send_response(receiver.get_status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_receiver() -> Iterator:
    started: list[StubReceiver] = []

    def _start(statuses: list[int] | None = None) -> StubReceiver:
        receiver = StubReceiver(statuses or [200])
        started.append(receiver)
        return receiver

    yield _start
    for receiver in started:
        receiver.close()
