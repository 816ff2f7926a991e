"""`/api/v1/trees/` (staff CRUD, YAML in and out) and `/api/v1/walkthroughs/` (so a bot can drive a tree).

A chat bot starts a walkthrough (`POST /walkthroughs/ {"tree": id, "context": {"host", "port"}}`), shows
`current.prompt` with `current.options`, and answers with `POST /walkthroughs/{id}/answer/ {"choice"}`.
While `current.check_pending` is true the step's check is still running: read the walkthrough again
(it moves on by itself once the check has an answer), or answer it yourself.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import StaffWritesOnly
from diagnostics.models import CheckRun

from .. import selectors, services, yaml_io
from ..context import context_from_text
from ..exceptions import TreeInvalid, WalkthroughError
from ..filtersets import TreeFilterSet
from ..models import DecisionTree, Walkthrough
from ..walkthrough import (
    walkthrough_abandon,
    walkthrough_answer,
    walkthrough_check_settle,
    walkthrough_go_back,
    walkthrough_start,
)
from .parsers import YAMLTextParser
from .permissions import WalkthroughAccess
from .renderers import YAMLTextRenderer
from .serializers import (
    AnswerSerializer,
    TranscriptSerializer,
    TreeListSerializer,
    TreeSerializer,
    TreeYAMLSerializer,
    WalkthroughSerializer,
    WalkthroughStartSerializer,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input; `fields` holds the messages (for YAML: one per problem)."),
    401: OpenApiResponse(description="Missing, malformed, expired or revoked credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed (scope, staff, or not your walkthrough)."),
    404: OpenApiResponse(description="No such tree or walkthrough, or not visible to you."),
}


# --- trees ---------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List decision trees", description="Filter with `?system=<slug>`; drafts are "
                       "listed for staff only."),
    retrieve=extend_schema(summary="Show a decision tree with its nodes"),
    create=extend_schema(
        summary="Create or replace a tree from YAML (staff)",
        description="The YAML names its system and slug; a tree with the same system and slug is replaced. "
                    "Send JSON `{\"yaml\": ...}` or the YAML itself as `application/yaml`.",
        request={"application/json": TreeYAMLSerializer, "application/yaml": OpenApiTypes.STR},
        responses={201: TreeSerializer, 200: TreeSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a tree from YAML (staff)", description="The YAML must be for this tree (same slug).",
        request={"application/json": TreeYAMLSerializer, "application/yaml": OpenApiTypes.STR},
        responses={200: TreeSerializer, **ERRORS},
    ),
    destroy=extend_schema(summary="Delete a tree and its walkthroughs (staff)", responses={204: None, **ERRORS}),
)
@extend_schema(tags=["decision trees"])
class TreeViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                  viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    permission_classes = [StaffWritesOnly]
    filterset_class = TreeFilterSet
    ordering_fields = ["title", "updated_at", "created_at"]
    http_method_names = ["get", "post", "put", "delete", "head", "options"]
    parser_classes = [YAMLTextParser, *viewsets.ModelViewSet.parser_classes]

    def get_queryset(self) -> QuerySet[DecisionTree]:
        queryset = selectors.tree_list(user=self.request.user)
        if self.action == "retrieve":
            queryset = queryset.select_related("entry_node").prefetch_related("symptoms", "nodes__check_def",
                                                                             "nodes__article", "nodes__solution")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("create", "update"):
            return TreeYAMLSerializer
        return TreeListSerializer if self.action == "list" else TreeSerializer

    def _import(self, request: Request, tree: DecisionTree | None) -> services.TreeImportResult:
        serializer = TreeYAMLSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return services.tree_import_yaml(
                text=serializer.validated_data["yaml"], author=request.user, note=serializer.validated_data["note"]
                or "Through the API", system=tree.system if tree else None, slug=tree.slug if tree else None,
            )
        except TreeInvalid as exc:
            raise exceptions.ValidationError({"yaml": exc.errors}) from None

    def _tree_response(self, tree: DecisionTree, status_code: int) -> Response:
        fresh = DecisionTree.objects.select_related("system", "entry_node").get(pk=tree.pk)
        return Response(TreeSerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        result = self._import(request, None)
        return self._tree_response(result.tree, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tree = self.get_object()
        return self._tree_response(self._import(request, tree).tree, status.HTTP_200_OK)

    def perform_destroy(self, instance: DecisionTree) -> None:
        services.tree_delete(tree=instance)

    @extend_schema(summary="The tree as YAML", responses={(200, "application/yaml"): OpenApiTypes.STR, 404: ERRORS[404]})
    @action(detail=True, methods=["get"], renderer_classes=[YAMLTextRenderer, renderers.JSONRenderer])
    def yaml(self, request: Request, pk: str | None = None) -> Response:
        return Response(yaml_io.tree_export_yaml(self.get_object()), content_type="application/yaml; charset=utf-8")


# --- walkthroughs --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List your walkthroughs (staff: everyone's)"),
    retrieve=extend_schema(
        summary="Show a walkthrough and its current step",
        description="Reading it also lets a finished check answer the current step (it then moves on).",
    ),
    create=extend_schema(summary="Start walking a tree", request=WalkthroughStartSerializer,
                         responses={201: WalkthroughSerializer, **ERRORS}),
)
@extend_schema(tags=["decision trees"])
class WalkthroughViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    permission_classes = [WalkthroughAccess]
    serializer_class = WalkthroughSerializer
    ordering_fields = ["started_at"]

    def get_queryset(self) -> QuerySet[Walkthrough]:
        if self.action == "list":
            return selectors.walkthrough_list(user=self.request.user)
        # Like a shared link in the web UI: any signed-in colleague may look at a walkthrough.
        return Walkthrough.objects.select_related("tree__system", "user").filter(
            tree__in=selectors.tree_list(user=self.request.user))

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": WalkthroughStartSerializer, "answer": AnswerSerializer}.get(self.action,
                                                                                     WalkthroughSerializer)

    def _response(self, walkthrough: Walkthrough, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = Walkthrough.objects.select_related("tree__system", "user").get(pk=walkthrough.pk)
        return Response(WalkthroughSerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WalkthroughStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tree = serializer.validated_data["tree"]
        if not selectors.tree_list(user=request.user).filter(pk=tree.pk).exists():
            raise exceptions.ValidationError({"tree": ["No such tree."]})
        context = dict(serializer.validated_data.get("context") or {})
        found = context_from_text(context.get("line") or "")
        context["host"] = context.get("host") or found.get("host", "")
        context["port"] = context.get("port") or found.get("port", "")
        try:
            walkthrough = walkthrough_start(tree=tree, user=request.user, context=context,
                                                  trigger=CheckRun.Trigger.API)
        except WalkthroughError as exc:
            raise exceptions.ValidationError({"tree": [str(exc)]}) from None
        return self._response(walkthrough, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        walkthrough = self.get_object()
        if selectors.walkthrough_is_owner(walkthrough, user=request.user, session_key=None):
            for _ in range(10):
                if walkthrough_check_settle(walkthrough=walkthrough, user=request.user) is None:
                    break
        return self._response(walkthrough)

    @extend_schema(summary="Answer the current step (or change an earlier answer)", request=AnswerSerializer,
                   responses={200: WalkthroughSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        walkthrough = self.get_object()
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number = serializer.validated_data.get("step") or walkthrough.steps.count()
        try:
            result = walkthrough_answer(walkthrough=walkthrough, step_number=number,
                                              choice=serializer.validated_data["choice"], user=request.user,
                                              trigger=CheckRun.Trigger.API)
        except WalkthroughError as exc:
            raise exceptions.ValidationError({"choice": [str(exc)]}) from None
        return self._response(result.walkthrough)

    @extend_schema(summary="Go back one step (undo the last answer)", request=None,
                   responses={200: WalkthroughSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def back(self, request: Request, pk: str | None = None) -> Response:
        walkthrough = self.get_object()
        try:
            walkthrough_go_back(walkthrough=walkthrough)
        except WalkthroughError as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
        return self._response(walkthrough)

    @extend_schema(summary="Give up on the walkthrough", request=None,
                   responses={200: WalkthroughSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def abandon(self, request: Request, pk: str | None = None) -> Response:
        walkthrough = self.get_object()
        walkthrough_abandon(walkthrough=walkthrough)
        return self._response(walkthrough)

    @extend_schema(summary="The walkthrough's transcript", responses={200: TranscriptSerializer, **ERRORS})
    @action(detail=True, methods=["get"])
    def transcript(self, request: Request, pk: str | None = None) -> Response:
        walkthrough = self.get_object()
        return Response(TranscriptSerializer({"text": selectors.walkthrough_transcript(walkthrough),
                                              "incident_url": selectors.walkthrough_incident_url(walkthrough)}).data)
