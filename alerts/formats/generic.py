"""Any JSON object (or a list of them), read through the source's dotted field paths.

Paths (defaults in brackets): fingerprint [fingerprint], title [title], status [status], description
[description], severity [severity], system [system], labels [labels]. A status of resolved, ok,
closed or recovered resolves; acknowledged acknowledges; anything else fires. Without a fingerprint
the title is the fingerprint, so resends of the same alert are one alert.
"""

import hashlib
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
    text,
)

DEFAULT_PATHS = {"fingerprint": "fingerprint", "title": "title", "status": "status", "description": "description",
                 "severity": "severity", "system": "system", "labels": "labels"}
RESOLVED_WORDS = {"resolved", "resolve", "ok", "closed", "recovered", "normal"}
ACK_WORDS = {"acknowledged", "acknowledge", "ack"}
MAX_ITEMS = 1000


def path_get(data: Any, path: str) -> Any:
    for part in (path or "").split("."):
        if not part:
            return None
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def item_event(item: dict[str, Any], paths: dict[str, str]) -> AlertEvent:
    def get(name: str) -> Any:
        return path_get(item, paths.get(name) or DEFAULT_PATHS[name])

    title = text(get("title"), TITLE_MAX)
    if not title:
        raise FormatError("The alert has no title.", [f"'{paths.get('title') or 'title'}' is missing or blank"])
    status = text(get("status"), 40).lower()
    action = RESOLVE if status in RESOLVED_WORDS else ACKNOWLEDGE if status in ACK_WORDS else TRIGGER
    fingerprint = text(get("fingerprint"), 255) or hashlib.sha256(title.encode()).hexdigest()[:32]
    return AlertEvent(fingerprint=fingerprint, action=action, title=title,
                      description=text(get("description"), DESCRIPTION_MAX), labels=flat_labels(get("labels")),
                      severity=text(get("severity"), 40), system=text(get("system"), 100), payload=item)


def parse(body: Any, paths: dict[str, str] | None = None) -> list[AlertEvent]:
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_ITEMS:
        raise FormatError(f"Send one alert object or a list of 1 to {MAX_ITEMS}.")
    if not all(isinstance(item, dict) for item in items):
        raise FormatError("Each alert must be a JSON object.")
    return [item_event(item, paths or {}) for item in items]
