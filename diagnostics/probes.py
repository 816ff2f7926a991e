"""Probes: one async function per check type, each turning a target into observations.

A probe returns a ``ProbeOutcome`` (what it saw: placeholder values for the conditions, the primary value
the thresholds apply to, metrics and evidence), or raises:

* ``TransportError`` when it could not talk to the target (refused, reset, timed out). The engine retries
  with backoff and, if every attempt fails, reports UNKNOWN: the check could not run, which is not the
  same as the target being broken.
* ``ProbeUnavailable`` when retrying cannot help (target not allowed, missing secret, unreadable file).

A probe that *did* talk to the target and got a definite bad answer (a refused TCP port, an expired or
untrusted certificate, a query cancelled by the statement timeout) returns an outcome whose conditions
fail, or sets ``failure``, which makes the result CRITICAL.

Probes never run shell commands, connect only to addresses vetted by ``targets.Resolver``, and never put a
resolved secret into evidence (the engine scrubs them again to be sure).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import httpx
import psutil
import psycopg
import re2
import redis.asyncio as aioredis
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from psycopg.conninfo import conninfo_to_dict
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from yarl import URL

from .conditions import Condition
from .targets import (
    REDACTED,
    SECRET_HEADERS,
    IPAddress,
    Resolver,
    SecretMissing,
    Secrets,
    TargetNotAllowed,
    TargetUnresolvable,
    ip_literal,
    is_env_reference,
    is_reserved_invalid,
    split_host_port,
)

BODY_LIMIT = 1024 * 1024  # conditions see up to 1 MiB of a response
EXCERPT_LIMIT = 2000  # evidence keeps an excerpt
USER_AGENT = "Triage-check/1"
# Sent with every HTTP check (a check's own headers win); identity, because conditions read the raw body.
_HTTP_HEADERS = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"}


class TransportError(Exception):
    """Could not talk to the target; worth retrying."""


class ProbeUnavailable(Exception):
    """The probe cannot run at all; retrying will not help."""


def describe_os_error(exc: OSError) -> str:
    """"connection refused" rather than "[Errno 111] Connect call failed ('127.0.0.1', 8000)"."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


class AddressRefused(OSError):
    """The HTTP client asked for a host the allowlist refuses (an OSError so aiohttp passes it through)."""


class VettedResolver(AbstractResolver):
    """aiohttp's name resolution for the HTTP probe: only ever the address ``targets.Resolver`` vetted.

    The URL keeps the host name, so ``Host`` and TLS (SNI and certificate verification) use the name,
    while the socket can only go to the address that was checked against the allowlist: aiohttp never
    resolves a name on its own. IP literals never reach a resolver; the probe vets those before asking.
    """

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            address = await self._resolver.vet(host)
        except (TargetNotAllowed, TargetUnresolvable) as exc:
            raise AddressRefused(str(exc)) from exc
        return [{
            "hostname": host, "host": str(address), "port": port,
            "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
            "proto": 0, "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
        }]

    async def close(self) -> None:
        return None


# The HTTP probe's box for the server certificate of the connection its request goes out on. A context
# variable because each probe runs in its own task and ``connect`` runs in that task: the response
# cannot tell, since aiohttp hands a short response's connection back to the pool before returning it.
_PEER_CERTIFICATE: contextvars.ContextVar[list[bytes | None] | None] = contextvars.ContextVar(
    "triage_peer_certificate", default=None)


class _CheckConnector(aiohttp.TCPConnector):
    """aiohttp's connector, noting the TLS certificate of the connection each HTTPS probe uses."""

    async def connect(self, req: aiohttp.ClientRequest, traces: list, timeout: aiohttp.ClientTimeout
                      ) -> aiohttp.connector.Connection:
        connection = await super().connect(req, traces, timeout)
        box = _PEER_CERTIFICATE.get()
        if box is not None and req.is_ssl() and connection.transport is not None:
            ssl_object = connection.transport.get_extra_info("ssl_object")
            box.append(ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None)
        return connection


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = ""
    warn: float | None = None
    crit: float | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "value": round(self.value, 3), "unit": self.unit, "warn": self.warn,
                "crit": self.crit}


@dataclass
class ProbeOutcome:
    summary: str  # one line for an OK result, e.g. "HTTP 200 in 12 ms"
    observations: dict[str, Any]
    value: float | None = None  # what the warning/critical thresholds are compared with
    value_label: str = ""  # "response time", "disk used", ...
    value_unit: str = ""
    metrics: list[Metric] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    failure: str = ""  # a definite bad answer: the result is CRITICAL whatever the conditions say


@dataclass(frozen=True)
class CheckSpec:
    """Everything needed to run a check, detached from the ORM so the engine never touches the database."""

    id: int | None
    name: str
    type: str
    target: str
    parameters: dict[str, Any]
    conditions: tuple[Condition, ...]
    timeout: float = 5.0
    retries: int = 2
    warning: float | None = None
    critical: float | None = None
    direction: str = "above"
    symptom_signatures: tuple[tuple[str, str], ...] | None = None
    invalid: str = ""  # set when the stored definition no longer validates; the run is UNKNOWN


@dataclass
class ProbeContext:
    """Shared by every probe of one engine run: the resolver, secrets, TLS contexts and the HTTP session."""

    resolver: Resolver
    secrets: Secrets
    allowed_paths: tuple[str, ...]
    http_connections: int = 100  # the engine's concurrency: each probe holds at most one connection
    _http: aiohttp.ClientSession | None = None
    _pinned_urls: dict[str, tuple[httpx.URL, URL, str]] = field(default_factory=dict)
    _timeouts: dict[float, aiohttp.ClientTimeout] = field(default_factory=dict)

    def ssl_context(self, *, verify: bool) -> ssl.SSLContext:
        return _client_ssl_context(verify)

    def http_session(self) -> aiohttp.ClientSession:
        """The run's one HTTP client, made on first use so runs without HTTP checks never build it.

        Keep-alive connections are shared by every HTTP probe of the run. No cookies, proxies or
        decompression: a check sees exactly what the server sent to this request.
        """
        if self._http is None:
            connector = _CheckConnector(
                limit=max(1, self.http_connections), ssl=self.ssl_context(verify=True),
                resolver=VettedResolver(self.resolver), use_dns_cache=False,
            )
            self._http = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                trust_env=False, timeout=aiohttp.ClientTimeout(total=None), headers=_HTTP_HEADERS,
                skip_auto_headers=("Content-Type",),  # send only what the check asked for
            )
        return self._http

    def http_timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def pinned_url(self, url: str) -> tuple[httpx.URL, URL, str]:
        """(the parsed URL, the URL to request, the Host header) once the host is vetted; cached for the run.

        The request keeps the name for the Host header and TLS (SNI and verification); ``VettedResolver``
        hands aiohttp the vetted address, so a name cannot resolve differently between the check and the
        connection. User info is dropped: credentials go in headers referencing env: secrets.
        """
        cached = self._pinned_urls.get(url)
        if cached is None:
            try:
                parsed = httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise ProbeUnavailable(f"invalid URL: {exc}") from exc
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise ProbeUnavailable(f"refusing to request {parsed.scheme or 'a relative'} URL {url}")
            await self.vet(parsed.host)
            host_header = parsed.netloc.decode("ascii").rpartition("@")[2]
            try:
                request_url = URL(str(parsed), encoded=True).with_user(None)
            except ValueError as exc:
                raise ProbeUnavailable(f"invalid URL: {exc}") from exc
            cached = (parsed, request_url, host_header)
            self._pinned_urls[url] = cached
        return cached

    async def vet(self, host: str) -> IPAddress:
        try:
            return await self.resolver.vet(host)
        except TargetNotAllowed as exc:
            raise ProbeUnavailable(str(exc)) from exc
        except TargetUnresolvable as exc:
            raise ProbeUnavailable(f"cannot resolve target: {exc}") from exc

    def resolve_secrets(self, value: Any) -> Any:
        try:
            return self.secrets.resolve(value)
        except SecretMissing as exc:
            raise ProbeUnavailable(str(exc)) from exc


@functools.lru_cache(maxsize=2)
def _client_ssl_context(verify: bool) -> ssl.SSLContext:
    """One context per verification mode for the process: building one loads the CA bundle, which costs
    more than a whole batch of plain-HTTP checks. Contexts are only read once built, so runs share them."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _certificate_not_after(der: bytes | None) -> tuple[datetime, dict] | None:
    if not der:
        return None

    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return not_after, {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
    }


# --- HTTP ---------------------------------------------------------------------------------------------


async def probe_http(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    params = ctx.resolve_secrets(spec.parameters)
    url = ctx.resolve_secrets(spec.target) if is_env_reference(spec.target) else spec.target
    method = params.get("method", "GET").upper()
    extra_headers = list(params.get("headers", {}).items())
    body = params.get("body")
    body_bytes = body.encode("utf-8") if body is not None else None
    follow = params.get("follow_redirects", False)
    max_redirects = params.get("max_redirects", 5) if follow else 0
    verify = params.get("verify_tls", True)

    hops: list[str] = []
    session = ctx.http_session()
    timeout = ctx.http_timeout(spec.timeout)
    started = time.perf_counter()
    for hop in range(max_redirects + 1):
        # Every hop is vetted again: a redirect to a host outside the allowlist is refused, not followed.
        parsed, request_url, host_header = await ctx.pinned_url(url)
        headers = [("Host", host_header), *extra_headers]  # the session adds _HTTP_HEADERS
        https = parsed.scheme == "https"
        where = f"{parsed.host}:{parsed.port or (443 if https else 80)}"
        try:
            response = await _http_exchange(
                session, method, request_url, headers=headers, body=body_bytes, timeout=timeout,
                ssl_context=ctx.ssl_context(verify=verify) if https else None,
            )
        except aiohttp.ClientConnectorCertificateError as exc:
            error = exc.certificate_error
            return _http_tls_failure(url, getattr(error, "verify_message", "") or str(error), started)
        except _HTTPFailure as exc:
            raise TransportError(f"{where}: {exc}") from exc
        except AddressRefused as exc:
            raise ProbeUnavailable(str(exc)) from exc
        hops.append(f"{method} {url} -> {response.status}")
        location = next((value for name, value in response.headers if name == "location"), None)
        if follow and response.status in (301, 302, 303, 307, 308) and location and hop < max_redirects:
            url = str(parsed.join(location))
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body_bytes = "GET", None
            continue
        break
    elapsed = time.perf_counter() - started

    response_headers: dict[str, str] = {}
    for name, value in response.headers:
        response_headers[name] = f"{response_headers[name]}, {value}" if name in response_headers else value
    text = _decode_body(response.content, response_headers.get("content-type", ""))
    observations: dict[str, Any] = {
        "STATUS": response.status,
        "RESPONSE_TIME": _ms(elapsed),
        "BODY": text,
        "HEADER": response_headers,
        "CONNECTED": True,
    }
    evidence: dict[str, Any] = {
        "request": f"{method} {url}",
        "status_line": f"HTTP/{response.http_version} {response.status} {response.reason}".rstrip(),
        "headers": {k: (REDACTED if k in SECRET_HEADERS or k == "set-cookie" else v) for k, v in response_headers.items()},
        "body_excerpt": _excerpt(text),
    }
    if response.truncated:
        evidence["body_truncated_at_bytes"] = BODY_LIMIT
    if len(hops) > 1:
        evidence["redirects"] = hops
    metrics = [Metric("response_time", _ms(elapsed), "ms"), Metric("status", response.status),
               Metric("body_size", len(response.content), "B")]
    certificate = _certificate_not_after(response.peer_certificate) if parsed.scheme == "https" else None
    if certificate:
        not_after, details = certificate
        remaining = (not_after - datetime.now(UTC)).total_seconds()
        observations["CERTIFICATE_EXPIRATION"] = remaining * 1000
        evidence["certificate"] = details
    return ProbeOutcome(
        summary=f"HTTP {response.status} in {_ms(elapsed):.0f} ms",
        observations=observations, value=_ms(elapsed), value_label="response time", value_unit="ms",
        metrics=metrics, evidence=evidence,
    )


class _HTTPFailure(Exception):
    """Could not connect, or the connection broke or spoke nonsense; worth retrying."""


@dataclass
class _HTTPResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]  # names lower-cased, in the order the server sent them
    content: bytes
    truncated: bool
    peer_certificate: bytes | None


async def _http_exchange(session: aiohttp.ClientSession, method: str, url: URL, *, headers: list[tuple[str, str]],
                         body: bytes | None, timeout: aiohttp.ClientTimeout,
                         ssl_context: ssl.SSLContext | None) -> _HTTPResponse:
    """One request without following redirects; reads at most ``BODY_LIMIT`` bytes of the body.

    Raises ``aiohttp.ClientConnectorCertificateError`` (a definite bad answer), ``AddressRefused``,
    ``_HTTPFailure`` with a readable reason, or ``TimeoutError`` (the engine reports the timeout).
    """
    certificates: list[bytes | None] = []
    token = _PEER_CERTIFICATE.set(certificates) if ssl_context is not None else None
    try:
        async with session.request(
            method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout,
            ssl=ssl_context if ssl_context is not None else True,
        ) as response:
            truncated = False
            length = response.content_length
            if length is not None and length <= BODY_LIMIT:
                content = await response.read()
            else:
                chunks: list[bytes] = []
                size = 0
                while size < BODY_LIMIT:
                    chunk = await response.content.read(BODY_LIMIT - size)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                content = b"".join(chunks)
                if size >= BODY_LIMIT and not response.content.at_eof():
                    truncated = True  # enough to judge; the rest is not worth waiting for
                    response.close()  # and the half-read connection must not be reused
            version = response.version
            return _HTTPResponse(
                status=response.status, reason=response.reason or "",
                http_version=f"{version.major}.{version.minor}" if version else "1.1",
                headers=[(name.decode("latin-1").lower(), value.decode("latin-1"))
                         for name, value in response.raw_headers],
                content=content, truncated=truncated, peer_certificate=certificates[-1] if certificates else None,
            )
    except TimeoutError:
        raise  # aiohttp's timeouts are TimeoutErrors too: the engine words them
    except aiohttp.ClientConnectorCertificateError:
        raise
    except aiohttp.ClientConnectorSSLError as exc:
        error = exc.os_error
        raise _HTTPFailure(f"TLS handshake failed: {getattr(error, 'reason', None) or error}") from exc
    except aiohttp.ClientConnectorDNSError as exc:
        if isinstance(exc.os_error, AddressRefused):
            raise exc.os_error from exc
        raise _HTTPFailure(describe_os_error(exc.os_error)) from exc
    except aiohttp.ClientConnectorError as exc:
        raise _HTTPFailure(describe_os_error(exc.os_error)) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise _HTTPFailure("the server closed the connection without answering") from exc
    except aiohttp.ClientResponseError as exc:
        raise _HTTPFailure(f"the server did not speak HTTP/1.1: {exc.message}") from exc
    except aiohttp.ClientPayloadError as exc:
        raise _HTTPFailure(f"the response body broke off: {exc}") from exc
    except aiohttp.ClientOSError as exc:
        raise _HTTPFailure(f"the connection failed: {describe_os_error(exc)}") from exc
    except aiohttp.InvalidURL as exc:
        raise ProbeUnavailable(f"invalid URL: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise _HTTPFailure(str(exc) or type(exc).__name__) from exc
    finally:
        if token is not None:
            _PEER_CERTIFICATE.reset(token)


def _decode_body(content: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"').strip()
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


def _http_tls_failure(url: str, reason: str, started: float) -> ProbeOutcome:
    return ProbeOutcome(
        summary="", failure=f"TLS verification failed: {reason}",
        observations={"CONNECTED": True, "RESPONSE_TIME": _ms(time.perf_counter() - started)},
        evidence={"request": url, "tls_error": reason},
    )


# --- TCP ----------------------------------------------------------------------------------------------


async def probe_tcp(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    host, port = _host_port(spec.target, None)
    address = await ctx.vet(host)
    started = time.perf_counter()
    try:
        _reader, writer = await asyncio.open_connection(str(address), port)
    except ConnectionRefusedError:
        # A refusal is the host's definite answer: nothing listens there.
        elapsed = time.perf_counter() - started
        return ProbeOutcome(
            summary=f"connection to {host}:{port} refused", observations={"CONNECTED": False, "RESPONSE_TIME": _ms(elapsed)},
            value=_ms(elapsed), value_label="connect time", value_unit="ms",
            metrics=[Metric("connect_time", _ms(elapsed), "ms")],
            evidence={"address": f"{address}:{port}", "result": "connection refused"},
        )
    except OSError as exc:
        raise TransportError(f"{host}:{port}: {describe_os_error(exc)}") from exc
    elapsed = time.perf_counter() - started
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(
        summary=f"connected to {host}:{port} in {_ms(elapsed):.1f} ms",
        observations={"CONNECTED": True, "RESPONSE_TIME": _ms(elapsed)},
        value=_ms(elapsed), value_label="connect time", value_unit="ms",
        metrics=[Metric("connect_time", _ms(elapsed), "ms")],
        evidence={"address": f"{address}:{port}", "result": "connected"},
    )


def _host_port(target: str, default_port: int | None) -> tuple[str, int]:
    try:
        return split_host_port(target, default_port)
    except ValueError as exc:
        raise ProbeUnavailable(str(exc)) from exc


# --- DNS ----------------------------------------------------------------------------------------------


async def probe_dns(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:

    name = spec.target.strip()
    record_type = spec.parameters.get("record_type", "A").upper()
    started = time.perf_counter()
    if is_reserved_invalid(name):
        # RFC 6761: .invalid names never exist; answer without asking any server.
        return _dns_outcome(name, record_type, "NXDOMAIN", [], time.perf_counter() - started, "(reserved name)")

    if "nameserver" in spec.parameters:
        nameserver = spec.parameters["nameserver"]
        await ctx.vet(nameserver)
        nameservers = [nameserver]
    else:
        # The host's own resolvers: configured by whoever runs Triage, so not subject to the allowlist.
        nameservers = list(dns.resolver.Resolver(configure=True).nameservers)
    port = spec.parameters.get("port", 53)
    query = dns.message.make_query(name, dns.rdatatype.from_text(record_type))
    errors = []
    for nameserver in nameservers:
        try:
            response = await dns.asyncquery.udp(query, nameserver, timeout=spec.timeout, port=port)
        except (dns.exception.Timeout, OSError, dns.exception.DNSException) as exc:
            errors.append(f"{nameserver}: {type(exc).__name__} {exc}".strip())
            continue
        answers = [rdata.to_text() for rrset in response.answer for rdata in rrset]
        rcode = dns.rcode.to_text(response.rcode())
        return _dns_outcome(name, record_type, rcode, answers, time.perf_counter() - started, nameserver)
    raise TransportError("no DNS server answered: " + "; ".join(errors))


def _dns_outcome(name: str, record_type: str, rcode: str, answers: list[str], elapsed: float,
                 server: str) -> ProbeOutcome:
    summary = (f"{name} {record_type} -> {', '.join(answers[:3])}" if answers
               else f"{name} {record_type}: {rcode}, no answers")
    return ProbeOutcome(
        summary=summary,
        observations={"DNS_RCODE": rcode, "BODY": "\n".join(answers), "RESPONSE_TIME": _ms(elapsed),
                      "VALUE": len(answers)},
        value=_ms(elapsed), value_label="resolve time", value_unit="ms",
        metrics=[Metric("resolve_time", _ms(elapsed), "ms"), Metric("answers", len(answers))],
        evidence={"query": f"{name} {record_type}", "server": server, "rcode": rcode, "answers": answers[:20]},
    )


# --- TLS certificate ----------------------------------------------------------------------------------


async def probe_tls(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    host, port = _host_port(spec.target, 443)
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
        certificate = _certificate_not_after(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
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
        observations={"CERTIFICATE_EXPIRATION": remaining * 1000, "CONNECTED": True, "RESPONSE_TIME": _ms(elapsed),
                      "VALUE": round(days, 3)},
        value=round(days, 3), value_label="days until expiry", value_unit="days",
        metrics=[Metric("days_until_expiry", days, "days"), Metric("handshake_time", _ms(elapsed), "ms")],
        evidence={"address": f"{address}:{port}", "server_name": server_name or "", "protocol": protocol, **details},
    )


# --- PostgreSQL ---------------------------------------------------------------------------------------


async def probe_postgres(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:

    params = ctx.resolve_secrets(spec.parameters)
    target = ctx.resolve_secrets(spec.target) if is_env_reference(spec.target) else spec.target
    if target.startswith(("postgres://", "postgresql://")):
        try:
            conninfo = conninfo_to_dict(target)
        except psycopg.ProgrammingError as exc:
            raise ProbeUnavailable("the PostgreSQL URL cannot be parsed") from exc
    else:
        host, port = _host_port(target, 5432)
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
                async with connection.cursor() as cursor:
                    await cursor.execute(query)
                    if cursor.description:
                        names = [column.name for column in cursor.description]
                        rows = [dict(zip(names, row, strict=False)) for row in await cursor.fetchmany(20)]
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
    value = _number(first) if query else None
    observations = {"CONNECTED": True, "RESPONSE_TIME": _ms(elapsed),
                    "BODY": json.dumps(rows, default=str), "VALUE": first if first is not None else ""}
    metrics = [Metric("connect_time", _ms(connect_time), "ms"), Metric("total_time", _ms(elapsed), "ms")]
    if value is not None:
        metrics.insert(0, Metric("value", value))
    summary = (f"PostgreSQL {version // 10000} answered in {_ms(elapsed):.0f} ms"
               + (f", query returned {_short(first)}" if query else ""))
    return ProbeOutcome(
        summary=summary, observations=observations,
        value=value if query else _ms(elapsed), value_label="query result" if query else "response time",
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- Redis --------------------------------------------------------------------------------------------


async def probe_redis(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:

    params = ctx.resolve_secrets(spec.parameters)
    target = ctx.resolve_secrets(spec.target) if is_env_reference(spec.target) else spec.target
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
        host, port = _host_port(target, 6379)
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
    observations: dict[str, Any] = {"CONNECTED": True, "RESPONSE_TIME": _ms(ping_time), "BODY": reply}
    metrics = [Metric("ping_time", _ms(ping_time), "ms")]
    if info_field:
        if info_field not in info:
            raise ProbeUnavailable(f"Redis INFO has no field {info_field!r}")
        raw = info[info_field]
        observations["VALUE"] = raw
        evidence["info"] = {info_field: raw, "redis_version": info.get("redis_version", "")}
        number = _number(raw)
        if number is not None:
            metrics.insert(0, Metric(info_field, number))
        return ProbeOutcome(
            summary=f"PING {reply}; {info_field} = {_short(raw)}", observations=observations, value=number,
            value_label=info_field, metrics=metrics, evidence=evidence,
        )
    observations["VALUE"] = _ms(ping_time)
    return ProbeOutcome(
        summary=f"PING {reply} in {_ms(elapsed):.1f} ms", observations=observations, value=_ms(ping_time),
        value_label="ping time", value_unit="ms", metrics=metrics, evidence=evidence,
    )


# --- disk and memory ----------------------------------------------------------------------------------


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


# --- log file -----------------------------------------------------------------------------------------


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


PROBES: dict[str, Callable[[CheckSpec, ProbeContext], Awaitable[ProbeOutcome]]] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "dns": probe_dns,
    "tls": probe_tls,
    "postgres": probe_postgres,
    "redis": probe_redis,
    "disk": probe_disk,
    "memory": probe_memory,
    "logfile": probe_logfile,
}
