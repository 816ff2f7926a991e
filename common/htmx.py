"""One URL answers with a whole page or, for htmx, only the fragment that page includes.

Every htmx view decides through this module, so the rule lives in one place:
- a fragment only for a plain htmx request: a boosted link or form and a history restore (Back after
  htmx's cache was skipped) need the whole page;
- `Vary: HX-Request`, so a cache never serves the fragment for a page load or the reverse;
- htmx swaps only 2xx and 422 (see `base.html`), so an error status becomes 422 for fragments.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """True when htmx asked for a fragment rather than a page (not boosted, not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_page_or_fragment(
    request: HttpRequest,
    page: str,
    fragment: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render `fragment` for htmx and `page` (which includes the fragment) otherwise.

    An error status (>= 400) is sent to htmx as 422 so it swaps the fragment that explains the error;
    a full page keeps the real status.
    """
    partial = wants_fragment(request)
    if partial and status >= 400:
        status = 422
    response = render(request, fragment if partial else page, context, status=status)
    return vary_on_htmx(response)
