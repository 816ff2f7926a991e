"""One JSON error shape for the whole API: {"status", "error", "detail", "fields"?, "retry_after"?}.

`exception_handler` covers everything raised inside a DRF view. The `handler*` views below are wired
in config/urls.py so errors Django raises before or outside a view (an unknown /api/ URL, a body
Django refuses, a crash) are JSON under /api/ too, while HTML pages keep Django's templates.
"""

import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from common.middleware import database_unavailable_response, is_database_unavailable, too_large_response

from .exceptions import RequestTooLarge, too_large_message

API_PREFIX = "/api/"


def _first_message(data: Any) -> str:
    if isinstance(data, dict):
        for field, value in data.items():
            message = _first_message(value)
            return message if field in ("detail", "non_field_errors") else f"{field}: {message}"
        return ""
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


def _as_api_exception(exc: Exception) -> Exception:
    """Translate the few Django exceptions our services and Django itself raise into DRF ones."""
    if isinstance(exc, DjangoValidationError):
        # Services call full_clean(); their messages belong in the same 400 shape as serializer errors.
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError({
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()
            })
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(too_large_message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    return exc


def exception_handler(exc: Exception, context: dict) -> Response | None:
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django logs it and handler500 answers with JSON
    if isinstance(exc, Http404):
        code, detail = "not_found", "Not found."
    elif isinstance(exc, PermissionDenied):
        code, detail = "permission_denied", "You do not have permission to do this."
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = _first_message(response.data)
    else:
        code, detail = "error", _first_message(response.data)
    body: dict[str, Any] = {"status": response.status_code, "error": code, "detail": detail}
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = "Invalid input: " + detail
        body["fields"] = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
    set_rollback()
    response.data = body
    return response


def _json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"status": status_code, "error": code, "detail": detail}, status=status_code)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django answers 400 for bodies it refuses to read; an oversize body is a 413 with the limit."""
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    return _json_error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json_error(403, "permission_denied", "You do not have permission to do this.")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _json_error(404, "not_found", f"No API endpoint at {request.path}.")


def server_error(request: HttpRequest) -> HttpResponse:
    # Errors raised outside a view (the session or user lookup) reach only this handler; a lost
    # database is a 503 with Retry-After there too (common.middleware handles it inside views).
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    if not _is_api(request):
        return defaults.server_error(request)
    return _json_error(500, "server_error", "Internal server error; it has been logged.")
