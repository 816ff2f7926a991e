"""Extra sections of the incident page offered by higher apps (a hook: incidents never imports them).

A higher app calls `detail_panel_register("app/partials/x.html")` in its AppConfig.ready(); the
incident page includes each registered template with the page's context (`incident`, `can_work`).
"""

DETAIL_PANELS: list[str] = []


def detail_panel_register(template_name: str) -> None:
    if template_name not in DETAIL_PANELS:
        DETAIL_PANELS.append(template_name)
