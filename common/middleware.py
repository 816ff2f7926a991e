"""Request guards that keep Triage answering sensibly when a part of it is down or a client overdoes it.

- `DatabaseUnavailableMiddleware`: a lost database connection becomes a 503 with `Retry-After` (HTML
  page, or the API's JSON error shape under /api/), never a traceback or the database's address.
  `accounts.api.server_error` uses the same answer for errors raised outside a view (sessions, auth).
- `RequestGuardMiddleware`, by URL name, before anything reads the body:
  1. a body limit: `DATA_UPLOAD_MAX_MEMORY_SIZE` is small by default; the upload views listed in
     `upload_limits()` accept more, checked against `Content-Length` before a byte is read (413);
  2. per-address rate limits (`TRIAGE_RATE_LIMITS`, django-ratelimit's core API) on login, search,
     match, votes and incident filing (429 with `Retry-After`). The counters live in the cache, which
     fails open (common.cache), so a cache outage lifts the limits instead of failing requests.
  It must come before CsrfViewMiddleware, which reads POST bodies in its own process_view.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_ratelimit.core import get_usage

from .htmx import vary_on_htmx, wants_fragment

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Room for the multipart envelope and JSON quoting around an upload that is just under its own limit.
ENVELOPE_BYTES = 1024 * 1024


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(request: HttpRequest, *, status: int, code: str, title: str, detail: str,
                   retry_after: int | None = None) -> HttpResponse:
    """The API's JSON error shape under /api/, a short message for htmx, a plain page otherwise.

    Renders without a request context (no user, no session), so it works with the database down.
    """
    if _is_api(request):
        body: dict[str, Any] = {"status": status, "error": code, "detail": detail}
        if retry_after is not None:
            body["retry_after"] = retry_after
        response: HttpResponse = JsonResponse(body, status=status)
    elif wants_fragment(request):
        # htmx swaps only 2xx and 422 (base.html), so the message takes the fragment's place.
        html = render_to_string("partials/error_notice.html", {"title": title, "detail": detail})
        response = vary_on_htmx(HttpResponse(html, status=422))
    else:
        html = render_to_string("error_plain.html", {"title": title, "detail": detail})
        response = HttpResponse(html, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    return error_response(
        request, status=503, code="service_unavailable", title="Temporarily unavailable",
        detail="Triage cannot reach its database right now. Please try again in a moment.",
        retry_after=settings.TRIAGE_RETRY_AFTER_SECONDS,
    )


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_ERRORS)


class DatabaseUnavailableMiddleware:
    """Answer 503 + Retry-After when a view fails because the database is unreachable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        # One line, no traceback: the cause is outside Triage and /health/ names it.
        logger.error("database unavailable during %s %s: %s", request.method, request.path,
                     type(exception).__name__)
        return database_unavailable_response(request)


# --- body limits and rate limits -----------------------------------------------------------------------


def upload_limits() -> dict[str, int]:
    """URL name -> the largest body that view accepts; every other view gets DATA_UPLOAD_MAX_MEMORY_SIZE."""
    match = settings.TRIAGE_MATCH_MAX_BYTES + ENVELOPE_BYTES
    attachments = settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES + ENVELOPE_BYTES
    return {
        "kb:import_guide": settings.TRIAGE_IMPORT_MAX_REQUEST_BYTES,
        "kb:match": match,
        "kb-match": match,
        "incidents:new": attachments,
        "incidents:attach": attachments,
        "incident-attachments": attachments,
    }


# Views whose anonymous callers get a smaller body than signed-in ones (a scan per request is not free).
ANONYMOUS_LIMITED = frozenset({"kb:match", "kb-match"})


def _is_signed_in(request: HttpRequest) -> bool:
    # An API key is checked by DRF before the body is parsed, so its presence is enough here.
    if request.META.get("HTTP_AUTHORIZATION"):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def body_limit(request: HttpRequest, view_name: str) -> int | None:
    limit = upload_limits().get(view_name, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if view_name in ANONYMOUS_LIMITED and not _is_signed_in(request):
        limit = min(limit, settings.TRIAGE_ANONYMOUS_UPLOAD_MAX_BYTES + ENVELOPE_BYTES)
    return limit


def declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def read_body_within(request: HttpRequest, limit: int | None) -> None:
    """Read a JSON or form body that this view allows but Django's global limit would refuse.

    Django checks DATA_UPLOAD_MAX_MEMORY_SIZE whenever `request.body` is first read; a body read here is
    kept, so the later reads (CSRF, DRF's parsers) see it without that check. Multipart bodies are left
    alone: Django streams their files to disk and counts only the other fields against the limit.
    """
    default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = declared_length(request)
    if default is None or length <= default or (limit is not None and length > limit):
        return
    if request.content_type == "multipart/form-data" or hasattr(request, "_body"):
        return
    body = request.read()
    request._body = body
    request._stream = io.BytesIO(body)


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    return error_response(
        request, status=413, code="request_too_large", title="Too large",
        detail=f"Request body too large: the limit is {limit} bytes.",
    )


def rate_limited_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    return error_response(
        request, status=429, code="throttled", title="Slow down",
        detail=f"Too many requests from your address. Try again in {retry_after} seconds.",
        retry_after=retry_after,
    )


def rate_limit_for(view_name: str) -> tuple[str, dict[str, Any]] | None:
    for group, rule in settings.TRIAGE_RATE_LIMITS.items():
        if view_name in rule["views"]:
            return group, rule
    return None


class RequestGuardMiddleware:
    """Body limits and per-address rate limits, by URL name, before the body is read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: tuple,
                     view_kwargs: dict) -> HttpResponse | None:
        match = request.resolver_match
        view_name = match.view_name if match is not None else ""
        limit = body_limit(request, view_name)
        if limit is not None and declared_length(request) > limit:
            return too_large_response(request, limit)
        # The API parsers (accounts.parsers) read the limit of this view from here.
        request.body_limit = limit
        read_body_within(request, limit)
        rule = rate_limit_for(view_name)
        if rule is None:
            return None
        group, config = rule
        usage = get_usage(request, group=f"triage:{group}", key="ip", rate=config["rate"],
                          method=config["methods"], increment=True)
        if usage is not None and usage["should_limit"]:
            logger.info("rate limit %s hit by %s", group, request.META.get("REMOTE_ADDR"))
            return rate_limited_response(request, max(int(usage["time_left"]), 1))
        return None
