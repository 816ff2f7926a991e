from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by each Celery worker that runs the heartbeat task; /health/ reads the newest."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%H:%M:%S}"
