"""Shapes in and out of the incidents API. Serializers check shape only; rules live in incidents.services."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kb.models import Article, Solution, System

from ..models import (
    Attachment,
    Comment,
    EscalationLevel,
    EscalationRecord,
    Incident,
    Severity,
    TimelineEvent,
    WebhookDelivery,
    WebhookEndpoint,
    title_line_problem,
)
from ..webhooks import outbound_url_problem

User = get_user_model()


class UsernameField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("slug_field", "username")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", User.objects.filter(is_active=True))
        super().__init__(**kwargs)


class SeveritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Severity
        fields = ["id", "name", "slug", "rank", "response_target", "escalation_target"]

    def validate(self, attrs: dict) -> dict:
        # The model's clean() holds the rule (escalation later than response); check the merged result.
        fields = ("name", "slug", "rank", "response_target", "escalation_target")
        values = {f: getattr(self.instance, f) for f in fields} if self.instance else {}
        Severity(**{**values, **attrs}).clean()
        return attrs


class EscalationLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationLevel
        fields = ["id", "order", "name", "email", "webhook_url", "webhook_secret", "active"]
        extra_kwargs = {"webhook_secret": {"write_only": True}}

    def validate_webhook_url(self, value: str) -> str:
        return _outbound_url(value)

    def to_representation(self, instance: EscalationLevel) -> dict:
        data = super().to_representation(instance)
        request = self.context.get("request")
        # A hook URL often carries its own token (Slack, pager): only staff see it.
        if request is None or not request.user.is_staff:
            data["webhook_url"] = ""
        return data


class IncidentSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    severity = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    reporter = UsernameField(read_only=True)
    commander = UsernameField(read_only=True)
    assignees = UsernameField(many=True, read_only=True)
    participants = UsernameField(many=True, read_only=True)
    symptoms = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id", "url", "title", "system", "severity", "status", "what_happened", "expected",
            "steps_to_reproduce", "env_os", "env_runtime", "env_deployment", "env_app_version", "reporter",
            "commander", "assignees", "participants", "symptoms", "duplicate_of", "resolved_by_article",
            "resolved_by_solution", "resolution_note", "checks_override_reason", "created_at", "updated_at",
            "acknowledged_at", "mitigated_at", "resolved_at", "closed_at",
        ]
        read_only_fields = fields

    def get_url(self, incident: Incident) -> str:
        return incident.get_absolute_url()


def _single_line_title(value: str) -> None:
    problem = title_line_problem(value)
    if problem:
        raise serializers.ValidationError(problem)


class IncidentCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, validators=[_single_line_title])
    system = serializers.SlugRelatedField(slug_field="slug", queryset=System.objects.all())
    severity = serializers.SlugRelatedField(slug_field="slug", queryset=Severity.objects.all())
    what_happened = serializers.CharField(max_length=50_000)
    expected = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    steps_to_reproduce = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    env_os = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    env_runtime = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    env_deployment = serializers.ChoiceField(choices=Incident.Deployment.choices, required=False, default="")
    env_app_version = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    pasted_logs = serializers.CharField(max_length=5_000_000, required=False, allow_blank=True, default="",
                                        trim_whitespace=False)
    transcript = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")


class IncidentUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, validators=[_single_line_title])
    system = serializers.SlugRelatedField(slug_field="slug", queryset=System.objects.all(), required=False)
    severity = serializers.SlugRelatedField(slug_field="slug", queryset=Severity.objects.all(), required=False)
    commander = UsernameField(required=False, allow_null=True)
    assignees = UsernameField(many=True, required=False)
    what_happened = serializers.CharField(max_length=50_000, required=False)
    expected = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    steps_to_reproduce = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    env_os = serializers.CharField(max_length=120, required=False, allow_blank=True)
    env_runtime = serializers.CharField(max_length=255, required=False, allow_blank=True)
    env_deployment = serializers.ChoiceField(choices=Incident.Deployment.choices, required=False)
    env_app_version = serializers.CharField(max_length=80, required=False, allow_blank=True)


class CommentSerializer(serializers.ModelSerializer):
    author = UsernameField(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "body_html", "created_at"]
        read_only_fields = fields


class CommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20_000)


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = UsernameField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "kind", "size", "sha256", "content_type", "uploaded_by", "created_at",
                  "processed_at", "result", "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return reverse("incidents:attachment", kwargs={"pk": attachment.incident_id, "attachment_id": attachment.pk})


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)


class TimelineEventSerializer(serializers.ModelSerializer):
    actor = UsernameField(read_only=True)

    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "message", "data", "important", "actor", "created_at"]
        read_only_fields = fields


@extend_schema_field({"type": "string", "enum": Incident.Status.values,
                      "description": "The status to move to (resolve has its own action)."})
class TargetStatusField(serializers.ChoiceField):
    """Inline enum in the schema, so it does not compete with Incident.status for a component name."""


class TransitionSerializer(serializers.Serializer):
    status = TargetStatusField(choices=Incident.Status.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    duplicate_of = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all(), required=False,
                                                      allow_null=True, default=None)


class ResolveSerializer(serializers.Serializer):
    article = serializers.PrimaryKeyRelatedField(queryset=Article.objects.all(), required=False, allow_null=True,
                                                 default=None)
    solution = serializers.PrimaryKeyRelatedField(queryset=Solution.objects.all(), required=False,
                                                  allow_null=True, default=None)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                            help_text="Required when checks are still failing.")


class ActionResultSerializer(serializers.Serializer):
    changed = serializers.BooleanField(help_text="False when someone else already made this change.")
    incident = IncidentSerializer()


class EscalationRecordSerializer(serializers.ModelSerializer):
    level = serializers.CharField(source="level.name")
    order = serializers.IntegerField(source="level.order")

    class Meta:
        model = EscalationRecord
        fields = ["id", "level", "order", "notified_at", "manual"]


class EscalateResultSerializer(serializers.Serializer):
    escalated = serializers.BooleanField()
    record = EscalationRecordSerializer(allow_null=True)


class CheckOutcomeSerializer(serializers.Serializer):
    check_id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["ok", "warning", "critical", "unknown"])
    message = serializers.CharField()
    run_id = serializers.IntegerField(allow_null=True)


class VerifyResultSerializer(serializers.Serializer):
    checks_available = serializers.BooleanField()
    results = CheckOutcomeSerializer(many=True)
    still_failing = serializers.IntegerField()


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEndpoint.Event.choices),
                                   required=False, help_text="Empty: every event.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "secret", "events", "active", "format", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"secret": {"write_only": True, "min_length": 16}}

    def validate_url(self, value: str) -> str:
        return _outbound_url(value)


def _outbound_url(value: str) -> str:
    """Webhook and escalation-hook URLs are vetted like check targets (updates skip the model's clean)."""
    problem = outbound_url_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "url", "status", "attempts", "status_code", "response_excerpt", "error",
                  "history", "next_attempt_at", "delivered_at", "created_at"]
        read_only_fields = fields
