"""Real senders against a live Triage on loopback: Debian's Alertmanager, and PagerDuty's own Python client."""

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.db import connections

from alerts.models import Alert
from incidents.models import Incident

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def alertmanager(tmp_path, live_server, make_source) -> Iterator[tuple[str, str]]:
    """A real Alertmanager whose only receiver is this source's Triage URL; yields (its URL, the key)."""
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed (.ci/run installs it)")
    _source, key = make_source()
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"resolve_timeout": "5s"},
        "route": {"receiver": "triage", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
                  "repeat_interval": "2s"},
        "receivers": [{"name": "triage", "webhook_configs": [
            {"url": f"{live_server.url}/api/v1/alerts/alertmanager/{key}/", "send_resolved": True}]}],
    }))
    process = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "alertmanager.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, what="Alertmanager to start")
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=10)


def push(url: str, *, fingerprint_label: str, ends_at: datetime | None = None) -> None:
    """Post one alert into Alertmanager's own API, as Prometheus would."""
    alert = {"labels": {"alertname": "DiskFull", "instance": fingerprint_label, "severity": "critical"},
             "annotations": {"summary": f"Disk full on {fingerprint_label}"},
             "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    response = httpx.post(f"{url}/api/v2/alerts", json=[alert], timeout=5, trust_env=False)
    assert response.status_code == 200, response.text


def test_alertmanager_notifications_open_one_incident_dedup_and_resolve(alertmanager):
    url, _key = alertmanager
    push(url, fingerprint_label="db-1:9100")
    wait_for(lambda: Incident.objects.exists(), what="an incident from Alertmanager")
    # Alertmanager re-sends the group (repeat_interval 2s) and we push the alert again: still one alert.
    push(url, fingerprint_label="db-1:9100")
    wait_for(lambda: Alert.objects.filter(repeat_count__gte=1).exists(), what="a repeated notification")
    assert Incident.objects.count() == 1 and Alert.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.title == "Disk full on db-1:9100"
    push(url, fingerprint_label="db-1:9100", ends_at=datetime.now(UTC) - timedelta(seconds=1))
    wait_for(lambda: Alert.objects.filter(status="resolved").exists(), what="the resolved notification")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.MITIGATED
    assert Incident.objects.count() == 1


@pytest.fixture
def tls_server() -> Iterator[tuple[str, ssl.SSLContext]]:
    """Triage served over HTTPS on loopback (the PagerDuty client refuses plain http base URLs).

    Yields (base URL, a client SSL context trusting the throwaway self-signed certificate).
    """
    import trustme
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    authority = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    class ClosingServer(ThreadedWSGIServer):
        def process_request_thread(self, request: object, client_address: object) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                connections.close_all()  # each request thread's connection, so the test database can be dropped

    server = ClosingServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.set_app(WSGIHandler())
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = False  # server_close() waits for request threads (their DB connections close)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", client_context
    finally:
        server.shutdown()
        server.server_close()


def test_pagerduty_client_triggers_acknowledges_and_resolves(tls_server, make_source):
    import pagerduty

    base_url, client_context = tls_server
    _source, key = make_source("events_v2")
    client = pagerduty.EventsApiV2Client(key, base_url=f"{base_url}/api/v1/alerts/events", verify=client_context)
    dedup_key = client.trigger("Checkout latency above 2 s", "checkout-1", dedup_key="checkout/latency",
                               severity="error", custom_details={"p95_ms": 2400})
    assert dedup_key == "checkout/latency"
    assert client.trigger("Checkout latency above 2 s", "checkout-1", dedup_key=dedup_key) == dedup_key
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert (incident.title, incident.severity.slug) == ("Checkout latency above 2 s", "high")
    client.acknowledge(dedup_key)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.INVESTIGATING
    client.resolve(dedup_key)
    assert Alert.objects.get().status == "resolved"
    incident.refresh_from_db()
    assert incident.status == Incident.Status.MITIGATED
    wrong = pagerduty.EventsApiV2Client("0" * 32, base_url=f"{base_url}/api/v1/alerts/events",
                                        verify=client_context)
    with pytest.raises(Exception):  # noqa: B017 — the client raises its own HTTP error class for the 404
        wrong.trigger("x", "y")
    client.close()
    wrong.close()
    assert Incident.objects.count() == 1
