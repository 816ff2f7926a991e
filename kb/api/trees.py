"""`/api/v1/trees/` (staff CRUD, YAML in and out) and `/api/v1/walkthroughs/` (so a bot can drive a tree).

A chat bot starts a walkthrough (`POST /walkthroughs/ {"tree": id, "context": {"host", "port"}}`), shows
`current.prompt` with `current.options`, and answers with `POST /walkthroughs/{id}/answer/ {"choice"}`.
While `current.check_pending` is true the step's check is still running: read the walkthrough again
(it moves on by itself once the check has an answer), or answer it yourself.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, parsers, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.parsers import request_size_check
from accounts.permissions import ReadPublicWriteScoped, StaffWritesOnly
from diagnostics.models import CheckRun

from .. import trees
from ..tree_models import DecisionTree, TreeNode, Walkthrough, WalkthroughStep
from ..trees import TreeInvalid, WalkthroughError

ERRORS = {
    400: OpenApiResponse(description="Invalid input; `fields` holds the messages (for YAML: one per problem)."),
    401: OpenApiResponse(description="Missing, malformed, expired or revoked credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed (scope, staff, or not your walkthrough)."),
    404: OpenApiResponse(description="No such tree or walkthrough, or not visible to you."),
}


class YAMLTextParser(parsers.BaseParser):
    """`Content-Type: application/yaml`: the body is the tree's YAML document."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> dict:
        request_size_check(parser_context)
        data = stream.read(trees.MAX_YAML_BYTES + 1) if stream is not None else b""
        if len(data) > trees.MAX_YAML_BYTES:
            raise exceptions.ParseError(f"The YAML is larger than {trees.MAX_YAML_BYTES // 1024} kB.")
        try:
            return {"yaml": data.decode("utf-8-sig")}
        except UnicodeDecodeError:
            raise exceptions.ParseError("The YAML is not UTF-8 text.") from None


class YAMLTextRenderer(renderers.BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        text = data if isinstance(data, str) else trees.yaml_dump(data if isinstance(data, dict) else {"data": data})
        return text.encode("utf-8")


# --- serializers ---------------------------------------------------------------------------------------


class TreeNodeSerializer(serializers.ModelSerializer):
    check = serializers.SlugRelatedField(source="check_def", slug_field="slug", read_only=True, allow_null=True)
    article = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    solution = serializers.SlugRelatedField(slug_field="title", read_only=True, allow_null=True)
    linked_tree = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    next = serializers.CharField(source="next_key", read_only=True)
    target = serializers.CharField(source="check_target", read_only=True)

    class Meta:
        model = TreeNode
        fields = ["key", "kind", "title", "prompt", "prompt_html", "answers", "check", "target", "branches",
                  "article", "solution", "next", "linked_tree", "severity"]
        read_only_fields = fields


class TreeListSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    url = serializers.SerializerMethodField(help_text="The tree's page in the web UI.")

    class Meta:
        model = DecisionTree
        fields = ["id", "system", "slug", "title", "status", "revision", "url", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, tree: DecisionTree) -> str:
        return tree.get_absolute_url()


class TreeSerializer(TreeListSerializer):
    entry = serializers.SlugRelatedField(source="entry_node", slug_field="key", read_only=True, allow_null=True)
    symptoms = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Symptom ids it handles.")
    nodes = TreeNodeSerializer(many=True, read_only=True)

    class Meta(TreeListSerializer.Meta):
        fields = [*TreeListSerializer.Meta.fields, "description", "description_html", "symptoms", "entry", "nodes"]
        read_only_fields = fields


class TreeYAMLSerializer(serializers.Serializer):
    yaml = serializers.CharField(trim_whitespace=False, max_length=trees.MAX_YAML_BYTES,
                                 help_text="The tree as YAML (the format GET /trees/{id}/yaml/ returns).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=255, default="",
                                 help_text="What changed; kept with the revision.")


class OptionSerializer(serializers.Serializer):
    choice = serializers.CharField(help_text="Send this (or the label) as `choice` to answer.")
    label = serializers.CharField()


class StepSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="This step's page in the web UI.")

    class Meta:
        model = WalkthroughStep
        fields = ["order", "node_key", "node_label", "node_kind", "choice", "answer", "answered_by_check",
                  "check_state", "check_message", "check_run", "entered_at", "left_at", "url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, step: WalkthroughStep) -> str:
        return step.walkthrough.step_url(step.order)


class CurrentStepSerializer(serializers.Serializer):
    step = StepSerializer()
    prompt = serializers.CharField(help_text="Markdown.")
    prompt_html = serializers.CharField()
    options = OptionSerializer(many=True)
    check_pending = serializers.BooleanField(help_text="The step's check is still running; read again shortly.")
    check_name = serializers.CharField(allow_null=True)
    can_rerun = serializers.BooleanField(help_text="`choice: rerun` runs the check again.")
    article_title = serializers.CharField(allow_null=True)
    article_url = serializers.CharField(allow_null=True)
    solution_title = serializers.CharField(allow_null=True)
    solution_steps = serializers.CharField(allow_null=True, help_text="Markdown.")


class ContextSerializer(serializers.Serializer):
    host = serializers.CharField(required=False, allow_blank=True, max_length=253)
    port = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=65535)
    line = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                 help_text="The log line the values came from; host and port are read from it "
                                           "when not given.")
    symptom = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class WalkthroughStartSerializer(serializers.Serializer):
    tree = serializers.PrimaryKeyRelatedField(queryset=DecisionTree.objects.all(), help_text="Tree id.")
    context = ContextSerializer(required=False)


class AnswerSerializer(serializers.Serializer):
    choice = serializers.CharField(max_length=200, help_text="An option's `choice` or label, or `rerun`.")
    step = serializers.IntegerField(required=False, min_value=1,
                                    help_text="The step to answer; an earlier one changes that answer. "
                                              "Default: the current step.")


class WalkthroughSerializer(serializers.ModelSerializer):
    tree = serializers.PrimaryKeyRelatedField(read_only=True)
    tree_title = serializers.CharField(source="tree.title", read_only=True)
    system = serializers.CharField(source="tree.system.slug", read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    steps = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField(help_text="The step waiting for an answer; null once finished.")
    incident_url = serializers.SerializerMethodField(help_text="The prefilled incident form, once escalated.")
    continued_in = serializers.SerializerMethodField(help_text="The walkthrough a link node started.")
    url = serializers.SerializerMethodField(help_text="The walkthrough in the web UI.")

    class Meta:
        model = Walkthrough
        fields = ["id", "tree", "tree_title", "system", "tree_revision", "user", "outcome", "exit_node_key",
                  "context", "parent", "started_at", "finished_at", "url", "steps", "current", "incident_url",
                  "continued_in"]
        read_only_fields = fields

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, walkthrough: Walkthrough) -> list[dict]:
        return StepSerializer(trees.walkthrough_steps(walkthrough), many=True).data

    @extend_schema_field(CurrentStepSerializer(allow_null=True))
    def get_current(self, walkthrough: Walkthrough) -> dict | None:
        step = trees.walkthrough_current(walkthrough)
        if step is None or step.is_answered:
            return None
        node = trees.tree_nodes(walkthrough.tree).get(step.node_key)
        run = step.check_run
        return CurrentStepSerializer({
            "step": step, "prompt": node.prompt if node else "", "prompt_html": node.prompt_html if node else "",
            "options": [{"choice": o.choice, "label": o.label} for o in trees.node_options(node)] if node else [],
            "check_pending": bool(run and not run.is_done and step.auto_answer),
            "check_name": run.check_def.name if run else (node.check_def.name if node and node.check_def else None),
            "can_rerun": bool(node and node.kind == TreeNode.Kind.CHECK and node.check_def_id),
            "article_title": node.article.title if node and node.article else None,
            "article_url": node.article.get_absolute_url() if node and node.article else None,
            "solution_title": node.solution.title if node and node.solution else None,
            "solution_steps": node.solution.steps if node and node.solution else None,
        }).data

    @extend_schema_field(OpenApiTypes.STR)
    def get_incident_url(self, walkthrough: Walkthrough) -> str | None:
        if walkthrough.outcome != Walkthrough.Outcome.ESCALATED:
            return None
        return trees.walkthrough_incident_url(walkthrough)

    @extend_schema_field(OpenApiTypes.INT)
    def get_continued_in(self, walkthrough: Walkthrough) -> int | None:
        if walkthrough.outcome != Walkthrough.Outcome.LINKED:
            return None
        child = walkthrough.children.order_by("-pk").first()
        return child.pk if child else None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, walkthrough: Walkthrough) -> str:
        return walkthrough.get_absolute_url()


class TranscriptSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="Plain text, as attached to an incident timeline.")
    incident_url = serializers.CharField(allow_null=True, help_text="The incident form prefilled with it.")


# --- trees ---------------------------------------------------------------------------------------------


class TreeFilterSet(filters.FilterSet):
    system = filters.CharFilter(field_name="system__slug", help_text="System slug.")
    status = filters.ChoiceFilter(choices=DecisionTree.Status.choices)

    class Meta:
        model = DecisionTree
        fields = ["system", "status"]


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
        queryset = trees.tree_list(user=self.request.user)
        if self.action == "retrieve":
            queryset = queryset.select_related("entry_node").prefetch_related("symptoms", "nodes__check_def",
                                                                             "nodes__article", "nodes__solution")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("create", "update"):
            return TreeYAMLSerializer
        return TreeListSerializer if self.action == "list" else TreeSerializer

    def _import(self, request: Request, tree: DecisionTree | None) -> trees.TreeImportResult:
        serializer = TreeYAMLSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return trees.tree_import_yaml(
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
        trees.tree_delete(tree=instance)

    @extend_schema(summary="The tree as YAML", responses={(200, "application/yaml"): OpenApiTypes.STR, 404: ERRORS[404]})
    @action(detail=True, methods=["get"], renderer_classes=[YAMLTextRenderer, renderers.JSONRenderer])
    def yaml(self, request: Request, pk: str | None = None) -> Response:
        return Response(trees.tree_export_yaml(self.get_object()), content_type="application/yaml; charset=utf-8")


# --- walkthroughs --------------------------------------------------------------------------------------


class WalkthroughAccess(ReadPublicWriteScoped):
    """Signed in (a key needs read to look, write to answer); only the walker or staff may answer."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user.is_authenticated:
            return False
        return super().has_permission(request, view)

    def has_object_permission(self, request: Request, view: Any, obj: Walkthrough) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.message = "Only the person walking this tree (or staff) can answer it."
        return trees.walkthrough_is_owner(obj, user=request.user, session_key=None)


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
            return trees.walkthrough_list(user=self.request.user)
        # Like a shared link in the web UI: any signed-in colleague may look at a walkthrough.
        return Walkthrough.objects.select_related("tree__system", "user").filter(
            tree__in=trees.tree_list(user=self.request.user))

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
        if not trees.tree_list(user=request.user).filter(pk=tree.pk).exists():
            raise exceptions.ValidationError({"tree": ["No such tree."]})
        context = dict(serializer.validated_data.get("context") or {})
        found = trees.context_from_text(context.get("line") or "")
        context["host"] = context.get("host") or found.get("host", "")
        context["port"] = context.get("port") or found.get("port", "")
        try:
            walkthrough = trees.walkthrough_start(tree=tree, user=request.user, context=context,
                                                  trigger=CheckRun.Trigger.API)
        except WalkthroughError as exc:
            raise exceptions.ValidationError({"tree": [str(exc)]}) from None
        return self._response(walkthrough, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        walkthrough = self.get_object()
        if trees.walkthrough_is_owner(walkthrough, user=request.user, session_key=None):
            for _ in range(10):
                if trees.walkthrough_check_settle(walkthrough=walkthrough, user=request.user) is None:
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
            result = trees.walkthrough_answer(walkthrough=walkthrough, step_number=number,
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
            trees.walkthrough_go_back(walkthrough=walkthrough)
        except WalkthroughError as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
        return self._response(walkthrough)

    @extend_schema(summary="Give up on the walkthrough", request=None,
                   responses={200: WalkthroughSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def abandon(self, request: Request, pk: str | None = None) -> Response:
        walkthrough = self.get_object()
        trees.walkthrough_abandon(walkthrough=walkthrough)
        return self._response(walkthrough)

    @extend_schema(summary="The walkthrough's transcript", responses={200: TranscriptSerializer, **ERRORS})
    @action(detail=True, methods=["get"])
    def transcript(self, request: Request, pk: str | None = None) -> Response:
        walkthrough = self.get_object()
        return Response(TranscriptSerializer({"text": trees.walkthrough_transcript(walkthrough),
                                              "incident_url": trees.walkthrough_incident_url(walkthrough)}).data)
