"""TLS certificate probe: days until the served certificate expires, trusted or not."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from datetime import UTC, datetime

from ..targets import ip_literal
from .base import (
    CheckSpec,
    Metric,
    ProbeOutcome,
    ProbeUnavailable,
    TransportError,
    certificate_not_after,
    describe_os_error,
    host_port,
    ms,
)
from .context import ProbeContext


async def probe_tls(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    host, port = host_port(spec.target, 443)
    address = await ctx.vet(host)
    server_name = spec.parameters.get("server_name") or (None if ip_literal(host) else host)
    # Expiry is read even from certificates nobody trusts: an untrusted certificate still expires.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.perf_counter()
    try:
        _reader, writer = await asyncio.open_connection(str(address), port, ssl=context, server_hostname=server_name)
    except ssl.SSLError as exc:
        raise TransportError(f"TLS handshake with {host}:{port} failed: {exc.reason or exc}") from exc
    except OSError as exc:
        raise TransportError(f"{host}:{port}: {describe_os_error(exc)}") from exc
    elapsed = time.perf_counter() - started
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        certificate = certificate_not_after(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
        protocol = ssl_object.version() if ssl_object else ""
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if certificate is None:
        raise ProbeUnavailable(f"{host}:{port} presented no certificate")
    not_after, details = certificate
    remaining = (not_after - datetime.now(UTC)).total_seconds()
    days = remaining / 86400
    summary = (f"certificate expired {-days:.1f} days ago" if remaining < 0
               else f"certificate valid for {days:.1f} more days (until {not_after:%Y-%m-%d})")
    return ProbeOutcome(
        summary=summary,
        observations={"CERTIFICATE_EXPIRATION": remaining * 1000, "CONNECTED": True, "RESPONSE_TIME": ms(elapsed),
                      "VALUE": round(days, 3)},
        value=round(days, 3), value_label="days until expiry", value_unit="days",
        metrics=[Metric("days_until_expiry", days, "days"), Metric("handshake_time", ms(elapsed), "ms")],
        evidence={"address": f"{address}:{port}", "server_name": server_name or "", "protocol": protocol, **details},
    )

