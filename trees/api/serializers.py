"""Shapes of the trees API: trees and nodes (read), YAML in, walkthroughs with their current step."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..limits import MAX_YAML_BYTES
from ..models import DecisionTree, TreeNode, Walkthrough, WalkthroughStep
from ..options import node_options
from ..selectors import tree_nodes, walkthrough_current, walkthrough_incident_url, walkthrough_steps


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
    yaml = serializers.CharField(trim_whitespace=False, max_length=MAX_YAML_BYTES,
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
        return StepSerializer(walkthrough_steps(walkthrough), many=True).data

    @extend_schema_field(CurrentStepSerializer(allow_null=True))
    def get_current(self, walkthrough: Walkthrough) -> dict | None:
        step = walkthrough_current(walkthrough)
        if step is None or step.is_answered:
            return None
        nodes = tree_nodes(walkthrough.tree)
        node = nodes.get(step.node_key)
        run = step.check_run
        return CurrentStepSerializer({
            "step": step, "prompt": node.prompt if node else "", "prompt_html": node.prompt_html if node else "",
            "options": [{"choice": o.choice, "label": o.label} for o in node_options(node, nodes=nodes)] if node else [],
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
        return walkthrough_incident_url(walkthrough)

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
