"""Incidents: filed by users, worked by responders, learned from in reviews.

State changes go through `incidents.services` (conditional UPDATEs); models hold shape and small helpers only.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .webhooks import outbound_url_problem


class Severity(models.Model):
    """How bad an incident is, and how fast someone must answer it. Edited by admins."""

    name = models.CharField(max_length=40, unique=True)
    slug = models.SlugField(max_length=40, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="1 is the most severe.")
    response_target = models.DurationField(help_text="Time to acknowledge before the first escalation level is notified.")
    escalation_target = models.DurationField(
        null=True, blank=True,
        help_text="Every multiple of this (from filing) notifies the next level. Empty: never beyond the first.",
    )

    class Meta:
        ordering = ["rank"]
        verbose_name_plural = "severities"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.response_target is not None and self.response_target <= timedelta(0):
            raise ValidationError({"response_target": "The response target must be positive."})
        if (
            self.escalation_target is not None
            and self.response_target is not None
            and self.escalation_target <= self.response_target
        ):
            raise ValidationError({"escalation_target": "The escalation target must be later than the response target."})


def title_line_problem(title: str) -> str:
    """A title goes into email subjects and chat lines: one line, no control characters ("" when fine)."""
    if any(ch in "\u2028\u2029\x85" or (ord(ch) < 32 or ord(ch) == 127) for ch in title or ""):
        return "The title must be a single line (no line breaks or control characters)."
    return ""


class Incident(models.Model):
    class Status(models.TextChoices):
        TRIAGE = "triage", "Triage"
        INVESTIGATING = "investigating", "Investigating"
        MITIGATED = "mitigated", "Mitigated"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"
        DUPLICATE = "duplicate", "Duplicate"

    class Deployment(models.TextChoices):
        UNKNOWN = "", "Unknown"
        DOCKER = "docker", "Docker"
        COMPOSE = "compose", "Docker Compose"
        KUBERNETES = "kubernetes", "Kubernetes"
        SYSTEMD = "systemd", "systemd service"
        BARE = "bare", "Bare process / dev server"
        OTHER = "other", "Other"

    title = models.CharField(max_length=200)
    system = models.ForeignKey("kb.System", on_delete=models.PROTECT, related_name="incidents")
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="incidents")
    what_happened = models.TextField()
    expected = models.TextField(blank=True)
    steps_to_reproduce = models.TextField(blank=True)
    env_os = models.CharField("operating system", max_length=120, blank=True)
    env_runtime = models.CharField("runtime versions", max_length=255, blank=True,
                                   help_text="e.g. Python 3.11.9, Node 20.12, PostgreSQL 16")
    env_deployment = models.CharField("deployment method", max_length=20, choices=Deployment.choices, blank=True)
    env_app_version = models.CharField("app version", max_length=80, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIAGE)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="duplicates")

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="reported_incidents")
    commander = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="commanded_incidents")
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assigned_incidents")
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                          related_name="participating_incidents")
    # Symptoms the matcher found in the report or its attachments (shared symptoms make incidents similar).
    symptoms = models.ManyToManyField("kb.Symptom", blank=True, related_name="incidents")

    # Resolution; the related names let kb rank by outcomes without importing this app.
    resolved_by_article = models.ForeignKey("kb.Article", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="resolved_incidents")
    resolved_by_solution = models.ForeignKey("kb.Solution", null=True, blank=True, on_delete=models.SET_NULL,
                                             related_name="resolved_incidents")
    resolution_note = models.TextField(blank=True)
    checks_override_reason = models.TextField(blank=True,
                                              help_text="Why it was resolved while checks were still failing.")

    # A default rather than auto_now_add so imports and tests can set the filing time.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True, editable=False)
    mitigated_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["system", "-created_at"]),
            models.Index(fields=["reporter", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        try:
            return reverse("incidents:detail", kwargs={"pk": self.pk})
        except NoReverseMatch:  # API-only deployments do not mount the web UI
            return f"/incidents/{self.pk}/"

    def clean(self) -> None:
        problem = title_line_problem(self.title)
        if problem:
            raise ValidationError({"title": problem})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


OPEN_STATUSES = (Incident.Status.TRIAGE, Incident.Status.INVESTIGATING, Incident.Status.MITIGATED)


class Comment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False, help_text="Sanitised HTML rendered on write.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on #{self.incident_id} by {self.author}"


class TimelineEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", "Filed"
        STATUS = "status", "Status changed"
        FIELD = "field", "Field changed"
        COMMENT = "comment", "Comment"
        SYMPTOM = "symptom", "Symptom matched"
        CHECK = "check", "Check run"
        ATTACHMENT = "attachment", "Attachment"
        ARTICLE = "article", "Article linked"
        ESCALATION = "escalation", "Escalated"
        NOTIFICATION = "notification", "Notification"
        TRANSCRIPT = "transcript", "Walkthrough transcript"
        REVIEW = "review", "Review"
        NOTE = "note", "Note"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    important = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.kind}: {self.message[:60]}"


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # The stored name is ours; the user's filename is kept in `name` for display only.
    return f"incidents/{timezone.now():%Y/%m}/{instance.sha256[:16] or 'file'}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        LOG = "log", "Log"
        BUNDLE = "bundle", "Diagnostic bundle"
        OTHER = "other", "Other"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What processing found: matched symptoms, bundle members, skipped members and why.
    result = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """Follow-up work written in the same transaction as the change; a relay publishes it to Celery."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    topic = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    # When a worker started handling it; a claim older than the dispatch task's time limit plus a margin
    # belongs to a worker that died, and the relay hands the message out again.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.topic} ({self.status})"


class WebhookEndpoint(models.Model):
    class Event(models.TextChoices):
        CREATED = "incident.created", "Incident created"
        ACKNOWLEDGED = "incident.acknowledged", "Incident acknowledged"
        ESCALATED = "incident.escalated", "Incident escalated"
        RESOLVED = "incident.resolved", "Incident resolved"

    class Format(models.TextChoices):
        JSON = "json", "Signed JSON"
        SLACK = "slack", "Slack / Mattermost message"
        TEAMS = "teams", "Microsoft Teams (Adaptive Card)"

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Shared secret for the HMAC-SHA256 signature.")
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.JSON,
                              help_text="Chat formats post a message built from the incident instead of the JSON event.")
    events = models.JSONField(default=list, help_text="Event names; empty means all.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = sorted(set(self.events or []) - set(self.Event.values))
        if unknown:
            raise ValidationError({"events": f"Unknown events: {', '.join(unknown)}."})
        problem = outbound_url_problem(self.url)
        if problem:
            raise ValidationError({"url": problem})

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class EscalationLevel(models.Model):
    """Ordered, severity-independent: on-call first, then manager, and so on."""

    order = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def clean(self) -> None:
        problem = outbound_url_problem(self.webhook_url)
        if problem:
            raise ValidationError({"webhook_url": problem})


class EscalationRecord(models.Model):
    """One row per incident and level: the unique constraint is what makes escalation once per level."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="escalations")
    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="records")
    notified_at = models.DateTimeField()
    manual = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["incident", "level__order"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "level"], name="incidents_escalation_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} -> {self.level}"


class WebhookDelivery(models.Model):
    """One event sent to one URL: the delivery log, with every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="deliveries")
    escalation_level = models.ForeignKey(EscalationLevel, null=True, blank=True, on_delete=models.CASCADE,
                                         related_name="deliveries")
    outbox_message = models.ForeignKey(OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="deliveries")
    event = models.CharField(max_length=60)
    url = models.URLField(max_length=500)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    history = models.JSONField(default=list, blank=True, help_text="One entry per attempt.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # A relayed message is turned into deliveries at most once per target, even if relayed twice.
            models.UniqueConstraint(fields=["outbox_message", "endpoint"], name="incidents_delivery_once_per_endpoint",
                                    condition=models.Q(endpoint__isnull=False, outbox_message__isnull=False)),
            models.UniqueConstraint(fields=["outbox_message", "escalation_level"],
                                    name="incidents_delivery_once_per_level",
                                    condition=models.Q(escalation_level__isnull=False, outbox_message__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.url} ({self.status})"


class PostIncidentReview(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    summary = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Review of #{self.incident_id}"


class ActionItem(models.Model):
    review = models.ForeignKey(PostIncidentReview, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="incident_action_items")
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["done", "due_date", "id"]
        indexes = [models.Index(fields=["done", "due_date"])]

    def __str__(self) -> str:
        return self.title


class IdempotencyKey(models.Model):
    """The first response to a POST carrying `Idempotency-Key`; a retry with the same key gets it back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="incidents_idempotency_key_per_user")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
