"""`GET /api/v1/search/`: ranked full-text search, the same engine as the web UI (kb.search)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import search as kb_search
from ..models import SearchQueryLog


class SearchParamsSerializer(serializers.Serializer):
    """Shape of the query string; the query text itself is parsed by kb.search, never rejected for syntax."""

    q = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="",
                              help_text='Words, "exact phrases", -excluded words, system:<slug>, tag:<slug>, '
                                        "or a pasted error line (at most 1000 characters).")
    system = serializers.ListField(child=serializers.SlugField(max_length=120), required=False, default=list,
                                   help_text="Only these systems (repeatable).")
    tag = serializers.ListField(child=serializers.SlugField(max_length=60), required=False, default=list,
                                help_text="Only articles carrying every one of these tags (repeatable).")
    sort = serializers.ChoiceField(choices=["relevance", "recent"], default="relevance")
    page = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=kb_search.MAX_PAGE_SIZE,
                                         default=kb_search.PAGE_SIZE)


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    system = serializers.CharField(help_text="The system's slug.")
    url = serializers.URLField(help_text="The article's page in the web UI.")
    highlight = serializers.CharField(help_text="An HTML snippet: text escaped, matched words in <mark>.")
    score = serializers.FloatField(help_text="Higher is better; comparable only within one response.")


class FacetSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class FacetsSerializer(serializers.Serializer):
    systems = FacetSerializer(many=True)
    tags = FacetSerializer(many=True)


class SearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Matching articles (scored matches are capped; see `more`).")
    more = serializers.BooleanField(help_text="True when there are more matches than `count`.")
    page = serializers.IntegerField()
    results = SearchResultSerializer(many=True)
    suggestion = serializers.CharField(allow_null=True, help_text='A corrected spelling ("did you mean"), or null.')
    facets = FacetsSerializer()


def _params(request: Request) -> dict:
    data = {
        # NUL bytes are dropped, not refused: a pasted log line may carry one and the rest is still useful.
        "q": request.query_params.get("q", "").replace("\x00", " "),
        "system": [s for s in request.query_params.getlist("system") if s],
        "tag": [t for t in request.query_params.getlist("tag") if t],
    }
    for key in ("sort", "page", "page_size"):
        if request.query_params.get(key):
            data[key] = request.query_params[key]
    serializer = SearchParamsSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SearchAPIView(APIView):
    @extend_schema(
        summary="Search articles",
        description=(
            "Ranked full-text search with typo tolerance. Error tokens (ECONNREFUSED, `Errno 111`, 401, "
            "OOMKilled, exception names, quoted log fragments) that match a symptom's signature rank first. "
            "An empty query, or one with nothing searchable in it, is a 400 unless a system/tag filter is given."
        ),
        parameters=[SearchParamsSerializer],
        responses={
            200: SearchResponseSerializer,
            400: OpenApiResponse(description="Missing, unusable or too long query, or a bad parameter."),
        },
    )
    def get(self, request: Request) -> Response:
        params = _params(request)
        try:
            results = kb_search.search(
                params["q"], user=request.user, systems=params["system"], tags=params["tag"],
                sort=params["sort"], page=params["page"], per_page=params["page_size"],
            )
        except kb_search.QueryError as exc:
            raise ValidationError({"q": [str(exc)]}) from exc
        if not results.usable:
            raise ValidationError({"q": [results.message]})
        if params["page"] == 1 and results.query.has_positive:
            kb_search.search_log_record(
                query=params["q"], normalized=results.query.normalized, result_count=results.count,
                user=request.user, source=SearchQueryLog.Source.API,
            )
        body = {
            "count": results.count,
            "more": results.more,
            "page": results.page,
            "results": [
                {
                    "id": hit.article.pk,
                    "title": hit.article.title,
                    "system": hit.article.system.slug,
                    "url": request.build_absolute_uri(hit.article.get_absolute_url()),
                    "highlight": str(hit.highlight),
                    "score": hit.score,
                }
                for hit in results.hits
            ],
            "suggestion": results.suggestion or None,
            "facets": {
                "systems": [vars(f) for f in results.systems],
                "tags": [vars(f) for f in results.tags],
            },
        }
        return Response(SearchResponseSerializer(body).data)
