"""Shapes for the diagnostics API; rules live in the model's validation, called by the services."""

from rest_framework import serializers

from ..models import Check, CheckRun, CheckState, CheckStateChange

STATE_FIELDS = ["current_state", "state_changed_at", "last_state", "last_message", "last_run_at"]


def blank_state(help_text: str) -> serializers.ChoiceField:
    """A state that is "" until there is one; the schema says so (enum or blank) instead of a bare enum."""
    return serializers.ChoiceField(choices=CheckState.choices, allow_blank=True, read_only=True, help_text=help_text)


class CheckSerializer(serializers.ModelSerializer):
    parameters = serializers.DictField(required=False, help_text="Per-type options; secrets only as env:NAME.")
    conditions = serializers.ListField(child=serializers.CharField(max_length=500), required=False,
                                       help_text="Condition language, e.g. [STATUS] == 200 (see docs/checks.md).")
    is_monitor = serializers.BooleanField(read_only=True)
    current_state = blank_state("The judged state; empty until the first run.")
    last_state = blank_state("The newest run's state; empty until the first run.")

    class Meta:
        model = Check
        fields = [
            "id", "name", "slug", "description", "type", "target", "parameters", "conditions", "timeout_seconds",
            "retries", "warning_threshold", "critical_threshold", "enabled", "interval_seconds",
            "failure_threshold", "success_threshold", "is_monitor", *STATE_FIELDS, "created_at", "updated_at",
        ]
        read_only_fields = ["id", *STATE_FIELDS, "created_at", "updated_at"]
        # Uniqueness and everything else is checked by the model's full_clean() inside the services.
        extra_kwargs = {"slug": {"validators": []}}


class CheckRunSerializer(serializers.ModelSerializer):
    check = serializers.IntegerField(source="check_def_id", read_only=True)
    check_name = serializers.CharField(source="check_def.name", read_only=True)
    metrics = serializers.ListField(child=serializers.DictField(), read_only=True,
                                    help_text="[{name, value, unit, warn, crit}]")
    evidence = serializers.DictField(read_only=True, help_text="What the probe saw; never contains secrets.")
    state = blank_state("The run's result; empty while it is queued or running.")

    class Meta:
        model = CheckRun
        fields = ["id", "check", "check_name", "batch", "trigger", "status", "state", "message", "metrics",
                  "evidence", "duration_ms", "attempts", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class RunsQueuedSerializer(serializers.Serializer):
    batch = serializers.UUIDField()
    runs = serializers.ListField(child=serializers.IntegerField(), help_text="Poll /api/v1/check-runs/{id}/.")


class MonitorSerializer(serializers.ModelSerializer):
    uptime_24h = serializers.SerializerMethodField(help_text="Percent of judged runs (UNKNOWN excluded) that "
                                                             "were OK or WARNING in the last 24 hours.")
    recent = serializers.ListField(child=serializers.ListField(), read_only=True,
                                   help_text="Newest results, oldest first, as [state, duration_ms].")
    current_state = blank_state("The judged state; empty until the first run.")
    last_state = blank_state("The newest run's state; empty until the first run.")

    class Meta:
        model = Check
        fields = ["id", "name", "slug", "type", "target", "enabled", "interval_seconds", "failure_threshold",
                  "success_threshold", *STATE_FIELDS, "uptime_24h", "recent"]
        read_only_fields = fields

    def get_uptime_24h(self, check: Check) -> float | None:
        judged = getattr(check, "judged_runs", 0)
        return round(100 * check.up_runs / judged, 2) if judged else None


class CheckStateChangeSerializer(serializers.ModelSerializer):
    check = serializers.IntegerField(source="check_def_id", read_only=True)
    check_name = serializers.CharField(source="check_def.name", read_only=True)
    run = serializers.IntegerField(source="run_id", read_only=True, allow_null=True)
    from_state = blank_state("The state before; empty for a check's first judgement.")

    class Meta:
        model = CheckStateChange
        fields = ["id", "check", "check_name", "run", "from_state", "to_state", "message", "created_at"]
        read_only_fields = fields
