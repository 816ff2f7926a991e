"""What every format parser returns: a list of `AlertEvent`, or a `FormatError` saying what is wrong."""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

PAYLOAD_MAX_BYTES = 64 * 1024
TITLE_MAX = 200
DESCRIPTION_MAX = 4000

TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"


class FormatError(Exception):
    """The body is JSON but not the shape this format expects; `errors` lists each problem."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]


@dataclass(frozen=True)
class AlertEvent:
    fingerprint: str
    action: str  # trigger, acknowledge or resolve
    title: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    severity: str = ""  # the sender's word for it; the source maps it to one of ours
    system: str = ""  # a system slug named by the sender, if any
    payload: dict[str, Any] = field(default_factory=dict)


def bounded(payload: Any, limit: int = PAYLOAD_MAX_BYTES) -> dict[str, Any]:
    """The payload itself when its JSON fits in `limit` bytes, else a marked excerpt of that JSON."""
    text = json.dumps(payload, default=str, ensure_ascii=False)
    if len(text.encode()) <= limit:
        return payload if isinstance(payload, dict) else {"value": payload}
    return {"truncated": True, "excerpt": text.encode()[: limit - 100].decode("utf-8", "ignore")}


def flat_labels(values: Any) -> dict[str, str]:
    """String labels only (bounded), whatever the sender nested inside."""
    if not isinstance(values, dict):
        return {}
    labels: dict[str, str] = {}
    for key, value in list(values.items())[:100]:
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=str)
        labels[str(key)[:100]] = "" if value is None else str(value)[:500]
    return labels


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable fingerprint for senders that give none: a hash of the sorted labels."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:32]


def text(value: Any, limit: int) -> str:
    return "" if value is None else str(value).replace("\x00", "").strip()[:limit]


def require_object(body: Any, what: str = "The body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FormatError(f"{what} must be a JSON object.")
    return body
