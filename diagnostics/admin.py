from django.contrib import admin

from .models import Check, CheckRun, CheckStateChange, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "seen_at"]


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "type", "target", "enabled", "interval_seconds", "current_state", "last_run_at"]
    list_filter = ["type", "enabled", "current_state"]
    search_fields = ["name", "slug", "target"]
    readonly_fields = ["current_state", "state_changed_at", "last_state", "last_message", "last_run_at"]


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin):
    list_display = ["id", "check_def", "status", "state", "message", "duration_ms", "created_at"]
    list_filter = ["status", "state", "trigger"]
    raw_id_fields = ["check_def", "requested_by"]
    list_select_related = ["check_def"]


@admin.register(CheckStateChange)
class CheckStateChangeAdmin(admin.ModelAdmin):
    list_display = ["check_def", "from_state", "to_state", "created_at"]
    list_select_related = ["check_def"]
    raw_id_fields = ["check_def", "run"]
