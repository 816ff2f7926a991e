"""Shapes of `GET /api/v1/search/`: the query string in, the page of results out."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from ...search import MAX_PAGE_SIZE, PAGE_SIZE, SearchResults


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
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE,
                                         default=PAGE_SIZE)


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


def search_params(request: Request) -> dict[str, Any]:
    """The validated query string; raises ValidationError (a 400) for a bad parameter."""
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


def search_results_data(results: SearchResults, request: Request) -> dict[str, Any]:
    """The response body; the shape SearchResponseSerializer documents."""
    return {
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
