"""API exceptions shared by the error handler and the parsers (no import of rest_framework.views here:
DRF imports our parsers while it builds APIView, so this module must not need APIView)."""

from rest_framework import exceptions, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


def too_large_message(limit: int | None) -> str:
    if limit is None:
        return RequestTooLarge.default_detail
    return f"Request body too large: the limit is {limit} bytes."
