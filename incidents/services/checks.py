"""Running a system's diagnostic checks for an incident ("Verify fix" re-runs the failing ones)."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from .. import integrations
from ..models import Incident, OutboxMessage, TimelineEvent
from ..selectors import incident_failing_checks
from .timeline import clock_now, timeline_add

Kind = TimelineEvent.Kind


def incident_checks_run(
    *, incident: Incident, check_ids: Iterable[int] | None = None, actor: AbstractBaseUser | None = None,
    reason: str = "filed", now: datetime | None = None,
) -> list[integrations.CheckOutcome]:
    """Run checks (by default all of the system's) and put each result on the timeline."""
    ids = list(check_ids) if check_ids is not None else integrations.system_check_ids(incident.system)
    outcomes = integrations.checks_run(ids, requested_by=actor)
    now = clock_now(now)
    for outcome in outcomes:
        timeline_add(
            incident=incident, kind=Kind.CHECK, actor=actor, now=now, important=not outcome.passing,
            message=f"Check “{outcome.name}”: {outcome.state.upper()} — {outcome.message}"[:500],
            data={"check_id": outcome.check_id, "state": outcome.state, "run_id": outcome.run_id,
                  "reason": reason},
        )
    return outcomes


def incident_verify(
    *, incident: Incident, actor: AbstractBaseUser, now: datetime | None = None
) -> list[integrations.CheckOutcome]:
    """"Verify fix": re-run the checks that are failing now; returns their new outcomes."""
    failing = [c["check_id"] for c in incident_failing_checks(incident=incident)]
    if not failing:
        return []
    return incident_checks_run(incident=incident, check_ids=failing, actor=actor, reason="verify", now=now)


def handle_checks(message: OutboxMessage) -> None:
    incident = Incident.objects.select_related("system").filter(pk=message.payload["incident_id"]).first()
    if incident is not None:
        incident_checks_run(incident=incident, reason=message.payload.get("reason", "filed"))
