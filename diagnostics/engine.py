"""The check engine: runs many checks concurrently on one asyncio loop and judges each result.

``run_specs`` takes detached ``CheckSpec`` objects (no ORM inside the loop), runs at most ``concurrency``
probes at a time, gives each attempt its own timeout, retries transport failures with exponential backoff
and turns every outcome into a ``CheckResult``:

* the probe could not run (after the retries, or not at all) -> UNKNOWN;
* the probe saw a definite failure, or a condition does not hold -> CRITICAL;
* the primary value crosses the critical / warning threshold -> CRITICAL / WARNING;
* otherwise OK.

Nothing a probe raises escapes: a bug in one probe makes that check UNKNOWN, not the batch fail.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import conf
from .conditions import ConditionOutcome, evaluate, parse_condition
from .probes.base import CheckSpec, ProbeOutcome, ProbeUnavailable, TransportError
from .probes.context import ProbeContext
from .probes.registry import PROBES
from .targets import Allowlist, Resolver, Secrets

logger = logging.getLogger(__name__)
T = TypeVar("T")

OK, WARNING, CRITICAL, UNKNOWN = "ok", "warning", "critical", "unknown"
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 2.0

# Used when a check lists no conditions of its own.
DEFAULT_CONDITIONS = {
    "http": ("[STATUS] < 400",),
    "tcp": ("[CONNECTED] == true",),
    "dns": ("[DNS_RCODE] == NOERROR",),
    "tls": ("[CERTIFICATE_EXPIRATION] > 0",),
}


@dataclass
class CheckResult:
    state: str
    message: str
    metrics: list[dict] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    attempts: int = 0


@dataclass(frozen=True)
class EngineSettings:
    allowlist: Allowlist
    allowed_paths: tuple[str, ...] = ()
    concurrency: int = 100

    @classmethod
    def from_settings(cls, concurrency: int | None = None) -> EngineSettings:
        import os

        from django.conf import settings

        paths = tuple(os.path.realpath(p) for p in getattr(settings, "TRIAGE_CHECK_ALLOWED_PATHS", []))
        return cls(
            allowlist=Allowlist.from_settings(),
            allowed_paths=paths,
            concurrency=concurrency or conf.check_concurrency(),
        )


def conditions_for(check_type: str, conditions: Sequence[str]) -> tuple:
    """Parsed conditions, or the type's defaults; raises ConditionError for a bad stored condition."""
    return _parsed(check_type, tuple(conditions) or DEFAULT_CONDITIONS.get(check_type, ()))


@functools.lru_cache(maxsize=4096)
def _parsed(check_type: str, texts: tuple[str, ...]) -> tuple:
    # Parsed conditions are immutable, so a batch of a thousand similar checks parses each text once.
    return tuple(parse_condition(text, check_type) for text in texts)


async def run_specs(
    specs: Sequence[CheckSpec],
    settings: EngineSettings,
    *,
    on_result: Callable[[int, CheckResult], Awaitable[None] | None] | None = None,
) -> list[CheckResult]:
    """Run every spec, at most ``settings.concurrency`` at once; results come back in the specs' order."""
    context = ProbeContext(resolver=Resolver(settings.allowlist), secrets=Secrets(),
                           allowed_paths=settings.allowed_paths,
                           http_connections=max(1, settings.concurrency))
    semaphore = asyncio.Semaphore(max(1, settings.concurrency))

    async def guarded(index: int, spec: CheckSpec) -> CheckResult:
        async with semaphore:
            result = await run_one(spec, context)
        if on_result is not None:
            maybe = on_result(index, result)
            if asyncio.iscoroutine(maybe):
                await maybe
        return result

    try:
        return list(await asyncio.gather(*(guarded(i, spec) for i, spec in enumerate(specs))))
    finally:
        await context.aclose()


def run_specs_sync(
    specs: Sequence[CheckSpec],
    settings: EngineSettings,
    *,
    on_result: Callable[[int, CheckResult], None] | None = None,
) -> list[CheckResult]:
    """``run_specs`` from synchronous code (tasks, views in tests)."""
    return run_sync(lambda: run_specs(specs, settings, on_result=on_result))


def run_sync(coroutine_factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, even if this thread already runs a loop.

    Playwright's sync API, for one, keeps a loop running in the test thread; asyncio.run would refuse
    there, so the coroutine gets a private thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coroutine_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="check-engine")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


async def run_one(spec: CheckSpec, context: ProbeContext) -> CheckResult:
    started = time.perf_counter()
    if spec.invalid:
        return _unknown(spec, context, spec.invalid, started, 0)
    probe = PROBES.get(spec.type)
    if probe is None:
        return _unknown(spec, context, f"unknown check type {spec.type!r}", started, 0)
    attempts = 0
    failures: list[str] = []
    delay = BACKOFF_BASE_SECONDS
    while True:
        attempts += 1
        try:
            outcome = await asyncio.wait_for(probe(spec, context), timeout=spec.timeout)
            break
        except TransportError as exc:
            failures.append(str(exc))
        except TimeoutError:
            failures.append(f"no answer within the {spec.timeout:g}s timeout")
        except ProbeUnavailable as exc:
            return _unknown(spec, context, str(exc), started, attempts)
        except Exception as exc:  # a probe bug must cost one result, not the batch
            logger.exception("probe %s failed for check %s", spec.type, spec.id)
            return _unknown(spec, context, f"the probe failed: {type(exc).__name__}: {exc}", started, attempts)
        if attempts > spec.retries:
            tried = f" ({attempts} attempts)" if attempts > 1 else ""
            return _unknown(spec, context, failures[-1] + tried, started, attempts, failures)
        await asyncio.sleep(min(delay, BACKOFF_CAP_SECONDS))
        delay *= 2
    result = judge(spec, outcome)
    result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    result.attempts = attempts
    if failures:
        result.evidence["failed_attempts"] = failures
    result.message = context.secrets.scrub(result.message)
    result.evidence = context.secrets.scrub(result.evidence)
    return result


def _unknown(spec: CheckSpec, context: ProbeContext, message: str, started: float, attempts: int,
             failures: list[str] | None = None) -> CheckResult:
    evidence: dict[str, Any] = {"error": message}
    if failures and len(failures) > 1:
        evidence["failed_attempts"] = failures
    return CheckResult(
        state=UNKNOWN, message=_one_line(context.secrets.scrub(message)),
        evidence=context.secrets.scrub(evidence),
        duration_ms=round((time.perf_counter() - started) * 1000, 3), attempts=attempts,
    )


def judge(spec: CheckSpec, outcome: ProbeOutcome) -> CheckResult:
    """Turn what a probe saw into a state and a one-line message."""
    outcomes: list[ConditionOutcome] = [evaluate(condition, outcome.observations) for condition in spec.conditions]
    evidence = dict(outcome.evidence)
    if outcomes:
        evidence["conditions"] = [o.as_dict() for o in outcomes]
    metrics = [m.as_dict() for m in outcome.metrics]
    if outcome.value is not None and metrics and (spec.warning is not None or spec.critical is not None):
        # The first metric is the primary value by convention; it carries the thresholds.
        metrics[0]["warn"], metrics[0]["crit"] = spec.warning, spec.critical

    if outcome.failure:
        return CheckResult(state=CRITICAL, message=_one_line(outcome.failure), metrics=metrics, evidence=evidence)
    failed = [o for o in outcomes if not o.passed]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        message = f"condition failed: {first.condition} (got {first.actual}){more}"
        return CheckResult(state=CRITICAL, message=_one_line(message), metrics=metrics, evidence=evidence)
    state, message = _threshold_state(spec, outcome)
    return CheckResult(state=state, message=_one_line(message or outcome.summary), metrics=metrics, evidence=evidence)


def _threshold_state(spec: CheckSpec, outcome: ProbeOutcome) -> tuple[str, str]:
    value = outcome.value
    if value is None:
        return OK, ""
    above = spec.direction != "below"
    unit = f" {outcome.value_unit}" if outcome.value_unit and outcome.value_unit != "%" else outcome.value_unit
    shown = f"{value:g}{unit}"
    for state, threshold, word in ((CRITICAL, spec.critical, "critical"), (WARNING, spec.warning, "warning")):
        if threshold is None:
            continue
        crossed = value > threshold if above else value < threshold
        if crossed:
            side = "above" if above else "below"
            return state, f"{outcome.value_label} {shown} is {side} the {word} threshold {threshold:g}{unit}"
    return OK, ""


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 480 else line[:477] + "..."
