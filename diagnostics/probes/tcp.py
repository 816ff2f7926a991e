"""TCP probe: can a connection be opened, and how fast."""

from __future__ import annotations

import asyncio
import contextlib
import time

from .base import CheckSpec, Metric, ProbeOutcome, TransportError, describe_os_error, host_port, ms
from .context import ProbeContext


async def probe_tcp(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    host, port = host_port(spec.target, None)
    address = await ctx.vet(host)
    started = time.perf_counter()
    try:
        _reader, writer = await asyncio.open_connection(str(address), port)
    except ConnectionRefusedError:
        # A refusal is the host's definite answer: nothing listens there.
        elapsed = time.perf_counter() - started
        return ProbeOutcome(
            summary=f"connection to {host}:{port} refused", observations={"CONNECTED": False, "RESPONSE_TIME": ms(elapsed)},
            value=ms(elapsed), value_label="connect time", value_unit="ms",
            metrics=[Metric("connect_time", ms(elapsed), "ms")],
            evidence={"address": f"{address}:{port}", "result": "connection refused"},
        )
    except OSError as exc:
        raise TransportError(f"{host}:{port}: {describe_os_error(exc)}") from exc
    elapsed = time.perf_counter() - started
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(
        summary=f"connected to {host}:{port} in {ms(elapsed):.1f} ms",
        observations={"CONNECTED": True, "RESPONSE_TIME": ms(elapsed)},
        value=ms(elapsed), value_label="connect time", value_unit="ms",
        metrics=[Metric("connect_time", ms(elapsed), "ms")],
        evidence={"address": f"{address}:{port}", "result": "connected"},
    )

