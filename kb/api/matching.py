"""`POST /api/v1/match/`: which known symptoms a pasted text or an uploaded log contains (kb.matching)."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.exceptions import RequestTooLarge
from accounts.models import Scope
from accounts.parsers import JSONParser
from accounts.permissions import request_api_key

from .. import matching

# Room for the multipart envelope and JSON quoting around an input that is just under the limit.
ENVELOPE_BYTES = 1024 * 1024


class MatchTextSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False,
                                 help_text="An error message, a stack trace or a whole log.")


class MatchFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A log file: plain text or gzip (.gz), up to the size limit.")


class MatchLineSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1-based line number in the input.")
    text = serializers.CharField(help_text="The line (cut at 1000 characters).")
    highlight = serializers.ListField(child=serializers.IntegerField(), allow_null=True,
                                      help_text="[start, end) of the part the signature matched, or null.")
    before = serializers.ListField(child=serializers.CharField(), help_text="Up to two lines before it.")
    after = serializers.ListField(child=serializers.CharField(), help_text="Up to two lines after it.")


class MatchSymptomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    severity = serializers.CharField()


class MatchSystemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class MatchSolutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    risk = serializers.CharField()
    resolved_count = serializers.IntegerField(help_text="Incidents this solution resolved.")
    helpful_votes = serializers.IntegerField(help_text="Helpful votes on the articles that describe it.")
    steps = serializers.CharField(help_text="Markdown.")


class MatchArticleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField()


class MatchTreeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField(allow_null=True, help_text="The tree's page in the web UI.")


class MatchItemSerializer(serializers.Serializer):
    symptom = MatchSymptomSerializer()
    system = MatchSystemSerializer()
    line_count = serializers.IntegerField(help_text="How many lines matched this symptom.")
    line_numbers = serializers.ListField(child=serializers.IntegerField(), help_text="The first 50 of them.")
    lines = MatchLineSerializer(many=True, help_text="The first five, with context.")
    solutions = MatchSolutionSerializer(many=True, help_text="Best first: incidents resolved, then votes.")
    articles = MatchArticleSerializer(many=True)
    decision_tree = MatchTreeSerializer(allow_null=True, help_text="The published decision tree to start, if any.")


class UnknownErrorSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="The lines' shared shape; <*> marks the parts that vary.")
    count = serializers.IntegerField()
    example = serializers.CharField(help_text="The first such line, without its timestamp and level.")
    first_line = serializers.IntegerField()


class MatchResponseSerializer(serializers.Serializer):
    matches = MatchItemSerializer(many=True, help_text="Matched symptoms, best first (at most 25).")
    more_symptoms = serializers.IntegerField(help_text="Matched symptoms left out of `matches`.")
    unknown = UnknownErrorSerializer(many=True, help_text="Error-looking lines that no signature knows.")
    truncated = serializers.BooleanField(help_text="True when the input was over the size limit and cut.")
    notices = serializers.ListField(child=serializers.CharField(),
                                    help_text="What was cut, skipped or replaced while reading.")
    bytes_read = serializers.IntegerField()
    lines_read = serializers.IntegerField()
    elapsed_ms = serializers.FloatField()


class MatchAllowed(BasePermission):
    """Matching reads the knowledge base and stores nothing, so it is allowed wherever reading is."""

    message = "Sign in, or use an API key with the read scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request_api_key(request)
        if key is not None:
            return key.allows(Scope.READ)
        return settings.TRIAGE_PUBLIC_READ or request.user.is_authenticated


class MatchInputRefused(exceptions.APIException):
    status_code = 400
    default_code = "invalid_input"


def match_result_data(result: matching.MatchResult, request: Request) -> dict[str, Any]:
    """The response body; the shape MatchResponseSerializer documents."""
    return {
        "matches": [
            {
                "symptom": {"id": item.symptom.pk, "title": item.symptom.title, "severity": item.symptom.severity},
                "system": {"id": item.symptom.system.pk, "name": item.symptom.system.name,
                           "slug": item.symptom.system.slug},
                "line_count": item.line_count,
                "line_numbers": item.line_numbers,
                "lines": [
                    {"number": line.number, "text": line.text,
                     "highlight": list(line.highlight) if line.highlight else None,
                     "before": line.before, "after": line.after}
                    for line in item.lines
                ],
                "solutions": [
                    {"id": entry.solution.pk, "title": entry.solution.title, "risk": entry.solution.risk,
                     "resolved_count": entry.solution.resolved_count, "helpful_votes": entry.helpful_votes,
                     "steps": entry.solution.steps}
                    for entry in item.solutions
                ],
                "articles": [
                    {"id": article.pk, "title": article.title,
                     "url": request.build_absolute_uri(article.get_absolute_url())}
                    for article in item.articles
                ],
                "decision_tree": (
                    {**item.decision_tree, "url": request.build_absolute_uri(item.decision_tree["url"])
                     if item.decision_tree["url"] else None}
                    if item.decision_tree else None
                ),
            }
            for item in result.matches
        ],
        "more_symptoms": result.more_symptoms,
        "unknown": [
            {"template": group.template, "count": group.count, "example": group.example,
             "first_line": group.first_line}
            for group in result.unknown
        ],
        "truncated": result.truncated,
        "notices": result.notices,
        "bytes_read": result.bytes_read,
        "lines_read": result.lines_read,
        "elapsed_ms": round(result.elapsed_ms, 1),
    }


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
            "lines over `TRIAGE_MATCH_MAX_LINE_BYTES` (64 kB) are cut with a notice. Nothing is stored."
        ),
        request={"application/json": MatchTextSerializer, "multipart/form-data": MatchFileSerializer},
        responses={
            200: MatchResponseSerializer,
            400: OpenApiResponse(description="Empty input, a binary file, or a damaged gzip file."),
            403: OpenApiResponse(description="Reading needs a sign-in here, or the key lacks the read scope."),
            413: OpenApiResponse(description="The request is larger than the match size limit."),
        },
        examples=[OpenApiExample("Pasted error", value={"text": "Error 111 connecting to redis-0:6380."},
                                 request_only=True)],
        tags=["matching"],
    )
    def post(self, request: Request) -> Response:
        limit = matching.max_input_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + ENVELOPE_BYTES:
            raise RequestTooLarge(f"Request body too large: the limit for matching is {limit} bytes.")
        upload = request.FILES.get("file") if request.content_type.startswith("multipart/") else None
        try:
            if upload is not None:
                result = matching.symptom_match_stream(stream=upload, user=request.user)
            else:
                data = request.data if isinstance(request.data, dict) else {}
                text = data.get("text")
                if not isinstance(text, str):
                    raise exceptions.ValidationError({"text": ["Send the text to match, or a multipart `file`."]})
                result = matching.symptom_match_text(text=text, user=request.user)
        except matching.MatchInputError as error:
            raise MatchInputRefused(error.message) from error
        return Response(match_result_data(result, request))
