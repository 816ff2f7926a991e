"""The incident timeline: every change, check result and notification, in order; and the clock services share."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from ..models import Incident, TimelineEvent


def clock_now(now: datetime | None) -> datetime:
    """The injected clock's time (tests, back-dated imports), else the wall clock."""
    return now if now is not None else timezone.now()


def signed_in_or_none(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def timeline_add(
    *, incident: Incident, kind: str, message: str, data: dict | None = None, important: bool = False,
    actor: AbstractBaseUser | None = None, now: datetime | None = None,
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        incident=incident, kind=kind, message=message[:500], data=data or {}, important=important,
        actor=signed_in_or_none(actor), created_at=clock_now(now),
    )


def timeline_event_set_important(*, event: TimelineEvent, important: bool) -> bool:
    """Mark or unmark an event; returns whether anything changed."""
    changed = TimelineEvent.objects.filter(pk=event.pk).exclude(important=important).update(important=important)
    event.important = important
    return bool(changed)
