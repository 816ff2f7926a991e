"""Log file probe: how many of a file's last lines match a pattern or a known symptom's signatures."""

from __future__ import annotations

import asyncio
import os

import re2

from .base import CheckSpec, Metric, ProbeOutcome, ProbeUnavailable
from .context import ProbeContext


async def probe_logfile(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    path = os.path.realpath(spec.target)
    if not any(path == root or path.startswith(root.rstrip("/") + "/") for root in ctx.allowed_paths):
        raise ProbeUnavailable(f"log file {spec.target} is outside TRIAGE_CHECK_ALLOWED_PATHS")
    line_count = spec.parameters.get("lines", 1000)
    if "symptom" in spec.parameters:
        signatures = spec.symptom_signatures
        if signatures is None:
            raise ProbeUnavailable(f"symptom {spec.parameters['symptom']} is not known to the knowledge base")
        literals = [text for kind, text in signatures if kind == "literal" and text]
        patterns = [re2.compile(text) for kind, text in signatures if kind == "pattern" and text]
        source = f"symptom {spec.parameters['symptom']}"
    else:
        literals, patterns = [], [re2.compile(spec.parameters["pattern"])]
        source = f"pattern {spec.parameters['pattern']}"
    try:
        lines = await asyncio.to_thread(tail_lines, path, line_count)
    except (FileNotFoundError, IsADirectoryError, PermissionError, OSError) as exc:
        raise ProbeUnavailable(f"cannot read {spec.target}: {exc.strerror or exc}") from exc

    def matches(line: str) -> bool:
        return any(literal in line for literal in literals) or any(p.search(line) for p in patterns)

    matched = [line for line in lines if matches(line)]
    last = [line[:300] for line in matched[-5:]]
    return ProbeOutcome(
        summary=f"{len(matched)} of the last {len(lines)} lines match {source}",
        observations={"VALUE": len(matched), "BODY": "\n".join(matched[-20:])},
        value=len(matched), value_label="matching lines",
        metrics=[Metric("matching_lines", len(matched)), Metric("lines_scanned", len(lines))],
        evidence={"path": spec.target, "lines_scanned": len(lines), "matching_lines": len(matched),
                  "matched_by": source, "last_matches": last},
    )


def tail_lines(path: str, count: int, block: int = 64 * 1024) -> list[str]:
    """The last ``count`` lines of a file, reading backwards so a huge log costs what its tail costs."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        data = b""
        position = end
        while position > 0 and data.count(b"\n") <= count:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
            if len(data) > 64 * 1024 * 1024:  # pathological lines: stop at 64 MiB
                break
    lines = data.decode("utf-8", errors="replace").splitlines()
    if position > 0 and lines:
        lines = lines[1:]  # the first line was cut in half by the block boundary
    return lines[-count:]
