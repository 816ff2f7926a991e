import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse


class WorkerHeartbeat(models.Model):
    """Written by each Celery worker that runs the heartbeat task; /health/ reads the newest."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%H:%M:%S}"


class CheckType(models.TextChoices):
    HTTP = "http", "HTTP(S)"
    TCP = "tcp", "TCP connect"
    DNS = "dns", "DNS resolve"
    TLS = "tls", "TLS certificate expiry"
    POSTGRES = "postgres", "PostgreSQL"
    REDIS = "redis", "Redis"
    DISK = "disk", "Disk usage"
    MEMORY = "memory", "Memory usage"
    LOGFILE = "logfile", "Log file"


class CheckState(models.TextChoices):
    """Nagios' four states; UNKNOWN means the check itself could not run, not that the target is broken."""

    OK = "ok", "OK"
    WARNING = "warning", "WARNING"
    CRITICAL = "critical", "CRITICAL"
    UNKNOWN = "unknown", "UNKNOWN"


class Check(models.Model):
    """One thing to verify: a probe of ``type`` against ``target``, judged by conditions and thresholds.

    A check with ``interval_seconds`` set is a monitor: the scheduler runs it on that interval, and its
    ``current_state`` only changes after ``failure_threshold`` (or ``success_threshold``) results in a row
    agree, so a flapping target does not flood its history of state changes.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True, help_text="Stable key used by YAML import/export.")
    description = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=CheckType.choices)
    target = models.CharField(
        max_length=500, blank=True,
        help_text="URL, host:port, host name, path or env:NAME, depending on the type.",
    )
    parameters = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=list, blank=True, help_text="One condition per item, e.g. [STATUS] == 200.")
    timeout_seconds = models.FloatField(default=5.0, validators=[MinValueValidator(0.05), MaxValueValidator(60)])
    retries = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(5)],
        help_text="Extra attempts after a transport failure, with backoff, before the result is UNKNOWN.",
    )
    warning_threshold = models.FloatField(null=True, blank=True)
    critical_threshold = models.FloatField(null=True, blank=True)
    enabled = models.BooleanField(default=True)

    # Monitor schedule.
    interval_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(5), MaxValueValidator(7 * 86400)],
        help_text="Run on this interval; empty for on-demand only.",
    )
    failure_threshold = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(20)])
    success_threshold = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(20)])
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    # Denormalised state, written when runs are recorded, so lists need no per-row queries.
    current_state = models.CharField(max_length=10, choices=CheckState.choices, blank=True, editable=False)
    state_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    pending_state = models.CharField(max_length=10, choices=CheckState.choices, blank=True, editable=False)
    pending_count = models.PositiveSmallIntegerField(default=0, editable=False)
    last_state = models.CharField(max_length=10, choices=CheckState.choices, blank=True, editable=False)
    last_message = models.CharField(max_length=500, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The newest results, oldest first, as [state, duration_ms] pairs: feeds the sparkline.
    recent = models.JSONField(default=list, blank=True, editable=False)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "interval_seconds", "next_run_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("diagnostics:check_detail", kwargs={"pk": self.pk})

    @property
    def is_monitor(self) -> bool:
        return self.interval_seconds is not None

    def clean(self) -> None:
        from .validation import check_validation_errors

        errors = check_validation_errors(self)
        if errors:
            from django.core.exceptions import ValidationError

            raise ValidationError(errors)


class CheckRun(models.Model):
    """One execution of a check, from queued to a stored result (state, message, metrics, evidence)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        API = "api", "API"
        MONITOR = "monitor", "Monitor"
        BENCHMARK = "benchmark", "Benchmark"

    # Not "check": that name would shadow Model.check(), which Django's system checks call.
    check_def = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="runs")
    # Runs queued together (one click of "Run checks") share a batch, which the results page polls.
    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The worker that claimed the run; a redelivered task cannot record the same run twice.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=10, choices=CheckState.choices, blank=True)
    message = models.CharField(max_length=500, blank=True)
    metrics = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written every few seconds by the task running it; a RUNNING run whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["check_def", "-created_at"]),
            models.Index(fields=["check_def", "finished_at"]),
            models.Index(fields=["status", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.check_def_id} {self.status} {self.state}"

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE


class CheckStateChange(models.Model):
    """A check's current state changed; other apps subscribe through diagnostics.events."""

    check_def = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="state_changes")
    run = models.ForeignKey(CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_state = models.CharField(max_length=10, choices=CheckState.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=CheckState.choices)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["check_def", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.check_def_id}: {self.from_state or 'none'} -> {self.to_state}"
