"""Presentation filters for knowledge-base templates: formatting only, no decisions."""

from django import template

from .. import selectors

register = template.Library()

SEVERITY_CLASSES = {"low": "badge-low", "medium": "badge-medium", "high": "badge-high", "critical": "badge-critical"}
RISK_CLASSES = {"low": "badge-low", "medium": "badge-medium", "high": "badge-high"}


@register.filter
def severity_class(severity: str) -> str:
    """CSS classes for a symptom's severity badge (unknown values look neutral)."""
    return f"badge {SEVERITY_CLASSES.get(str(severity).lower(), 'badge-neutral')}"


@register.filter
def risk_class(risk: str) -> str:
    """CSS classes for a solution's risk badge."""
    return f"badge {RISK_CLASSES.get(str(risk).lower(), 'badge-neutral')}"


@register.filter
def heading_group(heading_path: str) -> str:
    """The section part of a heading path ("A / B / Article" -> "A / B")."""
    return selectors.heading_group(heading_path or "")


@register.filter
def heading_parts(heading_path: str) -> list[str]:
    """A heading path as its segments, for breadcrumbs."""
    return [p.strip() for p in (heading_path or "").split(selectors.HEADING_SEPARATOR) if p.strip()]


@register.filter
def diff_sign(kind: str) -> str:
    """The gutter mark of a diff row."""
    return {"insert": "+", "delete": "−", "change": "~"}.get(kind, "")
