"""`manage.py bench_web`: the web app under load, as a person would run it.

Starts Triage under gunicorn on a free loopback port against a scratch database (``triage_benchweb_<pid>``
on the configured PostgreSQL server, or a temporary SQLite file) loaded with the starter guide, then, for
each connection count (16 and 64 by default), drives each scenario alone for a fixed duration with that
many concurrent clients:

- ``health``: ``GET /health/``, the baseline every other scenario is divided by;
- ``article``: an article page; ``search``: the search page for a two-word query;
- ``match``: ``POST /api/v1/match/`` with a 1 KB error; ``incident``: ``POST /api/v1/incidents/``.

Rate limits and API throttles are switched off for the server under test (they would measure the limiter,
not the app); the broker is a filesystem queue in a temporary directory, so no real worker sees the
incidents. Progress goes to stderr; stdout gets exactly one JSON line: per connection count and scenario
requests/s, p50/p95 in ms, errors (transport failures and 5xx), and the same as ratios to ``health``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from common.serving import scratch_database, start_gunicorn

SCENARIOS = ("health", "article", "search", "match", "incident")
MATCH_TEXT = (
    "2026-03-02T10:15:04Z ERROR worker-7 redis.exceptions.ConnectionError: Error 111 connecting to "
    "redis-0.cache.svc:6379. Connection refused.\n"
)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Command(BaseCommand):
    help = "Load-test the web app under gunicorn (article, search, match API, incident filing) vs /health/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connections", default="16,64", help="Concurrent clients per phase, comma-separated.")
        parser.add_argument("--duration", type=float, default=10.0, help="Seconds per scenario and connection count.")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
        parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker.")

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = [int(c) for c in str(options["connections"]).split(",") if c.strip()]
        except ValueError as exc:
            raise CommandError("--connections takes whole numbers, e.g. 16,64") from exc
        if not counts or min(counts) < 1 or max(counts) > 512:
            raise CommandError("--connections must be between 1 and 512")
        if options["duration"] <= 0 or options["duration"] > 600:
            raise CommandError("--duration must be between 0 and 600 seconds")
        vendor = connections["default"].vendor
        if vendor not in ("postgresql", "sqlite"):
            raise CommandError(f"bench_web supports PostgreSQL and SQLite, not {vendor}")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the progress
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="triage-bench-web-") as scratch_dir, \
                scratch_database(prefix="triage_benchweb", scratch_dir=Path(scratch_dir)) as database_url:
            secret = self.seed()
            env = {
                "DATABASE_URL": database_url, "REDIS_URL": "", "TRIAGE_VAR_DIR": scratch_dir,
                "TRIAGE_RATE_LIMITS_ENABLED": "false", "TRIAGE_THROTTLE_ANON": "100000000/min",
                "TRIAGE_THROTTLE_USER": "100000000/min",
                "TRIAGE_LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "false",
            }
            server = start_gunicorn(env=env, log_path=Path(scratch_dir) / "gunicorn.log",
                                    workers=options["workers"], threads=options["threads"])
            try:
                self.log(f"gunicorn at {server.url} ({options['workers']} workers x {options['threads']} threads)")
                results = asyncio.run(self.drive(server.url, secret, counts, options["duration"]))
            finally:
                server.stop()
        errors = sum(s["errors"] for per_count in results.values() for s in per_count.values())
        line = {"backend": vendor, "duration_s": options["duration"], "workers": options["workers"],
                "threads": options["threads"], "connections": results, "errors": errors,
                "total_seconds": round(time.perf_counter() - started, 1)}
        self.stdout.write(json.dumps(line))

    # --- set-up ------------------------------------------------------------------------------------

    def seed(self) -> str:
        """Migrate, load the starter guide, and return a read/write API key for a fresh user."""
        self.log("migrating the scratch database and loading the starter guide")
        call_command("migrate", verbosity=0, interactive=False)
        call_command("load_starter_content", stdout=io.StringIO())
        get_user_model().objects.create_user("bench", email="bench@example.com")
        out = io.StringIO()
        call_command("create_api_key", "bench", "--scopes", "read,write", stdout=out)
        connections["default"].close()  # gunicorn's workers take over; no open transaction left behind
        return out.getvalue().strip().splitlines()[-1]

    # --- load --------------------------------------------------------------------------------------

    async def drive(self, base_url: str, secret: str, counts: list[int], duration: float) -> dict:
        auth = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            article = (await client.get("/api/v1/articles/", params={"page_size": 1})).json()["results"][0]
            system = (await client.get("/api/v1/systems/")).json()["results"][0]["slug"]
        article_path = httpx.URL(article["url"]).path
        match_body = {"text": (MATCH_TEXT * (1024 // len(MATCH_TEXT) + 1))[:1024]}

        def request_for(scenario: str) -> tuple[str, str, dict]:
            if scenario == "health":
                return "GET", "/health/", {}
            if scenario == "article":
                return "GET", article_path, {}
            if scenario == "search":
                return "GET", "/search/", {"params": {"q": "connection refused"}}
            if scenario == "match":
                return "POST", "/api/v1/match/", {"json": match_body}
            return "POST", "/api/v1/incidents/", {"headers": {**auth, "Idempotency-Key": uuid.uuid4().hex}, "json": {
                "title": "Bench: gateway answers 502", "system": system, "severity": "low",
                "what_happened": "Filed by bench_web."}}

        results: dict[str, dict] = {}
        for count in counts:
            limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
            per_scenario: dict[str, dict] = {}
            async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
                for scenario in SCENARIOS:
                    stats = await self.phase(client, scenario, request_for, count, duration)
                    per_scenario[scenario] = stats
                    self.log(f"{count} connections, {scenario}: {json.dumps(stats)}")
            base = per_scenario["health"]
            for scenario, stats in per_scenario.items():
                if scenario != "health":
                    stats["rps_ratio"] = round(stats["rps"] / max(base["rps"], 1e-9), 3)
                    stats["p50_ratio"] = round(stats["p50_ms"] / max(base["p50_ms"], 1e-9), 2)
                    stats["p95_ratio"] = round(stats["p95_ms"] / max(base["p95_ms"], 1e-9), 2)
            results[str(count)] = per_scenario
        return results

    async def phase(self, client: httpx.AsyncClient, scenario: str, request_for, count: int,
                    duration: float) -> dict:
        latencies: list[float] = []
        errors = 0
        statuses: dict[int, int] = {}
        failures: dict[str, int] = {}
        deadline = time.perf_counter() + duration
        # /health/ honestly says 503 here (no worker runs against the scratch database); the rest must succeed.
        accepted = (200, 503) if scenario == "health" else (200, 201)

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                method, path, kwargs = request_for(scenario)
                began = time.perf_counter()
                try:
                    response = await client.request(method, path, **kwargs)
                    await response.aread()
                except httpx.HTTPError as exc:
                    errors += 1
                    kind = type(exc).__name__
                    failures[kind] = failures.get(kind, 0) + 1
                    continue
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code not in accepted:
                    errors += 1

        phase_started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(count)))
        elapsed = time.perf_counter() - phase_started
        return {
            "requests": len(latencies), "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
            "p95_ms": round(percentile(latencies, 0.95), 1), "errors": errors,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            **({"transport_errors": failures} if failures else {}),
        }
