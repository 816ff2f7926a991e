"""Redis probe: PING, optionally one INFO field."""

from __future__ import annotations

import time
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .base import (
    CheckSpec,
    Metric,
    ProbeOutcome,
    ProbeUnavailable,
    TransportError,
    as_number,
    host_port,
    ms,
    short_text,
)
from .context import ProbeContext


async def probe_redis(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    params = ctx.resolve_secrets(spec.parameters)
    target = ctx.resolve_target(spec.target)
    use_tls = target.startswith("rediss://")
    db = params.get("db")
    if target.startswith(("redis://", "rediss://")):
        parsed = httpx.URL(target)
        host, port = parsed.host, parsed.port or 6379
        if db is None and parsed.path.strip("/").isdigit():
            db = int(parsed.path.strip("/"))
        password = params.get("password") or (parsed.password or None)
        username = params.get("username") or (parsed.username or None)
    else:
        host, port = host_port(target, 6379)
        password, username = params.get("password"), params.get("username")
    address = await ctx.vet(host)
    client = aioredis.Redis(
        host=str(address), port=port, db=db or 0, password=password, username=username,
        socket_timeout=spec.timeout, socket_connect_timeout=spec.timeout, ssl=use_tls,
        retry=Retry(NoBackoff(), 0), decode_responses=True,  # the engine does the retrying
    )
    started = time.perf_counter()
    info_field = params.get("info_field")
    try:
        pong = await client.ping()
        ping_time = time.perf_counter() - started
        info = await client.info() if info_field else {}
    except AuthenticationError as exc:
        raise ProbeUnavailable(f"Redis refused the check's credentials: {exc}") from exc
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise TransportError(f"cannot reach Redis at {host}:{port}: {ctx.secrets.scrub(str(exc)) or type(exc).__name__}") from exc
    except ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise ProbeUnavailable(f"Redis needs credentials: {exc}") from exc
        return ProbeOutcome(summary="", failure=f"Redis answered with an error: {exc}",
                            observations={"CONNECTED": True}, evidence={"server": f"{host}:{port}", "error": str(exc)})
    except RedisError as exc:
        raise TransportError(f"Redis error: {exc}") from exc
    finally:
        await client.aclose()
    elapsed = time.perf_counter() - started
    reply = "PONG" if pong is True else str(pong)
    evidence: dict[str, Any] = {"server": f"{host}:{port}", "db": db or 0, "ping": reply}
    observations: dict[str, Any] = {"CONNECTED": True, "RESPONSE_TIME": ms(ping_time), "BODY": reply}
    metrics = [Metric("ping_time", ms(ping_time), "ms")]
    if info_field:
        if info_field not in info:
            raise ProbeUnavailable(f"Redis INFO has no field {info_field!r}")
        raw = info[info_field]
        observations["VALUE"] = raw
        evidence["info"] = {info_field: raw, "redis_version": info.get("redis_version", "")}
        number = as_number(raw)
        if number is not None:
            metrics.insert(0, Metric(info_field, number))
        return ProbeOutcome(
            summary=f"PING {reply}; {info_field} = {short_text(raw)}", observations=observations, value=number,
            value_label=info_field, metrics=metrics, evidence=evidence,
        )
    observations["VALUE"] = ms(ping_time)
    return ProbeOutcome(
        summary=f"PING {reply} in {ms(elapsed):.1f} ms", observations=observations, value=ms(ping_time),
        value_label="ping time", value_unit="ms", metrics=metrics, evidence=evidence,
    )

