"""Presentation filters for incident templates: formatting only, decisions stay in views."""

from datetime import datetime, timedelta

from django import template

from ..charts import duration_label

register = template.Library()

SEVERITY_CLASSES = {"low": "badge-low", "medium": "badge-medium", "high": "badge-high", "critical": "badge-critical"}
STATUS_CLASSES = {
    "triage": "status-triage", "investigating": "status-investigating", "mitigated": "status-mitigated",
    "resolved": "status-resolved", "closed": "status-closed", "cancelled": "status-closed",
    "duplicate": "status-closed",
}


@register.filter
def severity_badge(slug: str) -> str:
    """CSS classes for a severity badge by slug (custom severities look neutral)."""
    return f"badge {SEVERITY_CLASSES.get(str(slug).lower(), 'badge-neutral')}"


@register.filter
def status_badge(status: str) -> str:
    return f"badge status {STATUS_CLASSES.get(str(status), 'status-closed')}"


@register.filter
def humanize_duration(value: timedelta | float | int | None) -> str:
    """A duration (timedelta or seconds) as "5 min", "1.5 h", "2.0 d"."""
    if value is None or value == "":
        return "–"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return duration_label(seconds)


@register.filter
def since(start: datetime | None, end: datetime | None) -> str:
    """Time from `start` to `end` (e.g. filed -> acknowledged)."""
    if not start or not end:
        return "–"
    return duration_label((end - start).total_seconds())
