"""Post-incident reviews and their action items."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..models import ActionItem, Incident, PostIncidentReview, TimelineEvent
from .timeline import clock_now, timeline_add

Kind = TimelineEvent.Kind


def review_draft(*, incident: Incident) -> dict[str, str]:
    """A starting point built from the important timeline events (the reviewer edits it)."""
    events = incident.timeline.filter(important=True).order_by("created_at", "id")
    lines = [f"- {timezone.localtime(e.created_at):%Y-%m-%d %H:%M} {e.message}" for e in events]
    summary = f"{incident.title} on {incident.system.name} ({incident.severity.name})."
    if incident.resolved_at:
        summary += f" Open for {_duration_words(incident.resolved_at - incident.created_at)}."
    return {"summary": summary + "\n\nKey events:\n" + "\n".join(lines), "root_cause": "",
            "contributing_factors": "", "lessons": ""}


def _duration_words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"


def review_save(
    *, incident: Incident, author: AbstractBaseUser, summary: str, root_cause: str, contributing_factors: str,
    lessons: str = "", now: datetime | None = None,
) -> PostIncidentReview:
    with transaction.atomic():
        review, created = PostIncidentReview.objects.get_or_create(incident=incident, defaults={"author": author})
        review.summary, review.root_cause = summary.strip(), root_cause.strip()
        review.contributing_factors, review.lessons = contributing_factors.strip(), lessons.strip()
        review.full_clean()
        review.save()
        timeline_add(incident=incident, kind=Kind.REVIEW, actor=author, now=now,
                     message="Post-incident review written" if created else "Post-incident review updated")
    return review


def action_item_add(
    *, review: PostIncidentReview, title: str, owner: AbstractBaseUser | None = None, due_date: Any = None,
) -> ActionItem:
    item = ActionItem(review=review, title=title.strip(), owner=owner, due_date=due_date)
    item.full_clean()
    item.save()
    return item


def action_item_set_done(*, item: ActionItem, done: bool, now: datetime | None = None) -> bool:
    changed = ActionItem.objects.filter(pk=item.pk, done=not done).update(
        done=done, done_at=clock_now(now) if done else None)
    item.refresh_from_db()
    return bool(changed)
