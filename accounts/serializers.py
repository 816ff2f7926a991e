"""API-key shapes: what a client sends to create one, and what it sees afterwards."""

from rest_framework import serializers

from .models import ApiKey, Scope


class ApiKeySerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(source="is_usable", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["prefix", "name", "scopes", "expires_at", "last_used_at", "revoked_at", "created_at", "is_active"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=True, default="")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), min_length=1, max_length=len(Scope.values)
    )
    expires_at = serializers.DateTimeField(allow_null=True, default=None)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown only in this response; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
