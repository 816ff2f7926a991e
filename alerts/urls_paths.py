"""The URL a sender posts to, per source kind (shown once on create, and on the sources page)."""

from django.conf import settings
from django.urls import reverse

from .models import AlertSource


def receive_url(source: AlertSource, key: str | None = None) -> str:
    """Full URL to paste into the sender; with `key=None` the key is shown as a placeholder."""
    base = settings.TRIAGE_BASE_URL.rstrip("/")
    shown = key or "<key>"
    if source.kind == AlertSource.Kind.EVENTS_V2:
        return base + reverse("alerts-api:events-v2-enqueue")
    return base + reverse(f"alerts-api:receive-{source.kind}", kwargs={"key": shown}).replace("%3Ckey%3E", "<key>")


def events_v2_base_url() -> str:
    """What an Events v2 client takes as its base URL (it appends /v2/enqueue)."""
    return settings.TRIAGE_BASE_URL.rstrip("/") + reverse("alerts-api:events-v2-enqueue").removesuffix("/v2/enqueue")
