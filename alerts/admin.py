from django.contrib import admin

from .models import Alert, AlertSource


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "system", "severity", "group_window", "active", "last_received_at"]
    list_filter = ["kind", "active"]
    readonly_fields = ["key_prefix", "last_payload", "last_received_at", "created_at"]
    exclude = ["hashed_key"]

    def has_add_permission(self, request) -> bool:
        return False  # a key is made and shown once by the sources page or the API


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "status", "incident", "repeat_count", "flap_count", "last_received_at"]
    list_filter = ["status", "source"]
    search_fields = ["title", "fingerprint"]
    raw_id_fields = ["incident"]
