"""Forgetting old Idempotency-Key responses."""

from datetime import datetime, timedelta

from django.conf import settings

from ..models import IdempotencyKey
from .timeline import clock_now


def idempotency_prune(*, now: datetime | None = None) -> int:
    """Forget Idempotency-Key responses older than the retention (clients retry within minutes)."""
    cutoff = clock_now(now) - timedelta(hours=settings.TRIAGE_IDEMPOTENCY_HOURS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]
