"""Prometheus Alertmanager webhook receiver payload, version 4.

{"version": "4", "groupKey": ..., "status": "firing"|"resolved", "receiver": ..., "groupLabels": {...},
 "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": ..., "truncatedAlerts": 0,
 "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}]}
Each alert carries its own status: one notification can hold firing and resolved alerts together.
"""

from typing import Any

from .base import (
    DESCRIPTION_MAX,
    RESOLVE,
    TITLE_MAX,
    TRIGGER,
    AlertEvent,
    FormatError,
    flat_labels,
    labels_fingerprint,
    require_object,
    text,
)

MAX_ALERTS = 1000


def alert_event(alert: dict[str, Any], *, group: dict[str, Any], fallback_title: str = "") -> AlertEvent:
    labels = flat_labels(alert.get("labels"))
    annotations = flat_labels(alert.get("annotations"))
    status = text(alert.get("status") or group.get("status"), 20).lower()
    if status not in ("firing", "resolved"):
        raise FormatError("Each alert's status must be firing or resolved.", [f"status: {status!r}"])
    fingerprint = text(alert.get("fingerprint"), 255) or labels_fingerprint(labels)
    title = annotations.get("summary") or fallback_title or labels.get("alertname") or "Alert"
    description = annotations.get("description") or annotations.get("message") or ""
    return AlertEvent(
        fingerprint=fingerprint, action=RESOLVE if status == "resolved" else TRIGGER,
        title=text(title, TITLE_MAX), description=text(description, DESCRIPTION_MAX), labels=labels,
        severity=labels.get("severity", ""),
        payload={"alert": alert, "groupKey": group.get("groupKey"), "receiver": group.get("receiver"),
                 "externalURL": group.get("externalURL")},
    )


def alerts_of(body: Any) -> list[dict[str, Any]]:
    body = require_object(body)
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise FormatError("The notification has no alerts.", ["alerts: expected a non-empty list"])
    if len(alerts) > MAX_ALERTS:
        raise FormatError(f"At most {MAX_ALERTS} alerts per notification.")
    bad = [i for i, alert in enumerate(alerts) if not isinstance(alert, dict)]
    if bad:
        raise FormatError("Each alert must be an object.", [f"alerts[{i}]: not an object" for i in bad[:10]])
    return alerts


def parse(body: Any) -> list[AlertEvent]:
    return [alert_event(alert, group=body) for alert in alerts_of(body)]
