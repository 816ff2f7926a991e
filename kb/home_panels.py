"""kb's own panels of the signed-in home page (the on-call cockpit): monitors needing attention
(diagnostics is below kb, so kb reads it directly) and knowledge gaps. Apps above kb add theirs through
`kb.hooks.register_home_panel`.
"""

from __future__ import annotations

from django.http import HttpRequest


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
