"""Worker side of alerts: the outbox handler that enriches a new alert."""

from typing import Any

from . import services


def alert_enrich_handler(message: Any) -> None:
    """Outbox topic `alert.enrich`: {"alert_id": ...}. Idempotent (claims the alert by a conditional UPDATE)."""
    services.alert_enrich(alert_id=message.payload["alert_id"])
