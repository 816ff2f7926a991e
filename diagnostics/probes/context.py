"""One engine run's shared state: the vetting resolver, secrets, TLS contexts and the pooled HTTP client."""

from __future__ import annotations

import contextvars
import functools
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from ..targets import (
    IPAddress,
    Resolver,
    SecretMissing,
    Secrets,
    TargetNotAllowed,
    TargetUnresolvable,
    is_env_reference,
)
from .base import ProbeUnavailable

USER_AGENT = "Triage-check/1"
# Sent with every HTTP check (a check's own headers win); identity, because conditions read the raw body.
HTTP_HEADERS = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"}


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
PEER_CERTIFICATE: contextvars.ContextVar[list[bytes | None] | None] = contextvars.ContextVar(
    "triage_peer_certificate", default=None)


class _CheckConnector(aiohttp.TCPConnector):
    """aiohttp's connector, noting the TLS certificate of the connection each HTTPS probe uses."""

    async def connect(self, req: aiohttp.ClientRequest, traces: list, timeout: aiohttp.ClientTimeout
                      ) -> aiohttp.connector.Connection:
        connection = await super().connect(req, traces, timeout)
        box = PEER_CERTIFICATE.get()
        if box is not None and req.is_ssl() and connection.transport is not None:
            ssl_object = connection.transport.get_extra_info("ssl_object")
            box.append(ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None)
        return connection


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
                trust_env=False, timeout=aiohttp.ClientTimeout(total=None), headers=HTTP_HEADERS,
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

    def resolve_target(self, target: str) -> str:
        """A check's target, read from its secret when it is an ``env:`` reference."""
        return self.resolve_secrets(target) if is_env_reference(target) else target


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

