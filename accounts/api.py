"""One JSON error shape for the whole API: {"status", "error", "detail", "fields"?}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _first_message(data) -> str:
    if isinstance(data, dict):
        for field, value in data.items():
            message = _first_message(value)
            return message if field in ("detail", "non_field_errors") else f"{field}: {message}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
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
    body = {"status": response.status_code, "error": code, "detail": detail}
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = "Invalid input: " + detail
        body["fields"] = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
    response.data = body
    return response
