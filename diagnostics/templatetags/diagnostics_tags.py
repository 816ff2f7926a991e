"""Formatting for check states, uptime and response-time sparklines (templates stay dumb)."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

STATE_LABELS = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL", "unknown": "UNKNOWN"}
STATE_COLOURS = {"ok": "#2e7d32", "warning": "#b26a00", "critical": "#c62828", "unknown": "#6b6b6b"}


@register.filter
def state_label(state: str) -> str:
    return STATE_LABELS.get(state or "", "not run")


@register.filter
def state_class(state: str) -> str:
    return f"check-state check-state-{state}" if state in STATE_LABELS else "check-state check-state-none"


@register.filter
def uptime(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}%" if value < 100 else "100%"


@register.simple_tag
def uptime_of(check: Any) -> str:
    """Uptime from the counts annotated by selectors.monitor_list."""
    judged = getattr(check, "judged_runs", 0) or 0
    if not judged:
        return "–"
    return uptime(100 * (getattr(check, "up_runs", 0) or 0) / judged)


@register.filter
def sparkline(recent: list | None, size: str = "120x24") -> SafeString:
    """An inline SVG of recent response times; failing results are marked in their state's colour.

    Everything written into the SVG is a number computed here, or a fixed colour, so it is safe markup.
    """
    points = [(str(item[0]), float(item[1])) for item in (recent or [])
              if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], (int, float))]
    width, height = (int(part) for part in size.split("x"))
    if len(points) < 2:
        return mark_safe('<span class="sparkline-empty" aria-label="not enough data">–</span>')
    peak = max(value for _, value in points) or 1.0
    step = (width - 4) / (len(points) - 1)
    coords = [(2 + i * step, height - 2 - (value / peak) * (height - 4)) for i, (_, value) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{STATE_COLOURS.get(state, STATE_COLOURS["unknown"])}"/>'
        for (x, y), (state, _) in zip(coords, points, strict=True) if state != "ok"
    )
    label = f"response time, last {len(points)} runs, peak {peak:.0f} ms"
    return mark_safe(
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}"><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
        f"{dots}</svg>"
    )


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def metric_value(metric: dict) -> str:
    value = metric.get("value")
    if isinstance(value, float):
        value = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    unit = metric.get("unit") or ""
    return f"{value} {unit}".strip()


@register.inclusion_tag("partials/state_badge.html")
def state_badge(state: str, label: str = "") -> dict:
    """The one badge for a check state (OK / WARNING / CRITICAL / UNKNOWN / not run), used on every page."""
    return {"css": state_class(state), "label": label or state_label(state), "state": state or "none"}


@register.inclusion_tag("diagnostics/partials/heartbeat_bar.html")
def heartbeat_bar(runs: list, slots: int = 50) -> dict:
    """One bar per finished run, oldest left, coloured by state; empty slots pad short histories on the left."""
    runs = list(runs or [])[-slots:]
    return {"runs": runs, "padding": range(slots - len(runs)), "count": len(runs)}


THRESHOLD_UNITS = {"http": "ms", "tcp": "ms", "dns": "ms", "postgres": "ms", "redis": "ms", "tls": "days left",
                   "disk": "% used", "memory": "% used", "logfile": "matches"}


@register.filter
def threshold_unit(check_type: str) -> str:
    """The unit of a check type's primary value, which its warning/critical thresholds are compared with."""
    return THRESHOLD_UNITS.get(check_type, "")


@register.filter
def uptime_window(window: dict) -> str:
    """ "99.5% of 288 runs", saying when the window is not yet covered by the check's history."""
    if not window or not window.get("runs"):
        return "no runs"
    runs = window["runs"]
    text = f"{uptime(window['percent'])} of {runs} run{'s' if runs != 1 else ''}"
    return text if window.get("covered") else f"{text} (history is shorter than this window)"
