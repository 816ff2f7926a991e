"""Knowledge-base API. Reads come from kb.selectors, writes go through kb.services."""

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.permissions import ReadPublicWriteScoped, StaffWritesOnly

from .. import selectors, services
from ..filtersets import ArticleFilterSet, RevisionFilterSet, SolutionFilterSet, SymptomFilterSet
from ..models import Article, ArticleRevision, Solution, Symptom, System
from .serializers import (
    ArticleCreateSerializer,
    ArticleListSerializer,
    ArticleRevisionSerializer,
    ArticleSerializer,
    ArticleVoteResultSerializer,
    ArticleVoteSerializer,
    ArticleWriteSerializer,
    SolutionSerializer,
    SymptomSerializer,
    SystemSerializer,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input; `fields` holds the messages per field."),
    401: OpenApiResponse(description="Missing, malformed, expired or revoked credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed (scope or staff)."),
    404: OpenApiResponse(description="No such article, or not visible to you."),
}


@extend_schema_view(
    list=extend_schema(summary="List systems"),
    retrieve=extend_schema(summary="Show a system"),
)
@extend_schema(tags=["knowledge base"])
class SystemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SystemSerializer
    lookup_field = "slug"
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[System]:
        return selectors.system_list_with_dependencies(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List articles", description="Drafts are listed for staff only."),
    retrieve=extend_schema(summary="Show an article with its Markdown and rendered HTML"),
    create=extend_schema(summary="Create an article (staff)", request=ArticleCreateSerializer,
                         responses={201: ArticleSerializer, **ERRORS}),
    update=extend_schema(
        summary="Replace an article's text (staff)", request=ArticleWriteSerializer,
        responses={200: ArticleSerializer, **ERRORS},
        description="Title and body are required; optional fields left out keep their values. "
        "Every change to title, summary, body or tags records a revision.",
    ),
    partial_update=extend_schema(summary="Change some fields of an article (staff)",
                                 request=ArticleWriteSerializer, responses={200: ArticleSerializer, **ERRORS}),
)
@extend_schema(tags=["knowledge base"])
class ArticleViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    permission_classes = [StaffWritesOnly]
    filterset_class = ArticleFilterSet
    ordering_fields = ["title", "updated_at", "created_at", "helpful_count", "view_count"]

    def get_queryset(self) -> QuerySet[Article]:
        return selectors.article_list_with_authors(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer]:
        return {
            "list": ArticleListSerializer,
            "create": ArticleCreateSerializer,
            "update": ArticleWriteSerializer,
            "partial_update": ArticleWriteSerializer,
            "vote": ArticleVoteSerializer,
        }.get(self.action, ArticleSerializer)

    def _article_response(self, article_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        # Read back through the selector so counters, tags and author are what is now stored.
        article = self.get_queryset().get(pk=article_id)
        body = ArticleSerializer(article, context=self.get_serializer_context()).data
        headers = {"Location": reverse("kb-article-detail", kwargs={"pk": article.pk})}
        return Response(body, status=status_code, headers=headers if status_code == 201 else None)

    def perform_create(self, serializer: BaseSerializer) -> None:
        fields = dict(serializer.validated_data)
        note = fields.pop("note", "") or "Created through the API"
        serializer.instance = services.article_create(author=self.request.user, note=note, **fields)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return self._article_response(serializer.instance.pk, status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer) -> None:
        fields = dict(serializer.validated_data)
        note, tags = fields.pop("note", ""), fields.pop("tags", None)
        services.article_update(article=serializer.instance, author=self.request.user, note=note, tags=tags, **fields)

    def update(self, request: Request, *args: object, **kwargs: object) -> Response:
        article = self.get_object()
        serializer = self.get_serializer(article, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return self._article_response(article.pk)

    @extend_schema(
        summary="Vote an article helpful or not",
        description="One vote per user and article; voting again changes it and the counters follow.",
        request=ArticleVoteSerializer,
        responses={200: ArticleVoteResultSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[ReadPublicWriteScoped])
    def vote(self, request: Request, pk: str | None = None) -> Response:
        article = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vote = services.article_vote(
            article=article,
            helpful=serializer.validated_data["helpful"],
            comment=serializer.validated_data["comment"],
            user=request.user,
            session_key=request.session.session_key or "",
        )
        counts = selectors.article_counts(article_id=article.pk)
        result = {"helpful": vote.helpful, "helpful_count": counts["helpful_count"],
                  "not_helpful_count": counts["not_helpful_count"]}
        return Response(ArticleVoteResultSerializer(result).data)


@extend_schema_view(
    list=extend_schema(summary="List article revisions", description="Filter with `?article=<id>`."),
    retrieve=extend_schema(summary="Show one revision"),
)
@extend_schema(tags=["knowledge base"])
class RevisionViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = ArticleRevisionSerializer
    filterset_class = RevisionFilterSet
    ordering_fields = ["number", "created_at"]

    def get_queryset(self) -> QuerySet[ArticleRevision]:
        return selectors.revision_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List symptoms with their signatures"),
    retrieve=extend_schema(summary="Show a symptom with its signatures"),
)
@extend_schema(tags=["knowledge base"])
class SymptomViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = SymptomSerializer
    filterset_class = SymptomFilterSet
    ordering_fields = ["title", "severity", "updated_at"]

    def get_queryset(self) -> QuerySet[Symptom]:
        return selectors.symptom_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List solutions"),
    retrieve=extend_schema(summary="Show a solution"),
)
@extend_schema(tags=["knowledge base"])
class SolutionViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = SolutionSerializer
    filterset_class = SolutionFilterSet
    ordering_fields = ["title", "risk", "resolved_count", "updated_at"]

    def get_queryset(self) -> QuerySet[Solution]:
        return selectors.solution_list(user=self.request.user)
