"""Alert sources (a monitoring system that sends us alerts) and the alerts they sent.

One `Alert` row per source and fingerprint (Alertmanager's fingerprint, an Events v2 `dedup_key`, ...):
the unique constraint is what makes a resend, a retry or two concurrent posts one alert and one incident.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

KEY_PREFIX_LENGTH = 8


def source_key_new() -> tuple[str, str]:
    """Return (prefix, full key). The key is shown once; only its SHA-256 is stored (as for API keys)."""
    prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
    # 32 characters in all, the length of a PagerDuty integration key, so Events v2 senders accept it.
    return prefix, f"{prefix}{secrets.token_hex(12)}"


def source_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AlertSource(models.Model):
    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GRAFANA = "grafana", "Grafana alerting"
        EVENTS_V2 = "events_v2", "Events API v2 (PagerDuty compatible)"
        GENERIC = "generic", "Generic JSON"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    system = models.ForeignKey("kb.System", on_delete=models.PROTECT, related_name="alert_sources",
                               help_text="Incidents go to this system unless a label names another.")
    severity = models.ForeignKey("incidents.Severity", on_delete=models.PROTECT, related_name="alert_sources",
                                 help_text="Severity unless a label maps to another.")
    system_label = models.CharField(max_length=100, default="service", blank=True,
                                    help_text="Label whose value is a system slug (empty: always the default).")
    severity_label = models.CharField(max_length=100, default="severity", blank=True,
                                      help_text="Label whose value picks the severity.")
    severity_map = models.JSONField(default=dict, blank=True,
                                    help_text='Label value -> severity slug, e.g. {"warning": "medium"}. '
                                              "Values that are severity slugs already need no entry.")
    field_paths = models.JSONField(default=dict, blank=True,
                                   help_text="Generic sources: dotted paths for fingerprint, title, status, "
                                             "description, system, severity, labels.")
    group_window = models.DurationField(default=timedelta(minutes=10),
                                        help_text="Alerts for the same system within this window join one incident.")
    key_prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    active = models.BooleanField(default=True)
    last_payload = models.JSONField(null=True, blank=True, editable=False)
    last_received_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.group_window is not None and self.group_window < timedelta(0):
            raise ValidationError({"group_window": "The grouping window cannot be negative."})
        if not isinstance(self.severity_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.severity_map.items()
        ):
            raise ValidationError({"severity_map": "Give an object of label value -> severity slug."})
        if not isinstance(self.field_paths, dict) or not all(isinstance(v, str) for v in self.field_paths.values()):
            raise ValidationError({"field_paths": "Give an object of field -> dotted path."})

    def key_matches(self, key: str) -> bool:
        return secrets.compare_digest(self.hashed_key, source_key_hash(key))


class Alert(models.Model):
    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=255)
    incident = models.ForeignKey("incidents.Incident", null=True, on_delete=models.SET_NULL, related_name="alerts")
    system_slug = models.SlugField(max_length=100, help_text="The system the alert was routed to (grouping key).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FIRING)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=40, blank=True)
    repeat_count = models.PositiveIntegerField(default=0, help_text="Notifications received after the first.")
    flap_count = models.PositiveIntegerField(default=0, help_text="Times it fired again after resolving.")
    payload = models.JSONField(default=dict, blank=True, help_text="The latest notification (bounded).")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True, editable=False,
                                       help_text="When a worker matched it against the knowledge base.")

    class Meta:
        ordering = ["-last_received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "fingerprint"], name="alerts_one_alert_per_fingerprint"),
        ]
        indexes = [models.Index(fields=["source", "system_slug", "-last_received_at"])]

    def __str__(self) -> str:
        return f"{self.source}: {self.title} ({self.status})"
