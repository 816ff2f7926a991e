"""Presentation filters for knowledge-base templates: formatting only, no decisions."""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from .. import hooks, selectors

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


@register.simple_tag(takes_context=True)
def hook_includes(context: template.Context, slot: str, **values: object) -> str:
    """Render the templates other apps registered for ``slot`` (kb.hooks), with the page's context."""
    engine = context.template.engine
    with context.push(**values):
        return mark_safe("".join(engine.get_template(name).render(context)  # noqa: S308 (templates escape)
                                 for name in hooks.page_includes(slot)))


_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@register.filter(needs_autoescape=True)
def inline_code(text: str, autoescape: bool = True) -> SafeString:
    """Plain text with `backticks` shown as code (the rest escaped): system descriptions on cards."""
    escaped = conditional_escape(text) if autoescape else str(text)
    # A backtick left without its pair (e.g. cut off by truncatewords) is dropped rather than shown.
    return mark_safe(_INLINE_CODE.sub(r"<code>\1</code>", str(escaped)).replace("`", ""))
