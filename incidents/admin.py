from django.contrib import admin

from .models import (
    ActionItem,
    Attachment,
    Comment,
    EscalationLevel,
    EscalationRecord,
    Incident,
    OutboxMessage,
    PostIncidentReview,
    Severity,
    TimelineEvent,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(Severity)
class SeverityAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "rank", "response_target", "escalation_target")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin):
    list_display = ("order", "name", "email", "webhook_url", "active")
    list_editable = ("active",)


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    fields = ("created_at", "kind", "message", "important", "actor")
    readonly_fields = ("created_at", "kind", "message", "actor")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    # Status and timestamps change only through the services (conditional updates, timeline, outbox).
    list_display = ("id", "title", "system", "severity", "status", "created_at", "acknowledged_at", "resolved_at")
    list_filter = ("status", "severity", "system")
    search_fields = ("title", "what_happened")
    readonly_fields = ("status", "created_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")
    raw_id_fields = ("duplicate_of", "reporter", "commander", "resolved_by_article", "resolved_by_solution")
    filter_horizontal = ("assignees", "participants")
    inlines = [TimelineInline]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("incident", "author", "created_at")
    readonly_fields = ("body_html",)


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("name", "incident", "kind", "size", "created_at", "processed_at")
    readonly_fields = ("sha256", "size", "result")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "status", "attempts", "next_attempt_at", "created_at", "sent_at")
    list_filter = ("status", "topic")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "format", "active", "created_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "event", "url", "status", "attempts", "status_code", "created_at")
    list_filter = ("status", "event")


@admin.register(EscalationRecord)
class EscalationRecordAdmin(admin.ModelAdmin):
    list_display = ("incident", "level", "notified_at", "manual")


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0


@admin.register(PostIncidentReview)
class PostIncidentReviewAdmin(admin.ModelAdmin):
    list_display = ("incident", "author", "updated_at")
    inlines = [ActionItemInline]
