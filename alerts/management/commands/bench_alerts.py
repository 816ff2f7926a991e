"""Benchmark accepting an alert storm over HTTP against filing incidents through the REST API, in one run.

    python manage.py bench_alerts --alerts 10000 --fingerprints 50 --systems 10 --clients 8

Creates a scratch database (``triage_bench_alerts_<pid>`` on the configured PostgreSQL server, or a
temporary SQLite file), starts gunicorn on a free loopback port against it, then:

* storm: ``--clients`` threads post Alertmanager notifications, one alert each, over ``--fingerprints``
  fingerprints spread across ``--systems`` systems: mostly resends, with a resolve every 25th event
  followed by the alert firing again (flapping). Each fingerprint belongs to one client, so its
  events arrive in order; the storm stops early at ``--max-seconds``.
* incidents: the same clients file ``--incidents`` incidents with plain ``POST /api/v1/incidents/``.

Then it audits the database: every accepted notification must be accounted for on its alert
(1 + repeats + 2 x flaps + 1 if resolved), and the storm must have opened exactly one incident per
system (the grouping key). Prints one JSON line: accepted_per_s, p95_accept_ms, incidents_per_s,
p95_incident_ms, ratio (accepted_per_s / incidents_per_s), incidents_created, distinct_groups,
alerts_lost, plus the run's sizes. Nothing is sent anywhere but 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from common.serving import scratch_database

RESOLVE_EVERY = 25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


def storm_events(fingerprint: int, count: int) -> list[str]:
    """This fingerprint's statuses in order: firing, resends, a resolve every RESOLVE_EVERY-th event."""
    return ["resolved" if k % RESOLVE_EVERY == RESOLVE_EVERY - 1 else "firing" for k in range(count)]


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alerts", type=int, default=10_000, help="alert notifications in the storm")
        parser.add_argument("--fingerprints", type=int, default=50)
        parser.add_argument("--systems", type=int, default=10, help="systems the fingerprints are spread over")
        parser.add_argument("--incidents", type=int, default=0,
                            help="incidents filed through the REST API (default: alerts / 10, at most 1000)")
        parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
        parser.add_argument("--max-seconds", type=float, default=300.0, help="stop the storm after this long")

    def log(self, message: str) -> None:
        self.stderr.write(message)

    def handle(self, *args: object, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
        alerts, fingerprints, systems = options["alerts"], options["fingerprints"], options["systems"]
        clients = options["clients"]
        if min(alerts, fingerprints, systems, clients) < 1 or fingerprints > alerts:
            raise CommandError("--alerts, --fingerprints, --systems and --clients must be positive, "
                               "and there cannot be more fingerprints than alerts")
        incidents = options["incidents"] or max(1, min(alerts // 10, 1000))
        vendor = connections["default"].vendor
        with tempfile.TemporaryDirectory(prefix="bench_alerts_") as var, \
                scratch_database(prefix="triage_bench_alerts", scratch_dir=Path(var)) as database_url:
            call_command("migrate", verbosity=0, interactive=False)
            key, api_key, system_slugs = self.fixtures(systems)
            connections["default"].close()
            with self.server(database_url, var, options) as base_url:
                storm = self.storm(base_url, key, alerts, fingerprints, system_slugs, clients, options["max_seconds"])
                filed = self.file_incidents(base_url, api_key, system_slugs[0], incidents, clients)
            audit = self.audit(storm["accepted_by_fingerprint"])
        accepted_per_s = storm["accepted"] / storm["seconds"] if storm["seconds"] else 0.0
        incidents_per_s = filed["accepted"] / filed["seconds"] if filed["seconds"] else 0.0
        result = {
            "accepted_per_s": round(accepted_per_s, 1),
            "p95_accept_ms": round(p95(storm["latencies"]), 2),
            "incidents_per_s": round(incidents_per_s, 1),
            "p95_incident_ms": round(p95(filed["latencies"]), 2),
            "ratio": round(accepted_per_s / incidents_per_s, 2) if incidents_per_s else 0.0,
            "incidents_created": audit["incidents_created"],
            "distinct_groups": audit["distinct_groups"],
            "alerts_lost": audit["alerts_lost"],
            "alerts_sent": storm["sent"], "alerts_accepted": storm["accepted"], "alerts_refused": storm["refused"],
            "incidents_filed": filed["accepted"], "fingerprints": fingerprints, "clients": clients,
            "storm_seconds": round(storm["seconds"], 2), "backend": vendor,
        }
        self.stdout.write(json.dumps(result))

    # --- set-up ----------------------------------------------------------------------------------

    def fixtures(self, systems: int) -> tuple[str, str, list[str]]:
        from django.contrib.auth import get_user_model

        from accounts.services import api_key_create
        from alerts.services import alert_source_create
        from incidents.models import Severity
        from incidents.services.severities import severities_ensure_defaults
        from kb.models import System

        severities_ensure_defaults()
        created = [System.objects.create(name=f"Bench system {i}", slug=f"bench-{i}") for i in range(systems)]
        staff = get_user_model().objects.create_user("bench-staff", is_staff=True)
        _source, key = alert_source_create(name="bench", kind="alertmanager", system=created[0],
                                           severity=Severity.objects.get(slug="high"), created_by=staff,
                                           group_window=timedelta(hours=1))
        _api_key, secret = api_key_create(user=staff, scopes=["write"])
        return key, secret, [s.slug for s in created]

    @contextmanager
    def server(self, database_url: str, var: str, options: dict) -> Iterator[str]:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "", "TRIAGE_VAR_DIR": var,
               "DJANGO_DEBUG": "false", "TRIAGE_BASE_URL": f"http://127.0.0.1:{port}",
               # The comparison is the filing path, not the per-user rate limit (20/s by default).
               "TRIAGE_THROTTLE_USER": "10000000/min"}
        log = open(os.path.join(var, "gunicorn.log"), "w")  # noqa: SIM115 — closed below
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(options["workers"]), "--threads", str(options["threads"]), "--log-level", "warning"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base_url}/api/v1/alerts/events/v2/enqueue", timeout=2, trust_env=False)
                    break
                except httpx.HTTPError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise CommandError("gunicorn did not start; see its log") from None
                    time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()

    # --- load ------------------------------------------------------------------------------------

    def storm(self, base_url: str, key: str, alerts: int, fingerprints: int, systems: list[str], clients: int,
              max_seconds: float) -> dict[str, Any]:
        per_fingerprint = [alerts // fingerprints + (1 if i < alerts % fingerprints else 0) for i in range(fingerprints)]
        url = f"{base_url}/api/v1/alerts/alertmanager/{key}/"
        latencies: list[float] = []
        accepted_by_fingerprint: dict[str, int] = {}
        counts = {"sent": 0, "accepted": 0, "refused": 0}
        lock = threading.Lock()
        deadline = time.monotonic() + max_seconds

        def body(fingerprint: int, status: str) -> bytes:
            alert = {"status": status, "fingerprint": f"bench-{fingerprint:04d}",
                     "labels": {"alertname": f"Bench{fingerprint}", "service": systems[fingerprint % len(systems)],
                                "severity": "warning"},
                     "annotations": {"summary": f"Bench alert {fingerprint}"},
                     "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
            return json.dumps({"version": "4", "status": status, "receiver": "triage", "groupKey": "bench",
                               "alerts": [alert]}).encode()

        def run(client_index: int) -> None:
            mine = [f for f in range(fingerprints) if f % clients == client_index]
            queues = {f: storm_events(f, per_fingerprint[f]) for f in mine}
            with httpx.Client(timeout=30, trust_env=False) as http:
                position = 0
                while any(position < len(q) for q in queues.values()) and time.monotonic() < deadline:
                    for fingerprint, queue in queues.items():  # interleave this client's fingerprints
                        if position >= len(queue):
                            continue
                        started = time.perf_counter()
                        try:
                            response = http.post(url, content=body(fingerprint, queue[position]),
                                                 headers={"Content-Type": "application/json"})
                            ok = response.status_code == 202
                        except httpx.HTTPError:
                            ok = False
                        elapsed = (time.perf_counter() - started) * 1000
                        with lock:
                            counts["sent"] += 1
                            if ok:
                                counts["accepted"] += 1
                                latencies.append(elapsed)
                                name = f"bench-{fingerprint:04d}"
                                accepted_by_fingerprint[name] = accepted_by_fingerprint.get(name, 0) + 1
                            else:
                                counts["refused"] += 1
                    position += 1

        started = time.perf_counter()
        self.run_threads(run, clients)
        seconds = time.perf_counter() - started
        return {**counts, "latencies": latencies, "seconds": seconds, "accepted_by_fingerprint": accepted_by_fingerprint}

    def file_incidents(self, base_url: str, api_key: str, system: str, count: int, clients: int) -> dict[str, Any]:
        latencies: list[float] = []
        counts = {"accepted": 0}
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

        def run(client_index: int) -> None:
            with httpx.Client(timeout=30, trust_env=False) as http:
                for n in range(client_index, count, clients):
                    body = json.dumps({"title": f"Bench incident {n}", "system": system, "severity": "low",
                                       "what_happened": "Filed by the alert benchmark for comparison."})
                    started = time.perf_counter()
                    try:
                        ok = http.post(f"{base_url}/api/v1/incidents/", content=body, headers=headers).status_code == 201
                    except httpx.HTTPError:
                        ok = False
                    elapsed = (time.perf_counter() - started) * 1000
                    if ok:
                        with lock:
                            counts["accepted"] += 1
                            latencies.append(elapsed)

        started = time.perf_counter()
        self.run_threads(run, clients)
        return {**counts, "latencies": latencies, "seconds": time.perf_counter() - started}

    @staticmethod
    def run_threads(target: Any, clients: int) -> None:
        threads = [threading.Thread(target=target, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # --- audit -----------------------------------------------------------------------------------

    def audit(self, accepted_by_fingerprint: dict[str, int]) -> dict[str, int]:
        """Every accepted notification is accounted for on its alert; one incident per system."""
        from alerts.models import Alert

        rows = {a.fingerprint: a for a in Alert.objects.all()}
        lost = 0
        for fingerprint, accepted in accepted_by_fingerprint.items():
            alert = rows.get(fingerprint)
            if alert is None:
                lost += accepted
                continue
            recorded = 1 + alert.repeat_count + 2 * alert.flap_count + (1 if alert.status == "resolved" else 0)
            lost += max(0, accepted - recorded)
        incidents = set(Alert.objects.values_list("incident_id", flat=True))
        groups = set(Alert.objects.values_list("system_slug", flat=True))
        return {"alerts_lost": lost, "incidents_created": len(incidents), "distinct_groups": len(groups)}
