"""`manage.py bench_match --signatures 10000 --log-mb 50 [--seed 1]`: the log matcher against baselines.

Generates realistic signatures (Python, Node, Go, Java and plain service errors, with hosts, ports,
ids and paths in them) and a log of ordinary INFO/DEBUG traffic in which some of those errors recur
with different hosts, ports, ids and timestamps, plus errors nothing knows. Then it measures, in the
same run and on the same files:

- the engine's throughput (best of three, interleaved with the baseline) and ``LC_ALL=C grep -F -c -f``
  on the same literal signatures (``ratio_vs_grep``);
- a naive Python loop (every signature ``in`` every line) on a sample (``ratio_vs_naive``);
- ``build_ms``: compiling every signature into the matcher (best of the rounds; the first is cold), until
  it can answer; ``hyperscan_ready_ms``: until its Hyperscan prefilter, compiled in the background, is
  ready too (``prefilter`` says which one the scans below ran on);
- peak memory while scanning two log sizes (tracemalloc peak and RSS growth), to show it does not grow
  with the log;
- the API answering 1 MB of pasted text, against the engine's own time for that text
  (``kb.matching.symptom_match_text``: the same call the view makes, without HTTP, DRF and JSON; the
  scan alone is reported too), and against the same request without retrieval (no related lookups, no
  system detection: the API as it was before retrieval, ``api_vs_no_retrieval``). This part writes the signatures to the database inside a transaction
  that is rolled back.

Prints exactly one JSON line on stdout. Only files in a temporary directory are written.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import psutil
import re2
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kb import matching
from kb.matching import Matcher, SignatureSpec
from kb.matching.masking import mask_line

SERVICES = [
    "billing", "auth", "ingest", "scheduler", "notifier", "search", "gateway", "ledger", "exporter", "reporting",
    "inventory", "checkout", "catalog", "payments", "identity", "uploads", "thumbnailer", "mailer", "webhooks",
    "orchestrator", "agent-runner", "planner", "indexer", "crawler", "metrics", "alerting", "audit", "session",
    "profile", "pricing", "shipping", "returns", "tax", "fraud", "recommend", "feed", "chat", "presence",
    "storage", "backup",
]
COMPONENTS = [
    "db pool", "redis client", "http client", "grpc channel", "kafka consumer", "kafka producer", "s3 uploader",
    "cache layer", "token verifier", "job runner", "cron trigger", "websocket hub", "rate limiter", "migration",
    "config loader", "tls handshake", "dns resolver", "smtp relay", "queue worker", "lock manager",
    "schema validator", "batch writer", "event bus", "search index", "session store",
]
PROBLEMS = [
    "connection refused", "connection reset by peer", "timed out waiting for response", "pool exhausted",
    "too many open files", "certificate has expired", "no route to host", "broken pipe",
    "authentication failed", "permission denied", "quota exceeded", "deadlock detected",
    "lock wait timeout exceeded", "disk quota exceeded", "read-only file system", "checksum mismatch",
    "unexpected end of stream", "invalid token signature", "rate limit exceeded", "out of memory",
    "name resolution failed", "upstream returned bad gateway", "schema version mismatch",
    "message too large", "offset out of range", "leader not available", "serialization failure",
    "duplicate key value violates unique constraint", "relation does not exist", "no space left on device",
]
PYTHON_EXCEPTIONS = [
    "ConnectionRefusedError", "TimeoutError", "OSError", "PermissionError", "RuntimeError", "ValueError",
    "KeyError", "sqlalchemy.exc.OperationalError", "psycopg2.OperationalError", "redis.exceptions.ConnectionError",
    "requests.exceptions.ReadTimeout", "botocore.exceptions.ClientError", "asyncio.TimeoutError",
]
JAVA_EXCEPTIONS = [
    "java.net.SocketTimeoutException", "java.net.ConnectException", "java.lang.OutOfMemoryError",
    "java.io.IOException", "org.postgresql.util.PSQLException", "java.lang.IllegalStateException",
]
NODE_CODES = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EADDRINUSE", "ENOTFOUND", "EPIPE", "EACCES", "EMFILE"]
WORDS = [
    "request", "batch", "tenant", "shard", "replica", "segment", "partition", "snapshot", "lease", "cursor",
    "ticket", "invoice", "order", "report", "upload", "thumbnail", "payload", "channel", "subscription", "job",
]
INFO_MESSAGES = [
    "handled {method} {url} in {ms}ms status=200", "processed {word} {word} id={hex} in {ms}ms",
    "cache hit ratio={pct}% keys={n}", "heartbeat ok from {host}:{port}", "scheduled job {word}-{n} at {ts}",
    "flushed {n} events to {path}", "connected to {host}:{port} after {ms}ms", "user {n} signed in from {ip}",
    "checkpoint written offset={n} partition={small}", "GC pause {ms}ms heap={n}MB",
    "rotated log {path}", "config reloaded version={hex}",
]
HOSTS = ["db-{n}", "redis-{n}", "10.0.{a}.{b}", "api-{n}.internal", "localhost", "cache-{n}.svc.cluster.local"]


class _Generator:
    """Deterministic fake signatures and log lines (same seed, same files)."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def pick(self, items: list[str]) -> str:
        return self.rnd.choice(items)

    def host(self) -> str:
        r = self.rnd
        return self.pick(HOSTS).format(n=r.randint(0, 40), a=r.randint(0, 255), b=r.randint(1, 254))

    def hostport(self) -> str:
        return f"{self.host()}:{self.rnd.choice([5432, 6379, 8080, 9092, 443, 3000, 8100, 27017])}"

    def path(self) -> str:
        r = self.rnd
        return f"/var/lib/{self.pick(SERVICES)}/{self.pick(WORDS)}-{r.randint(1, 999)}.{self.pick(['db', 'log', 'json'])}"

    def timestamp(self) -> str:
        r = self.rnd
        return (f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:"
                f"{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z")

    def signature(self) -> str:
        r, pick = self.rnd, self.pick
        shape = r.randrange(7)
        svc, comp, prob, word = pick(SERVICES), pick(COMPONENTS), pick(PROBLEMS), pick(WORDS)
        if shape == 0:
            return f"{pick(PYTHON_EXCEPTIONS)}: {svc} {comp}: {prob} while loading {word}"
        if shape == 1:
            return f"Error: connect {pick(NODE_CODES)} {self.hostport()} ({svc} {comp} {word})"
        if shape == 2:
            return f"{pick(JAVA_EXCEPTIONS)}: {prob} in {svc}.{comp.replace(' ', '_')}.{word}"
        if shape == 3:
            return f"panic: {svc}/{comp.replace(' ', '')}: {prob} on {word} {r.randint(1, 99)}"
        if shape == 4:
            return f"{svc}: {comp} {prob} for {word} at {self.path()}"
        if shape == 5:
            return f"[{svc}] {comp}: {prob} (attempt {r.randint(1, 9)} of 10, {word})"
        return f"{svc} {comp} gave up on {word}: {prob} after {r.randint(2, 60)}s"

    def variant(self, signature: str) -> str:
        """The same error as it shows up again: other host, port, path and numbers."""
        out, r = [], self.rnd
        for token in signature.split(" "):
            if any(ch.isdigit() for ch in token) or "/" in token:
                if ":" in token and not token.startswith("/"):
                    token = self.hostport() + (")" if token.endswith(")") else "")
                elif token.startswith("/"):
                    token = self.path()
                else:
                    token = "".join(str(r.randint(0, 9)) if ch.isdigit() else ch for ch in token)
            out.append(token)
        return " ".join(out)

    def info_line(self) -> str:
        r = self.rnd
        message = self.pick(INFO_MESSAGES).format(
            method=self.pick(["GET", "POST", "PUT"]), url=f"/api/v1/{self.pick(WORDS)}s/{r.randint(1, 99999)}",
            ms=r.randint(1, 900), word=self.pick(WORDS), hex=f"{r.getrandbits(64):016x}", pct=r.randint(50, 99),
            n=r.randint(1, 100000), host=self.host(), port=r.randint(1000, 65000), ts=self.timestamp(),
            path=self.path(), ip=f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}", small=r.randint(0, 31),
        )
        level = "DEBUG" if r.random() < 0.15 else "INFO"
        return f"{self.timestamp()} {level} [{self.pick(SERVICES)}-{r.randint(0, 9)}] {message}"

    def error_line(self, signature: str) -> str:
        return f"{self.timestamp()} ERROR [{self.pick(SERVICES)}-{self.rnd.randint(0, 9)}] {self.variant(signature)}"

    def unknown_line(self) -> str:
        r = self.rnd
        return (f"{self.timestamp()} ERROR [{self.pick(SERVICES)}-{r.randint(0, 9)}] unhandled {self.pick(WORDS)} "
                f"state {r.randint(1, 9)} in {self.pick(SERVICES)} worker, giving up")


def _signatures(gen: _Generator, count: int) -> tuple[list[str], list[str]]:
    """(literals, patterns): 1% of signatures are RE2 patterns."""
    literals: list[str] = []
    seen: set[str] = set()
    pattern_count = count // 100
    while len(literals) < count - pattern_count:
        text = gen.signature()
        key = mask_line(text)
        if key not in seen:
            seen.add(key)
            literals.append(text)
    patterns = [
        rf"{gen.pick(SERVICES)} (?:{gen.pick(COMPONENTS)}|{gen.pick(COMPONENTS)}) gave up after \d+ retries \({i}\)"
        for i in range(pattern_count)
    ]
    return literals, patterns


def _write_log(gen: _Generator, path: Path, size: int, active: list[str]) -> None:
    """About 1 line in 150 is a known error, 1 in 300 an unknown one, a few are tracebacks."""
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < size:
            roll = gen.rnd.random()
            if roll < 1 / 150:
                line = gen.error_line(gen.pick(active))
            elif roll < 1 / 150 + 1 / 300:
                line = gen.unknown_line()
            elif roll < 1 / 150 + 1 / 300 + 1 / 2000:
                line = ("Traceback (most recent call last):\n"
                        f'  File "{gen.path()}.py", line {gen.rnd.randint(1, 900)}, in run\n'
                        f"    {gen.pick(WORDS)}.flush()\n{gen.variant(gen.pick(active))}")
            else:
                line = gen.info_line()
            out.write(line + "\n")
            written += len(line) + 1


def _best(runs: list[float]) -> float:
    return min(runs) if runs else float("nan")


def _measure_memory(matcher: Matcher, path: Path) -> dict[str, float]:
    """Peak Python allocations (tracemalloc) and RSS growth while scanning one file."""
    process = psutil.Process()
    rss_before = process.memory_info().rss
    peak_rss = rss_before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss
        while not done.wait(0.005):
            peak_rss = max(peak_rss, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            matcher.scan(handle, max_bytes=path.stat().st_size + 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        done.set()
        sampler.join()
    peak_rss = max(peak_rss, process.memory_info().rss)
    return {"tracemalloc_peak_mb": round(peak / 2**20, 2), "rss_growth_mb": round((peak_rss - rss_before) / 2**20, 2)}


def _import_relevance_guides() -> int:
    """Import the relevance benchmark's public guides (each into its own system); returns the article count."""
    from kb.importing import guide_import, system_for_import
    from kb.models import Article
    from kb.relevance.material import guides_load

    for guide in guides_load():
        guide_import(data=guide.file.read_bytes(), filename=guide.file.name,
                     system=system_for_import(name=guide.slug))
    return Article.objects.count()


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


class Command(BaseCommand):
    help = "Benchmark the log matcher against grep and a naive loop; prints one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--signatures", type=int, default=10000)
        parser.add_argument("--log-mb", type=float, default=50.0)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--rounds", type=int, default=3, help="timed rounds for engine and grep (best wins)")

    def handle(self, *args: Any, **options: Any) -> None:
        count, log_mb, seed, rounds = options["signatures"], options["log_mb"], options["seed"], options["rounds"]
        if count < 100 or log_mb <= 0:
            raise CommandError("use --signatures >= 100 and --log-mb > 0")
        grep = shutil.which("grep")
        if grep is None:
            raise CommandError("grep is needed for the baseline")
        gen = _Generator(seed)
        literals, patterns = _signatures(gen, count)
        specs = [SignatureSpec(i, i // 4, "literal", text) for i, text in enumerate(literals)]
        specs += [SignatureSpec(len(specs) + i, 10**6 + i, "pattern", text) for i, text in enumerate(patterns)]
        # The errors that actually occur in the log: a realistic failing system repeats a few of them.
        active = gen.rnd.sample(literals, min(200, len(literals)))

        builds, readies = [], []
        for _ in range(rounds):
            re2._Regexp._make.cache_clear()  # no help from re2's own cache of compiled patterns
            started = time.perf_counter()
            matcher = Matcher(specs)
            builds.append(time.perf_counter() - started)
            # Hyperscan compiles in the background (the matcher answers through RE2 meanwhile): waited for
            # here, so the next build does not share the CPU with it and the scans below run on it.
            matcher.wait_for_hyperscan()
            readies.append(time.perf_counter() - started)
        result: dict[str, Any] = {"signatures": len(specs), "literals": len(literals), "patterns": len(patterns),
                                  "log_mb": log_mb, "seed": seed, "build_ms": round(_best(builds) * 1000, 1),
                                  "build_runs_ms": [round(x * 1000, 1) for x in builds],
                                  "prefilter": "hyperscan" if matcher.uses_hyperscan else "re2",
                                  "hyperscan_ready_ms": round(_best(readies) * 1000, 1) if matcher.uses_hyperscan else None}

        workdir = Path(tempfile.mkdtemp(prefix="bench_match_"))
        try:
            big, small = workdir / "big.log", workdir / "small.log"
            sigfile = workdir / "signatures.txt"
            _write_log(gen, big, int(log_mb * 2**20), active)
            _write_log(gen, small, max(1, int(log_mb * 2**20) // 5), active)
            sigfile.write_text("\n".join(literals) + "\n", encoding="utf-8")
            size_mb = big.stat().st_size / 2**20
            limit = big.stat().st_size + 1

            engine_runs, grep_runs = [], []
            report = grep_count = None
            with big.open("rb") as handle:
                matcher.scan(handle, max_bytes=limit)  # warm the DFA once, as a long-running process has it
            for _ in range(rounds):
                elapsed, completed = _timed(lambda: subprocess.run(
                    [grep, "-F", "-c", "-f", str(sigfile), str(big)], capture_output=True,
                    env={**os.environ, "LC_ALL": "C"}, check=False))
                grep_runs.append(elapsed)
                grep_count = int(completed.stdout.strip() or 0)
                with big.open("rb") as handle:
                    elapsed, report = _timed(lambda handle=handle: matcher.scan(handle, max_bytes=limit))
                engine_runs.append(elapsed)
            mb_per_s = size_mb / _best(engine_runs)
            grep_mb_per_s = size_mb / _best(grep_runs)

            naive_mb_per_s = self._naive(big, literals)
            matched_lines = sum(hits.line_count for hits in report.hits.values())
            result.update({
                "log_bytes": big.stat().st_size, "mb_per_s": round(mb_per_s, 1), "grep_mb_per_s": round(grep_mb_per_s, 1),
                "ratio_vs_grep": round(mb_per_s / grep_mb_per_s, 3), "naive_mb_per_s": round(naive_mb_per_s, 3),
                "ratio_vs_naive": round(mb_per_s / naive_mb_per_s, 1),
                "engine_runs_s": [round(x, 3) for x in engine_runs], "grep_runs_s": [round(x, 3) for x in grep_runs],
                "matched_lines": matched_lines, "matched_symptoms": len(report.hits), "grep_count": grep_count,
                "unknown_groups": len(report.unknown), "lines": report.lines_read,
            })
            result["peak_memory"] = {
                f"{small.stat().st_size / 2**20:.1f}MB": _measure_memory(matcher, small),
                f"{size_mb:.1f}MB": _measure_memory(matcher, big),
            }
            text = big.open("rb").read(2**20)
            text = text[: text.rfind(b"\n") + 1].decode("utf-8")
            result.update(self._api(specs, text))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

        memory = list(result["peak_memory"].values())
        result["targets"] = {
            "ratio_vs_grep>=1": result["ratio_vs_grep"] >= 1,
            "build_ms<=500": result["build_ms"] <= 500,
            "memory_flat": memory[1]["tracemalloc_peak_mb"] <= 1.5 * memory[0]["tracemalloc_peak_mb"] + 1,
            "api<3x_engine": result.get("api_vs_engine") is not None and result["api_vs_engine"] < 3,
            "api<=1.5x_no_retrieval": result.get("api_vs_no_retrieval") is not None
            and result["api_vs_no_retrieval"] <= 1.5,
        }
        self.stdout.write(json.dumps(result))

    def _naive(self, path: Path, literals: list[str]) -> float:
        """Every lower-cased signature tested with `in` against every lower-cased line of a sample."""
        needles = [text.lower() for text in literals]
        with path.open("r", encoding="utf-8") as handle:
            sample = [handle.readline() for _ in range(1500)]
        size = sum(len(line.encode()) for line in sample)
        started = time.perf_counter()
        found = 0
        for line in sample:
            low = line.lower()
            for needle in needles:
                if needle in low:
                    found += 1
        return size / 2**20 / (time.perf_counter() - started)

    def _api(self, specs: list[SignatureSpec], text: str) -> dict[str, Any]:
        """POST 1 MB to /api/v1/match/ with these signatures in the database (rolled back afterwards)."""
        from django.db import transaction
        from django.test import Client, override_settings

        from kb.models import Signature, Symptom, System

        class _Rollback(Exception):
            pass

        measured: dict[str, Any] = {}
        # Eleven requests a run: the per-address limit on /api/v1/match/ (30 a minute) would answer 429 to
        # the next run within the minute. The limiter is not what is measured here.
        try:
            with override_settings(RATELIMIT_ENABLE=False), transaction.atomic():
                system = System.objects.create(name="Bench system (rolled back)", slug="bench-match-rolled-back")
                symptom_ids = sorted({spec.symptom_id for spec in specs})
                symptoms = Symptom.objects.bulk_create(
                    [Symptom(system=system, title=f"Bench symptom {n}") for n in range(len(symptom_ids))],
                    batch_size=2000)
                by_id = {old: new.pk for old, new in zip(symptom_ids, symptoms, strict=True)}
                Signature.objects.bulk_create(
                    [Signature(symptom_id=by_id[spec.symptom_id], kind=spec.kind, text=spec.text) for spec in specs],
                    batch_size=2000)
                del symptoms, by_id  # a server does not hold these; they would only slow the GC here
                # Real articles behind the signatures, so the related lookups have an index to search: the
                # public guides of the relevance benchmark, imported as a user would.
                measured["retrieval_articles"] = _import_relevance_guides()
                matching.matcher_reset()
                build_db_s, matcher = _timed(matching.matcher_current)
                measured["build_from_db_ms"] = round(build_db_s * 1000, 1)
                matcher.wait_for_hyperscan()  # a running server has it ready; it compiles in the background
                data = text.encode()
                client = Client()
                body = json.dumps({"text": text})
                matching.symptom_match_text(text=text, user=None)
                client.post("/api/v1/match/", body, content_type="application/json")
                # The engine's own time is kb.matching's entry point (version check, scan, ranking and the
                # knowledge-base rows for the matches): the call the API view makes, without HTTP, DRF and
                # JSON. Interleaved with the API calls, best of five each, so machine load hits both alike.
                # The API as it was before retrieval: the same request with related lookups and system
                # detection off (the view's call, with related=False).
                plain_match = functools.partial(matching.symptom_match_text, related=False)
                engine_runs, scan_runs, runs, plain_runs = [], [], [], []
                for _ in range(5):
                    engine_runs.append(_timed(lambda: matching.symptom_match_text(text=text, user=None))[0])
                    scan_runs.append(_timed(lambda: matcher.scan(io.BytesIO(data)))[0])
                    elapsed, response = _timed(lambda: client.post("/api/v1/match/", body,
                                                                   content_type="application/json"))
                    if response.status_code != 200:
                        raise CommandError(f"API answered {response.status_code}: {response.content[:200]!r}")
                    runs.append(elapsed)
                    with mock.patch.object(matching, "symptom_match_text", plain_match):
                        plain_runs.append(_timed(lambda: client.post("/api/v1/match/", body,
                                                                     content_type="application/json"))[0])
                engine, scan_only = _best(engine_runs), _best(scan_runs)
                api, plain = _best(runs), _best(plain_runs)
                measured.update({"engine_1mb_ms": round(engine * 1000, 1), "scan_1mb_ms": round(scan_only * 1000, 1),
                                 "api_1mb_ms": round(api * 1000, 1), "api_no_retrieval_1mb_ms": round(plain * 1000, 1),
                                 "api_vs_engine": round(api / engine, 2), "api_vs_scan": round(api / scan_only, 2),
                                 "api_vs_no_retrieval": round(api / plain, 2),
                                 "api_matches": len(response.json()["matches"]),
                                 "api_related": sum(1 for item in response.json()["matches"]
                                                    if item.get("kind") == "related")})
                raise _Rollback
        except _Rollback:
            pass
        except CommandError:
            raise
        except Exception as error:  # no database, not migrated: the rest of the benchmark still stands
            measured["api_error"] = f"{type(error).__name__}: {error}"[:300]
        finally:
            matching.matcher_reset()
        return measured
