"""Grafana unified alerting webhook contact point payload.

Alertmanager's shape (it is built on it) plus `title`, `state`, `message`, `orgId` at the top and
`values`, `valueString`, `silenceURL`, `dashboardURL`, `panelURL` on each alert.
"""

from typing import Any

from .alertmanager import alert_event, alerts_of
from .base import AlertEvent, text


def parse(body: Any) -> list[AlertEvent]:
    alerts = alerts_of(body)
    # Grafana's title names the whole group; it is the incident title only for a single alert without a summary.
    title = text(body.get("title"), 200) if len(alerts) == 1 else ""
    return [alert_event(alert, group=body, fallback_title=title) for alert in alerts]
