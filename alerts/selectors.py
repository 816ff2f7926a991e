"""Reads for alerts."""

from django.db.models import Count, Q, QuerySet

from .models import Alert, AlertSource


def alert_source_list() -> QuerySet[AlertSource]:
    return AlertSource.objects.select_related("system", "severity").annotate(
        alert_count=Count("alerts"), firing_count=Count("alerts", filter=Q(alerts__status=Alert.Status.FIRING)))


def incident_alerts(*, incident_id: int) -> list[Alert]:
    return list(Alert.objects.filter(incident_id=incident_id).select_related("source")
                .order_by("status", "-last_received_at")[:100])
