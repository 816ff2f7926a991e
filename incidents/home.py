"""The incidents panels of the signed-in home page (the on-call cockpit); registered in IncidentsConfig.ready()."""

from __future__ import annotations

from django.http import HttpRequest

from . import selectors


def open_incidents_panel(request: HttpRequest) -> tuple[str, dict] | None:
    return "incidents/partials/home_incidents.html", {
        "open_incidents": selectors.incidents_open_by_severity(user=request.user),
    }


def my_action_items_panel(request: HttpRequest) -> tuple[str, dict] | None:
    items = selectors.action_items_open_for(user=request.user)
    return "incidents/partials/home_action_items.html", {"my_action_items": items}
