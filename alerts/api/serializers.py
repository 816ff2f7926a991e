from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .. import bridge
from ..models import AlertSource
from ..urls_paths import receive_url


class AlertSourceSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=bridge.System.objects.all())
    severity = serializers.SlugRelatedField(slug_field="slug", queryset=bridge.Severity.objects.all())
    receive_url = serializers.SerializerMethodField(help_text="Where the sender posts; <key> stands for the key.")

    class Meta:
        model = AlertSource
        fields = ["id", "name", "kind", "system", "severity", "system_label", "severity_label", "severity_map",
                  "field_paths", "group_window", "active", "receive_url", "last_received_at", "created_at"]
        read_only_fields = ["last_received_at", "created_at"]

    def get_receive_url(self, source: AlertSource) -> str:
        return receive_url(source)

    def validate_kind(self, value: str) -> str:
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError("The kind of a source cannot change; add another source.")
        return value

    def validate(self, attrs: dict) -> dict:
        """The model's own rules (maps are objects of strings, the window is not negative), for a create
        and for a PATCH alike: a bad map saved here would fail every later alert of the source."""
        values = {field: getattr(self.instance, field) for field in ("group_window", "severity_map", "field_paths")
                  } if self.instance is not None else {}
        values.update({k: v for k, v in attrs.items() if k in ("group_window", "severity_map", "field_paths")})
        candidate = AlertSource(**{"group_window": None, "severity_map": {}, "field_paths": {}, **values})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class AlertSourceCreatedSerializer(AlertSourceSerializer):
    key = serializers.CharField(help_text="The secret key, shown only in this answer.")
    events_v2_base_url = serializers.CharField(required=False)

    class Meta(AlertSourceSerializer.Meta):
        fields = AlertSourceSerializer.Meta.fields + ["key", "events_v2_base_url"]


class OutcomeSerializer(serializers.Serializer):
    fingerprint = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["opened", "grouped", "repeated", "reopened", "resolved",
                                               "acknowledged", "ignored"])
    alert_id = serializers.IntegerField(allow_null=True)
    incident_id = serializers.IntegerField(allow_null=True)


class AcceptedSerializer(serializers.Serializer):
    status = serializers.CharField()
    alerts = OutcomeSerializer(many=True)


class EventsV2AcceptedSerializer(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    dedup_key = serializers.CharField()


class EventsV2ErrorSerializer(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.ListField(child=serializers.CharField())
