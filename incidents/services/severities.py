"""The default severities, escalation levels and responders group a fresh install starts with."""

from ..defaults import DEFAULT_ESCALATION_LEVELS, DEFAULT_SEVERITIES, RESPONDERS_GROUP
from ..models import EscalationLevel, Severity


def severities_ensure_defaults() -> None:
    """Create the default severities, escalation levels and responders group if missing (idempotent)."""
    from django.contrib.auth.models import Group

    for name, slug, rank, response, escalation in DEFAULT_SEVERITIES:
        if not Severity.objects.filter(slug=slug).exists() and not Severity.objects.filter(rank=rank).exists():
            Severity.objects.create(name=name, slug=slug, rank=rank, response_target=response,
                                    escalation_target=escalation)
    for order, name in DEFAULT_ESCALATION_LEVELS:
        EscalationLevel.objects.get_or_create(order=order, defaults={"name": name})
    Group.objects.get_or_create(name=RESPONDERS_GROUP)
