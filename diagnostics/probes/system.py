"""Probes of the host Triage runs on: disk and memory usage."""

from __future__ import annotations

import asyncio

import psutil

from .base import CheckSpec, Metric, ProbeOutcome, ProbeUnavailable
from .context import ProbeContext


async def probe_disk(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    path = spec.target
    try:
        usage = await asyncio.to_thread(psutil.disk_usage, path)
    except (FileNotFoundError, NotADirectoryError, PermissionError, OSError) as exc:
        raise ProbeUnavailable(f"cannot read disk usage of {path}: {exc.strerror or exc}") from exc
    gib = 1024 ** 3
    return ProbeOutcome(
        summary=f"{usage.percent:.1f}% used on {path} ({usage.free / gib:.1f} GiB free)",
        observations={"VALUE": usage.percent}, value=usage.percent, value_label="disk used", value_unit="%",
        metrics=[Metric("used_percent", usage.percent, "%"), Metric("free", usage.free / gib, "GiB"),
                 Metric("total", usage.total / gib, "GiB")],
        evidence={"path": path, "total_bytes": usage.total, "used_bytes": usage.used, "free_bytes": usage.free},
    )


async def probe_memory(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    kind = spec.parameters.get("kind", "virtual")
    try:
        usage = psutil.swap_memory() if kind == "swap" else psutil.virtual_memory()
    except (OSError, RuntimeError) as exc:
        raise ProbeUnavailable(f"cannot read {kind} memory: {exc}") from exc
    gib = 1024 ** 3
    available = getattr(usage, "available", usage.free)
    return ProbeOutcome(
        summary=f"{usage.percent:.1f}% of {kind} memory used ({available / gib:.1f} GiB available)",
        observations={"VALUE": usage.percent}, value=usage.percent, value_label=f"{kind} memory used",
        value_unit="%",
        metrics=[Metric("used_percent", usage.percent, "%"), Metric("available", available / gib, "GiB"),
                 Metric("total", usage.total / gib, "GiB")],
        evidence={"kind": kind, "total_bytes": usage.total, "used_bytes": usage.used, "available_bytes": available},
    )

