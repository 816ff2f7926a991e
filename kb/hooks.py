"""Hooks that higher apps fill in, so the knowledge base can link to them without importing them.

Incidents registers an *incident prefill URL builder* in ``IncidentsConfig.ready()``: given what a match
found, the URL of its "new incident" form with those fields filled in. The match page shows
"File an incident with this" only when a builder is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IncidentPrefill:
    title: str
    description: str
    system: str = ""  # a system slug, or "" when none is known


IncidentPrefillURLBuilder = Callable[[IncidentPrefill], str]

incident_prefill_url_builders: list[IncidentPrefillURLBuilder] = []


def register_incident_prefill_url_builder(builder: IncidentPrefillURLBuilder) -> None:
    if builder not in incident_prefill_url_builders:
        incident_prefill_url_builders.append(builder)


def incident_prefill_url(prefill: IncidentPrefill) -> str | None:
    """The URL of the first registered builder, or None when no app offers one."""
    for builder in incident_prefill_url_builders:
        return builder(prefill)
    return None
