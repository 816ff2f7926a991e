"""`GET /api/v1/search/`: ranked full-text search, the same engine as the web UI (kb.search)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import search as kb_search
from ...models import SearchQueryLog
from .serializers import SearchParamsSerializer, SearchResponseSerializer, search_params, search_results_data


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
        params = search_params(request)
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
        return Response(SearchResponseSerializer(search_results_data(results, request)).data)
