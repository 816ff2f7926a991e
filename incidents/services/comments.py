"""Comments on an incident: Markdown rendered and sanitised once, on write."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import strip_tags

from kb.markdown import render_markdown

from ..models import Comment, Incident, TimelineEvent
from .timeline import clock_now, timeline_add

Kind = TimelineEvent.Kind

COMMENT_MAX_CHARS = 20_000


def incident_comment_add(
    *, incident: Incident, author: AbstractBaseUser, body: str, now: datetime | None = None
) -> Comment:
    """Markdown comment, rendered and sanitised once here; it also becomes a timeline event."""
    body = body.replace("\x00", "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > COMMENT_MAX_CHARS:
        raise ValidationError({"body": f"Comments are limited to {COMMENT_MAX_CHARS} characters."})
    now = clock_now(now)
    with transaction.atomic():
        comment = Comment.objects.create(incident=incident, author=author, body=body,
                                         body_html=render_markdown(body).html, created_at=now)
        excerpt = " ".join(strip_tags(comment.body_html).split())[:200]
        timeline_add(incident=incident, kind=Kind.COMMENT, actor=author, now=now, message=excerpt,
                     data={"comment_id": comment.pk})
        incident.participants.add(author)
    return comment
