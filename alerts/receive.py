"""The HTTP side of receiving alerts: bounded body reading and the answers each sender expects.

The API views (alerts/api/views.py) turn off DRF's authentication, throttling and parsing for these
endpoints: the source key in the URL (or the Events v2 `routing_key`) is the only credential, and the
body is read here, bounded, never by a parser.
"""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request

from . import services
from .formats import FormatError, parse
from .models import AlertSource

READ_CHUNK = 64 * 1024


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def body_json(request: HttpRequest | Request) -> Any:
    """The decoded JSON body; refuses a declared or actual size over TRIAGE_ALERT_MAX_BYTES before parsing."""
    limit = settings.TRIAGE_ALERT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BodyError(400, "Content-Length is not a number.") from None
    if declared > limit:
        raise BodyError(413, f"The body is {declared} bytes; the limit is {limit} bytes.")
    chunks, size = [], 0
    while True:
        chunk = request.read(READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nesting too deep is bad input too
        raise BodyError(400, f"The body is not valid JSON: {exc}") from None


def api_error(status: int, detail: str, errors: list[str] | None = None) -> JsonResponse:
    """The project's API error shape, plus the list of problems."""
    codes = {400: "invalid", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large", 503: "busy"}
    body: dict[str, Any] = {"status": status, "error": codes.get(status, "error"), "detail": detail}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def accept(source: AlertSource, body: Any) -> list[services.AlertOutcome]:
    """Parse with the source's format and store; raises FormatError or ValidationError."""
    events = parse(source.kind, body, field_paths=source.field_paths)
    outcomes = services.alerts_accept(source=source, events=events)
    services.alert_source_record_payload(source=source, body=body)
    return outcomes


def receive_keyed(request: HttpRequest | Request, *, kind: str, key: str) -> JsonResponse:
    """Alertmanager, Grafana and generic: the key is in the URL; 202 with one outcome per alert."""
    source = services.alert_source_for_key(key)
    if source is None or source.kind != kind:
        return api_error(404, "No alert source has this key.")
    try:
        outcomes = accept(source, body_json(request))
    except BodyError as exc:
        return api_error(exc.status, exc.message)
    except FormatError as exc:
        return api_error(400, exc.message, exc.errors)
    except ValidationError as exc:
        return api_error(503, " ".join(exc.messages))
    return JsonResponse({"status": "accepted", "alerts": [o.as_dict() for o in outcomes]}, status=202)


def pd_error(status: int, message: str, errors: list[str]) -> JsonResponse:
    """Events API v2's own error shape."""
    return JsonResponse({"status": "invalid event", "message": message, "errors": errors}, status=status)


def receive_events_v2(request: HttpRequest | Request) -> JsonResponse:
    """PagerDuty Events API v2 compatible: 202 {status, message, dedup_key}, 400 {status, message, errors}."""
    from .formats import events_v2

    try:
        body = body_json(request)
        key = events_v2.routing_key(body)
    except BodyError as exc:
        return pd_error(exc.status, "Event object is invalid", [exc.message])
    except FormatError as exc:
        return pd_error(400, exc.message, exc.errors)
    source = services.alert_source_for_key(key)
    if source is None or source.kind != AlertSource.Kind.EVENTS_V2:
        return pd_error(404, "Unknown routing key", ["No alert source has this routing key."])
    try:
        outcomes = accept(source, body)
    except FormatError as exc:
        return pd_error(400, exc.message, exc.errors)
    except ValidationError as exc:
        return pd_error(503, "Busy", exc.messages)
    return JsonResponse({"status": "success", "message": "Event processed", "dedup_key": outcomes[0].fingerprint},
                        status=202)
