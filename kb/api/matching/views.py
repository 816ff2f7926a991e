"""`POST /api/v1/match/`: which known symptoms a pasted text or an uploaded log contains (kb.matching)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.exceptions import RequestTooLarge
from accounts.parsers import JSONParser
from common.middleware import declared_length

from ... import matching
from .permissions import MatchAllowed
from .serializers import MatchFileSerializer, MatchResponseSerializer, MatchTextSerializer, match_result_data

# Room for the multipart envelope and JSON quoting around an input that is just under the limit.
ENVELOPE_BYTES = 1024 * 1024


class MatchInputRefused(exceptions.APIException):
    status_code = 400
    default_code = "invalid_input"


class MatchAPIView(APIView):
    permission_classes = [MatchAllowed]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        summary="Match an error or a log against known symptoms",
        description=(
            "Send JSON `{\"text\": ...}` or a multipart `file` (plain text or gzip). Every line is checked "
            "against every symptom signature; numbers, ids, hosts, ports, paths and timestamps are masked on "
            "both sides first, so a signature matches the same error from another host. Input over "
            "`TRIAGE_MATCH_MAX_BYTES` (50 MB) is refused when declared that large, else cut with a notice; "
            "lines over `TRIAGE_MATCH_MAX_LINE_BYTES` (64 kB) are cut with a notice. Nothing is stored.\n\n"
            "A stack trace (Python, Java, Node, Go, .NET) is one event: its frames are context. Items of "
            "`matches` are exact symptom matches (`kind: signature`) first, then articles the retrieval index "
            "found for error events no signature knows (`kind: related`, never for INFO/DEBUG lines); each "
            "says `why`. The same lines matched in several systems are one item listing them in `systems`."
        ),
        request={"application/json": MatchTextSerializer, "multipart/form-data": MatchFileSerializer},
        responses={
            200: MatchResponseSerializer,
            400: OpenApiResponse(description="Empty input, a binary file, a damaged gzip file, or an unknown "
                                             "system."),
            403: OpenApiResponse(description="Reading needs a sign-in here, or the key lacks the read scope."),
            413: OpenApiResponse(description="The request is larger than the match size limit."),
        },
        examples=[OpenApiExample("Pasted error", value={"text": "Error 111 connecting to redis-0:6380."},
                                 request_only=True)],
        tags=["matching"],
    )
    def post(self, request: Request) -> Response:
        limit = matching.max_input_bytes()
        if declared_length(request) > limit + ENVELOPE_BYTES:
            raise RequestTooLarge(f"Request body too large: the limit for matching is {limit} bytes.")
        upload = request.FILES.get("file") if request.content_type.startswith("multipart/") else None
        data = request.data if hasattr(request.data, "get") else {}
        system = data.get("system") or ""
        if not isinstance(system, str):
            raise exceptions.ValidationError({"system": ["Send a system slug, or leave it out."]})
        try:
            if upload is not None:
                result = matching.symptom_match_stream(stream=upload, user=request.user, system=system)
            else:
                text = data.get("text")
                if not isinstance(text, str):
                    raise exceptions.ValidationError({"text": ["Send the text to match, or a multipart `file`."]})
                result = matching.symptom_match_text(text=text, user=request.user, system=system)
        except matching.MatchInputError as error:
            raise MatchInputRefused(error.message) from error
        return Response(match_result_data(result, request))
