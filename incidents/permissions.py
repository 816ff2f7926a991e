"""Who may see and work incidents. Plain functions shared by the web views and the API.

Reporters see their own incidents (and incidents they were made commander, assignee or participant of);
members of the "responders" group and staff see and work all of them; only staff edit severities,
escalation levels and webhooks.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from .defaults import RESPONDERS_GROUP
from .models import Incident

AnyUser = AbstractBaseUser | AnonymousUser


def is_responder(user: AnyUser | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    # Cached on the user object: one query per request however many checks a page makes.
    cached = getattr(user, "_triage_is_responder", None)
    if cached is None:
        cached = user.groups.filter(name=RESPONDERS_GROUP).exists()
        user._triage_is_responder = cached
    return cached


def incident_visible_q(user: AnyUser | None) -> Q:
    """Filter for the incidents `user` may see; anonymous users see none."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    if is_responder(user):
        return Q()
    return (
        Q(reporter=user)
        | Q(commander=user)
        | Q(pk__in=Incident.assignees.through.objects.filter(user=user).values("incident_id"))
        | Q(pk__in=Incident.participants.through.objects.filter(user=user).values("incident_id"))
    )


def can_view_incident(user: AnyUser | None, incident: Incident) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if is_responder(user) or incident.reporter_id == user.pk or incident.commander_id == user.pk:
        return True
    return Incident.objects.filter(incident_visible_q(user), pk=incident.pk).exists()


def can_work_incident(user: AnyUser | None, incident: Incident) -> bool:
    """Lifecycle actions, roles, escalation, verification and resolution: responders and staff."""
    return is_responder(user)


def can_cancel_incident(user: AnyUser | None, incident: Incident) -> bool:
    """A reporter may withdraw their own report while nobody has picked it up yet."""
    if is_responder(user):
        return True
    return (
        user is not None and user.is_authenticated and incident.reporter_id == user.pk
        and incident.status == Incident.Status.TRIAGE
    )
