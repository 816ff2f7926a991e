"""Outgoing webhook signing and one HTTP attempt. Receivers verify with `signature_verify`.

Headers sent with every delivery:
  X-Triage-Event: incident.created | incident.acknowledged | incident.escalated | incident.resolved
  X-Triage-Delivery: <delivery id>
  X-Triage-Timestamp: <unix seconds>
  X-Triage-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
Signing the timestamp with the body lets a receiver refuse replays of an old delivery.

Every URL is vetted like a check target (``diagnostics.targets``): resolved, refused when an address is
internal (loopback, private, link-local, metadata) unless ``TRIAGE_WEBHOOK_ALLOWED_TARGETS`` lists it, and
the request connects to the vetted address (the name stays in ``Host`` and TLS). Only the status and a short
scrubbed excerpt of the answer are kept.
"""

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from diagnostics.targets import (
    REDACTED,
    Allowlist,
    IPAddress,
    TargetNotAllowed,
    TargetUnresolvable,
    outbound_address_vet,
    scrub_userinfo,
)

SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
EVENT_HEADER = "X-Triage-Event"
DELIVERY_HEADER = "X-Triage-Delivery"
RESPONSE_EXCERPT_CHARS = 200
ALLOWED_TARGETS_SETTING = "TRIAGE_WEBHOOK_ALLOWED_TARGETS"
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\uffff]+")


class OutboundURLRefused(ValueError):
    """A webhook or escalation-hook URL that Triage will not call; the message says why and what to do."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # a name that does not resolve now may resolve later


def outbound_url_vet(url: str) -> tuple[httpx.URL, IPAddress]:
    """(the parsed URL, the address to connect to), or OutboundURLRefused with a readable message."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundURLRefused(f"The URL is not valid: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise OutboundURLRefused("The URL must be an absolute http:// or https:// URL.")
    allowed = Allowlist.from_entries(getattr(settings, ALLOWED_TARGETS_SETTING, []))
    try:
        address = outbound_address_vet(parsed.host, allowed, setting=ALLOWED_TARGETS_SETTING)
    except TargetNotAllowed as exc:
        raise OutboundURLRefused(f"Refusing to send notifications to {exc}.") from exc
    except TargetUnresolvable as exc:
        raise OutboundURLRefused(f"The URL's host does not resolve: {exc}.", transient=True) from exc
    return parsed, address


def outbound_url_problem(url: str) -> str:
    """Why ``url`` may not receive notifications ("" when it may); used when a URL is saved."""
    if not url:
        return ""
    try:
        outbound_url_vet(url)
    except OutboundURLRefused as exc:
        return str(exc)
    return ""


def response_excerpt(text: str, *, secret: str = "") -> str:
    """A short, single-line excerpt of a receiver's answer without credentials, for the delivery log."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, REDACTED)
    text = scrub_userinfo(_UNPRINTABLE.sub(" ", text[: RESPONSE_EXCERPT_CHARS * 4]))
    return " ".join(text.split())[:RESPONSE_EXCERPT_CHARS]


def payload_body(payload: dict) -> bytes:
    """The exact bytes sent and signed (compact, key-sorted JSON)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def signature_compute(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_verify(
    *, secret: str, timestamp: str, body: bytes, signature: str, tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """True when the signature matches and the timestamp is within the tolerance (replay protection)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    if age > tolerance_seconds:
        return False
    return hmac.compare_digest(signature_compute(secret=secret, timestamp=timestamp, body=body), signature)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: int
    refused: bool = False  # the URL failed vetting: retrying cannot help

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Network errors, timeouts, rate limits and server errors are worth another try; other 4xx are not."""
        if self.refused:
            return False
        if self.status_code is None:
            return True
        return self.status_code in (408, 425, 429) or self.status_code >= 500


def webhook_post(
    *, url: str, secret: str, event: str, delivery_id: int, payload: dict, timeout_seconds: float,
    now: float | None = None,
) -> AttemptResult:
    """One signed POST. Redirects are not followed: a receiver must give its final URL."""
    body = payload_body(payload)
    timestamp = str(int(now if now is not None else time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Triage-Webhooks/1",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature_compute(secret=secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    try:
        # Vetted again on every send: the name may resolve differently than when the URL was saved.
        parsed, address = outbound_url_vet(url)
    except OutboundURLRefused as exc:
        return AttemptResult(None, "", str(exc)[:500], 0, refused=not exc.transient)
    headers["Host"] = parsed.netloc.decode("ascii").rpartition("@")[2]
    pinned = parsed.copy_with(host=str(address), username=None, password=None)
    try:
        with httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False) as client:
            # Connect to the vetted address; TLS still checks the certificate against the name (SNI).
            response = client.post(pinned, content=body, headers=headers,
                                   extensions={"sni_hostname": parsed.host})
    except httpx.HTTPError as exc:
        return AttemptResult(None, "", scrub_userinfo(f"{type(exc).__name__}: {exc}")[:500],
                             int((time.monotonic() - started) * 1000))
    return AttemptResult(response.status_code, response_excerpt(response.text, secret=secret), "",
                         int((time.monotonic() - started) * 1000))
