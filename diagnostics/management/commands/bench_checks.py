"""Benchmark the check engine against a bare asyncio+httpx loop, and end to end through Celery and Redis.

    python manage.py bench_checks --checks 1000 --latency-ms 50 --concurrency 100

A loopback stub HTTP server (a separate process) answers every request after ``--latency-ms``. Three
measurements, each the median of ``--rounds`` after a warm-up, all in this one run:

* bare:   one httpx.AsyncClient and a semaphore doing the same GETs (the baseline);
* engine: ``run_specs`` on the same number of HTTP checks with a condition each;
* celery: the same checks stored in the database, queued with ``check_runs_queue`` to a real Celery worker
          (a subprocess on a private queue) over Redis, timed until every run is recorded as done.

Prints exactly one JSON line on stdout with checks_per_s, bare_checks_per_s, ratio_vs_bare, wall_vs_ideal
(ideal = checks x latency / concurrency) and celery_wall_vs_engine. Targets: ratio_vs_bare >= 0.5,
wall_vs_ideal <= 1.5, celery_wall_vs_engine <= 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from diagnostics.engine import EngineSettings, conditions_for, run_specs, run_sync
from diagnostics.models import Check, CheckRun, CheckType
from diagnostics.probes.base import CheckSpec
from diagnostics.services import check_runs_queue
from diagnostics.targets import Allowlist

TARGETS = {"ratio_vs_bare": (">=", 0.5), "wall_vs_ideal": ("<=", 1.5), "celery_wall_vs_engine": ("<=", 2.0)}


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checks", type=int, default=1000)
        parser.add_argument("--latency-ms", type=float, default=50.0)
        parser.add_argument("--concurrency", type=int, default=100)
        parser.add_argument("--rounds", type=int, default=3, help="median of this many timed rounds")
        parser.add_argument("--redis-url", default="", help="broker for the Celery measurement "
                            "(default: REDIS_URL, else redis://127.0.0.1:6379/14)")
        parser.add_argument("--skip-celery", action="store_true", help="only the in-process measurements")

    def handle(self, *args: object, **options: object) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # the baseline would log every request
        checks, latency_ms, concurrency = options["checks"], options["latency_ms"], options["concurrency"]
        rounds = max(1, options["rounds"])
        if checks < 1 or concurrency < 1 or latency_ms < 0:
            raise CommandError("--checks and --concurrency must be positive, --latency-ms not negative")
        stub = subprocess.Popen(
            [sys.executable, "-m", "diagnostics.stub_server", "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR,
        )
        try:
            port = int(stub.stdout.readline().strip())
            url = f"http://127.0.0.1:{port}/health"
            ideal = checks * (latency_ms / 1000) / concurrency
            engine_settings = EngineSettings(allowlist=Allowlist.from_entries(["127.0.0.0/8"]), concurrency=concurrency)
            specs = [CheckSpec(id=i, name=f"bench {i}", type="http", target=url, parameters={},
                               conditions=conditions_for("http", ["[STATUS] == 200"]), timeout=10, retries=0)
                     for i in range(checks)]

            # Warm-up: imports, TLS contexts, the stub's accept queue.
            run_sync(lambda: _bare(url, min(checks, 200), concurrency))
            run_sync(lambda: _engine(specs[:200], engine_settings))
            bare_walls, engine_walls, engine_ok = [], [], True
            for _ in range(rounds):  # interleaved so drift in machine load hits both alike
                wall, ok = run_sync(lambda: _bare(url, checks, concurrency))
                bare_walls.append(wall)
                wall, ok_engine = run_sync(lambda: _engine(specs, engine_settings))
                engine_walls.append(wall)
                engine_ok = engine_ok and ok and ok_engine
            bare_wall, engine_wall = statistics.median(bare_walls), statistics.median(engine_walls)
            report: dict[str, object] = {
                "checks": checks, "latency_ms": latency_ms, "concurrency": concurrency, "rounds": rounds,
                "ideal_s": round(ideal, 4),
                "bare_wall_s": round(bare_wall, 4), "bare_checks_per_s": round(checks / bare_wall, 1),
                "engine_wall_s": round(engine_wall, 4), "checks_per_s": round(checks / engine_wall, 1),
                "ratio_vs_bare": round(bare_wall / engine_wall, 3),
                "wall_vs_ideal": round(engine_wall / ideal, 3) if ideal else None,
                "all_ok": engine_ok,
            }
            if not options["skip_celery"]:
                redis_url = options["redis_url"] or settings.REDIS_URL or "redis://127.0.0.1:6379/14"
                celery_walls, celery_ok = _celery(url, checks, concurrency, redis_url, rounds, self.stderr)
                celery_wall = statistics.median(celery_walls)
                report.update({
                    "celery_wall_s": round(celery_wall, 4), "celery_checks_per_s": round(checks / celery_wall, 1),
                    "celery_wall_vs_engine": round(celery_wall / engine_wall, 3),
                })
                report["all_ok"] = report["all_ok"] and celery_ok
            report["targets"] = {name: f"{op} {value}" for name, (op, value) in TARGETS.items()}
            report["targets_met"] = all(
                (report[name] >= value if op == ">=" else report[name] <= value)
                for name, (op, value) in TARGETS.items() if report.get(name) is not None
            )
        finally:
            stub.terminate()
            stub.wait(10)
        self.stdout.write(json.dumps(report))


async def _bare(url: str, count: int, concurrency: int) -> tuple[float, bool]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one() -> bool:
            async with semaphore:
                response = await client.get(url, timeout=10)
                await response.aread()
                return response.status_code == 200

        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(count)))
        return time.perf_counter() - started, all(results)


async def _engine(specs: list[CheckSpec], engine_settings: EngineSettings) -> tuple[float, bool]:
    started = time.perf_counter()
    results = await run_specs(specs, engine_settings)
    return time.perf_counter() - started, all(r.state == "ok" for r in results)


def _celery(url: str, count: int, concurrency: int, redis_url: str, rounds: int, log: object) -> tuple[list[float], bool]:
    """Time queue -> worker -> recorded results for ``count`` stored checks; returns (walls, all OK)."""
    import redis

    from config.celery import app

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise CommandError(f"the Celery measurement needs Redis at {redis_url}: {exc}") from exc
    app.conf.broker_url = redis_url
    app.conf.task_always_eager = False
    token = uuid.uuid4().hex[:10]
    queue = f"triage-bench-{token}"
    Check.objects.bulk_create([
        Check(name=f"bench {token} {i}", slug=f"bench-{token}-{i}", type=CheckType.HTTP, target=url,
              conditions=["[STATUS] == 200"], timeout_seconds=10, retries=0)
        for i in range(count)
    ])
    ids = list(Check.objects.filter(slug__startswith=f"bench-{token}-").order_by("pk").values_list("pk", flat=True))
    env = {**os.environ, "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "false",
           "TRIAGE_CHECK_ALLOWED_TARGETS": "127.0.0.0/8"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
         "-n", f"bench-{token}@%h", "--without-heartbeat", "--without-mingle", "--without-gossip",
         "--loglevel=WARNING"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    walls: list[float] = []
    all_ok = True
    try:
        # Warm-up through the worker: its imports, database connection and first HTTP client.
        batch, warm = check_runs_queue(checks=ids[:min(count, 50)], trigger=CheckRun.Trigger.BENCHMARK,
                                       queue=queue, concurrency=concurrency, chunk_size=count)
        _wait_done(batch, len(warm), timeout=120, worker=worker)
        for _ in range(rounds):
            started = time.perf_counter()
            batch, runs = check_runs_queue(checks=ids, trigger=CheckRun.Trigger.BENCHMARK, queue=queue,
                                           concurrency=concurrency, chunk_size=count)
            _wait_done(batch, len(runs), timeout=300, worker=worker)
            walls.append(time.perf_counter() - started)
            all_ok = all_ok and not CheckRun.objects.filter(batch=batch).exclude(state="ok").exists()
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        Check.objects.filter(slug__startswith=f"bench-{token}-").delete()
    return walls, all_ok


def _wait_done(batch: uuid.UUID, expected: int, *, timeout: float, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = CheckRun.objects.filter(batch=batch, status=CheckRun.Status.DONE).count()
        if done == expected:
            return
        if worker.poll() is not None:
            raise CommandError(f"the Celery worker exited with status {worker.returncode}")
        if time.monotonic() > deadline:
            raise CommandError(f"only {done} of {expected} runs finished within {timeout:.0f}s")
        time.sleep(0.01)
