"""Outgoing webhook signing and one HTTP attempt. Receivers verify with `signature_verify`.

Headers sent with every delivery:
  X-Triage-Event: incident.created | incident.acknowledged | incident.escalated | incident.resolved
  X-Triage-Delivery: <delivery id>
  X-Triage-Timestamp: <unix seconds>
  X-Triage-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
Signing the timestamp with the body lets a receiver refuse replays of an old delivery.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx

SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
EVENT_HEADER = "X-Triage-Event"
DELIVERY_HEADER = "X-Triage-Delivery"
RESPONSE_EXCERPT_CHARS = 500


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

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Network errors, timeouts, rate limits and server errors are worth another try; other 4xx are not."""
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
        with httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return AttemptResult(None, "", f"{type(exc).__name__}: {exc}"[:500],
                             int((time.monotonic() - started) * 1000))
    return AttemptResult(response.status_code, response.text[:RESPONSE_EXCERPT_CHARS], "",
                         int((time.monotonic() - started) * 1000))
