"""Request parsers that refuse oversize bodies with a 413 before reading them.

DRF reads JSON and form bodies straight from the request stream, which skips Django's
DATA_UPLOAD_MAX_MEMORY_SIZE check; these parsers apply the same limit from Content-Length.
Multipart keeps Django's own check (it counts non-file fields only, so uploads still work);
its RequestDataTooBig becomes a 413 in accounts.api.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import parsers

from common.middleware import declared_length

from .exceptions import RequestTooLarge, too_large_message


def request_size_check(parser_context: Mapping[str, Any] | None) -> None:
    """Raise RequestTooLarge when the declared body size exceeds this view's limit.

    The limit is DATA_UPLOAD_MAX_MEMORY_SIZE, or the larger one common.middleware.RequestGuardMiddleware
    set on the request for an upload view.
    """
    request = (parser_context or {}).get("request")
    if request is None:
        return
    limit = getattr(request, "body_limit", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if limit is None:
        return
    if declared_length(request) > limit:
        raise RequestTooLarge(too_large_message(limit))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        request_size_check(parser_context)
        return super().parse(stream, media_type, parser_context)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        request_size_check(parser_context)
        return super().parse(stream, media_type, parser_context)
