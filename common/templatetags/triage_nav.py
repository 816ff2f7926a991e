"""Which header section the current page belongs to, so the header can mark it."""

from __future__ import annotations

from django import template
from django.http import HttpRequest

register = template.Library()

# (view-name prefix, section); the first match wins, so specific names come before their namespace.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("kb:match", "match"),
    ("kb:unknown_symptom_new", "match"),
    ("trees:", "trees"),
    ("alerts:", "alerts"),
    ("kb:import_guide", "import"),
    ("kb:search_gaps", "gaps"),
    ("incidents:metrics", "metrics"),
    ("incidents:", "incidents"),
    ("diagnostics:", "checks"),
    ("kb:", "kb"),
    ("admin:", "admin"),
)


def section_for(view_name: str) -> str:
    for prefix, section in SECTIONS:
        if view_name.startswith(prefix):
            return section
    return ""


@register.simple_tag
def nav_section(request: HttpRequest | None) -> str:
    match = getattr(request, "resolver_match", None)
    return section_for(match.view_name) if match and match.view_name else ""
