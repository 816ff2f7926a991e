"""The PagerDuty Events API v2 `enqueue` body (alert events; change events are not accepted).

{"routing_key": 32 chars, "event_action": "trigger"|"acknowledge"|"resolve", "dedup_key": ...,
 "payload": {"summary", "source", "severity": critical|error|warning|info, "timestamp", "component",
             "group", "class", "custom_details"}, "links": [...], "images": [...], "client", "client_url"}
"""

import uuid
from typing import Any

from .base import (
    ACKNOWLEDGE,
    DESCRIPTION_MAX,
    RESOLVE,
    TITLE_MAX,
    TRIGGER,
    AlertEvent,
    FormatError,
    flat_labels,
    require_object,
    text,
)

ACTIONS = (TRIGGER, ACKNOWLEDGE, RESOLVE)
SEVERITIES = ("critical", "error", "warning", "info")
DEDUP_KEY_MAX = 255


def routing_key(body: Any) -> str:
    body = require_object(body, "The event")
    key = body.get("routing_key")
    if not isinstance(key, str) or not key:
        raise FormatError("Event object is invalid", ["'routing_key' is missing or blank"])
    return key


def parse(body: Any) -> list[AlertEvent]:
    body = require_object(body, "The event")
    errors: list[str] = []
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(ACTIONS)}")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key
                                  or len(dedup_key) > DEDUP_KEY_MAX):
        errors.append(f"'dedup_key' must be a non-empty string of at most {DEDUP_KEY_MAX} characters")
    if action in (ACKNOWLEDGE, RESOLVE) and dedup_key is None:
        errors.append(f"'dedup_key' is required for {action} events")
    payload = body.get("payload")
    if action == TRIGGER:
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            for name in ("summary", "source"):
                if not isinstance(payload.get(name), str) or not payload[name].strip():
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                errors.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    if errors:
        raise FormatError("Event object is invalid", errors)
    payload = payload if isinstance(payload, dict) else {}
    labels = flat_labels(payload.get("custom_details"))
    for name in ("source", "component", "group", "class"):
        if payload.get(name):
            labels.setdefault(name, text(payload[name], 500))
    details = payload.get("custom_details")
    description = details if isinstance(details, str) else "\n".join(f"{k}: {v}" for k, v in labels.items())
    safe = {k: v for k, v in body.items() if k != "routing_key"}  # the key is a secret: never stored
    return [AlertEvent(
        fingerprint=dedup_key or uuid.uuid4().hex, action=action,
        title=text(payload.get("summary"), TITLE_MAX), description=text(description, DESCRIPTION_MAX),
        labels=labels, severity=text(payload.get("severity"), 40), payload=safe,
    )]
