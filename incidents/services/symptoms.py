"""Known symptoms found in an incident's report and attachments, recorded on its timeline."""

from datetime import datetime

from .. import integrations
from ..models import Incident, OutboxMessage, TimelineEvent
from .timeline import clock_now, timeline_add

Kind = TimelineEvent.Kind


def symptom_hits_record(
    *, incident: Incident, hits: list[integrations.SymptomHit], source: str, now: datetime
) -> list[int]:
    """Link matched symptoms to the incident; one timeline event per symptom newly seen in this source."""
    if not hits:
        return []
    from kb.models import Symptom

    existing = set(Symptom.objects.filter(pk__in=[h.symptom_id for h in hits]).values_list("pk", flat=True))
    hits = [h for h in hits if h.symptom_id in existing]
    already = set(incident.symptoms.values_list("pk", flat=True))
    incident.symptoms.add(*[h.symptom_id for h in hits])
    for hit in hits:
        lines = ", ".join(str(n) for n in hit.line_numbers[:8])
        timeline_add(
            incident=incident, kind=Kind.SYMPTOM, now=now, important=hit.symptom_id not in already,
            message=f"Matched symptom “{hit.title}” in {source}" + (f" (line {lines})" if lines else ""),
            data={"symptom_id": hit.symptom_id, "source": source, "lines": list(hit.line_numbers[:50]),
                  "excerpt": hit.excerpt, "articles": list(hit.articles)},
        )
    return [h.symptom_id for h in hits]


def incident_report_match(*, incident_id: int, now: datetime | None = None) -> str:
    """Match the report's own text (what happened, steps) against known symptoms."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return "missing"
    text = "\n".join([incident.title, incident.what_happened, incident.steps_to_reproduce])
    ids = symptom_hits_record(incident=incident, hits=integrations.symptoms_match_text(text),
                               source="the report", now=clock_now(now))
    return f"{len(ids)} symptom(s)"


def handle_match_report(message: OutboxMessage) -> None:
    incident_report_match(incident_id=message.payload["incident_id"])
