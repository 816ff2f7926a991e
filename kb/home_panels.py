"""Panels of the signed-in home page (the on-call cockpit) that apps above kb provide.

kb owns the home page but must not import the apps above it; they register a panel in their
`AppConfig.ready()`. A panel is a callable taking the request and returning (template, context), or None
to show nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

HomePanel = Callable[[HttpRequest], "tuple[str, dict] | None"]


@dataclass(frozen=True)
class RegisteredPanel:
    key: str
    panel: HomePanel
    order: int


_panels: dict[str, RegisteredPanel] = {}


def register_home_panel(key: str, panel: HomePanel, *, order: int = 50) -> None:
    """Add (or replace, by key, so a repeated ready() is harmless) a panel; lower `order` comes first."""
    _panels[key] = RegisteredPanel(key=key, panel=panel, order=order)


def unregister_home_panel(key: str) -> None:
    _panels.pop(key, None)


def home_panels(request: HttpRequest) -> list[tuple[str, dict]]:
    """The rendered-to-be panels for this request, in order, skipping those that return None."""
    shown = []
    for registered in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        result = registered.panel(request)
        if result is not None:
            shown.append(result)
    return shown


# --- kb's own panels: monitors (diagnostics is below kb, so kb reads it directly) and knowledge gaps ----

def monitors_panel(request: HttpRequest) -> tuple[str, dict] | None:
    from diagnostics.selectors import monitor_state_counts, monitors_needing_attention

    return "diagnostics/partials/home_monitors.html", {
        "attention_monitors": monitors_needing_attention(), "monitor_counts": monitor_state_counts(),
    }


def search_gaps_panel(request: HttpRequest) -> tuple[str, dict] | None:
    from .selectors import is_staff, search_recent_without_results

    if not is_staff(request.user):
        return None
    return "kb/partials/home_search_gaps.html", {"unanswered_searches": search_recent_without_results()}
