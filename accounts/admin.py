from django.contrib import admin

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "scopes", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "last_used_at", "created_at")
    search_fields = ("prefix", "name", "user__username")
