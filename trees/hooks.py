"""Extension points of the trees app that apps above it fill in their ``AppConfig.ready()``.

trees never imports incidents or reverses its URLs. An escalated walkthrough leads to whatever page
the registered builder names (incidents registers its prefilled form, ``/incidents/new/?walkthrough=<id>``);
with none registered there is no such link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Walkthrough

EscalationURLBuilder = Callable[["Walkthrough"], str]

_escalation_url_builder: EscalationURLBuilder | None = None


def register_escalation_url(builder: EscalationURLBuilder) -> None:
    """``builder(walkthrough) -> url`` of the page that files an incident from an escalated walkthrough."""
    global _escalation_url_builder
    _escalation_url_builder = builder


def escalation_url(walkthrough: Walkthrough) -> str | None:
    return _escalation_url_builder(walkthrough) if _escalation_url_builder is not None else None
