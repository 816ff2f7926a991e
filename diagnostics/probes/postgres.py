"""PostgreSQL probe: connect read-only with a statement timeout, optionally run one query."""

from __future__ import annotations

import contextlib
import json
import time

import psycopg
from psycopg.conninfo import conninfo_to_dict

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


async def probe_postgres(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    params = ctx.resolve_secrets(spec.parameters)
    target = ctx.resolve_target(spec.target)
    if target.startswith(("postgres://", "postgresql://")):
        try:
            conninfo = conninfo_to_dict(target)
        except psycopg.ProgrammingError as exc:
            raise ProbeUnavailable("the PostgreSQL URL cannot be parsed") from exc
    else:
        host, port = host_port(target, 5432)
        conninfo = {"host": host, "port": str(port)}
    host = str(conninfo.get("host") or "")
    if not host or "," in host or host.startswith("/"):
        raise ProbeUnavailable("a PostgreSQL check needs exactly one TCP host")
    address = await ctx.vet(host)
    statement_timeout = params.get("statement_timeout_ms", 2000)
    conninfo.update({
        "hostaddr": str(address),
        "port": str(conninfo.get("port") or 5432),
        "dbname": params.get("database") or conninfo.get("dbname") or "postgres",
        "user": params.get("user") or conninfo.get("user") or "postgres",
        "connect_timeout": str(max(1, int(spec.timeout + 0.999))),
        "application_name": "triage-check",
        # Read-only and time-boxed on the server side too: a check must never change or hog the database.
        "options": f"-c default_transaction_read_only=on -c statement_timeout={statement_timeout}",
    })
    if params.get("password"):
        conninfo["password"] = params["password"]
    query = (params.get("query") or "").strip().rstrip(";")
    started = time.perf_counter()
    try:
        connection = await psycopg.AsyncConnection.connect(**conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        message = ctx.secrets.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if _postgres_auth_problem(str(exc)):
            raise ProbeUnavailable(f"PostgreSQL refused the check's credentials: {message}") from exc
        raise TransportError(f"cannot connect to PostgreSQL at {host}:{conninfo['port']}: {message}") from exc
    connect_time = time.perf_counter() - started
    rows: list[dict] = []
    failure = ""
    try:
        version = connection.info.server_version
        if query:
            try:
                # One statement (a prepared statement cannot hold several, so no "COMMIT; ..." escape),
                # inside a READ ONLY transaction that is always rolled back.
                await connection.execute("BEGIN TRANSACTION READ ONLY")
                try:
                    async with connection.cursor() as cursor:
                        await cursor.execute(query, prepare=True)
                        if cursor.description:
                            names = [column.name for column in cursor.description]
                            rows = [dict(zip(names, row, strict=False)) for row in await cursor.fetchmany(20)]
                finally:
                    with contextlib.suppress(psycopg.Error):  # a broken connection keeps the first error
                        await connection.execute("ROLLBACK")
            except psycopg.Error as exc:
                sqlstate = getattr(exc, "sqlstate", "") or ""
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                # The server is in trouble (cancelled by the statement timeout, out of resources): CRITICAL.
                # Anything else is the check's own mistake (syntax, a write in a read-only transaction).
                if sqlstate[:2] in ("53", "57", "58", "08"):
                    failure = f"query failed: {detail}"
                else:
                    raise ProbeUnavailable(f"the check's query failed: {detail} (SQLSTATE {sqlstate})") from exc
    finally:
        await connection.close()
    elapsed = time.perf_counter() - started
    first = next(iter(rows[0].values())) if rows and rows[0] else None
    value = as_number(first) if query else None
    observations = {"CONNECTED": True, "RESPONSE_TIME": ms(elapsed),
                    "BODY": json.dumps(rows, default=str), "VALUE": first if first is not None else ""}
    metrics = [Metric("connect_time", ms(connect_time), "ms"), Metric("total_time", ms(elapsed), "ms")]
    if value is not None:
        metrics.insert(0, Metric("value", value))
    summary = (f"PostgreSQL {version // 10000} answered in {ms(elapsed):.0f} ms"
               + (f", query returned {short_text(first)}" if query else ""))
    return ProbeOutcome(
        summary=summary, observations=observations,
        value=value if query else ms(elapsed), value_label="query result" if query else "response time",
        value_unit="" if query else "ms", metrics=metrics, failure=failure,
        evidence={"server": f"{host}:{conninfo['port']}", "database": conninfo["dbname"], "user": conninfo["user"],
                  "server_version": version, "query": query, "rows": json.loads(json.dumps(rows, default=str))},
    )


def _postgres_auth_problem(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in (
        "password authentication failed", "no password supplied", "role \"", "does not exist",
        "no pg_hba.conf entry", "authentication failed",
    ))

