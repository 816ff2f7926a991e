"""HTTP(S) probe: one request (redirects followed only when asked), a bounded body, the certificate seen."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from yarl import URL

from ..targets import REDACTED, SECRET_HEADERS
from .base import (
    CheckSpec,
    Metric,
    ProbeOutcome,
    ProbeUnavailable,
    TransportError,
    certificate_not_after,
    describe_os_error,
    excerpt,
    ms,
)
from .context import PEER_CERTIFICATE, AddressRefused, ProbeContext

BODY_LIMIT = 1024 * 1024  # conditions see up to 1 MiB of a response


async def probe_http(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    params = ctx.resolve_secrets(spec.parameters)
    url = ctx.resolve_target(spec.target)
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
        headers = [("Host", host_header), *extra_headers]  # the session adds HTTP_HEADERS
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
        "RESPONSE_TIME": ms(elapsed),
        "BODY": text,
        "HEADER": response_headers,
        "CONNECTED": True,
    }
    evidence: dict[str, Any] = {
        "request": f"{method} {url}",
        "status_line": f"HTTP/{response.http_version} {response.status} {response.reason}".rstrip(),
        "headers": {k: (REDACTED if k in SECRET_HEADERS or k == "set-cookie" else v) for k, v in response_headers.items()},
        "body_excerpt": excerpt(text),
    }
    if response.truncated:
        evidence["body_truncated_at_bytes"] = BODY_LIMIT
    if len(hops) > 1:
        evidence["redirects"] = hops
    metrics = [Metric("response_time", ms(elapsed), "ms"), Metric("status", response.status),
               Metric("body_size", len(response.content), "B")]
    certificate = certificate_not_after(response.peer_certificate) if parsed.scheme == "https" else None
    if certificate:
        not_after, details = certificate
        remaining = (not_after - datetime.now(UTC)).total_seconds()
        observations["CERTIFICATE_EXPIRATION"] = remaining * 1000
        evidence["certificate"] = details
    return ProbeOutcome(
        summary=f"HTTP {response.status} in {ms(elapsed):.0f} ms",
        observations=observations, value=ms(elapsed), value_label="response time", value_unit="ms",
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
    token = PEER_CERTIFICATE.set(certificates) if ssl_context is not None else None
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
            PEER_CERTIFICATE.reset(token)


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
        observations={"CONNECTED": True, "RESPONSE_TIME": ms(time.perf_counter() - started)},
        evidence={"request": url, "tls_error": reason},
    )

