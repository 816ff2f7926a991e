"""Writes for alerts: sources, and accepting alerts into incidents.

`alerts_accept` stores each alert and its incident in the caller's request, in one transaction, so an
answer of 202 means both are safe. Exactly-once comes from the unique (source, fingerprint) row, locked
with SELECT ... FOR UPDATE; opening or choosing an incident for a new alert also locks the source row,
so two concurrent first posts (same fingerprint, or two fingerprints of one group) open one incident.
Lock order is always source, then alerts by fingerprint, so concurrent notifications cannot deadlock.
Matching against the knowledge base happens later, in a worker, through the outbox.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import bridge
from .formats import ACKNOWLEDGE, RESOLVE, TRIGGER, AlertEvent, bounded
from .models import Alert, AlertSource, source_key_hash, source_key_new

Status = Alert.Status
SOURCE_PAYLOAD_MAX_BYTES = 64 * 1024
PAYLOAD_EVERY = timedelta(seconds=1)


class _NeedSourceLock(Exception):
    """Raised inside the transaction when an alert turns out to need a (new) incident; retried with the lock."""


@dataclass(frozen=True)
class AlertOutcome:
    fingerprint: str
    outcome: str  # opened, grouped, repeated, reopened, resolved, acknowledged, ignored
    alert_id: int | None
    incident_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "outcome": self.outcome, "alert_id": self.alert_id,
                "incident_id": self.incident_id}


# --- sources -----------------------------------------------------------------------------------

def alert_source_create(
    *, name: str, kind: str, system: bridge.System, severity: bridge.Severity, created_by: AbstractBaseUser | None,
    system_label: str = "service", severity_label: str = "severity", severity_map: dict | None = None,
    field_paths: dict | None = None, group_window: timedelta = timedelta(minutes=10), active: bool = True,
) -> tuple[AlertSource, str]:
    """Create a source; returns it with its key, which is shown once and stored only hashed."""
    prefix, key = source_key_new()
    source = AlertSource(
        name=name.strip(), kind=kind, system=system, severity=severity, system_label=system_label.strip(),
        severity_label=severity_label.strip(), severity_map=severity_map or {}, field_paths=field_paths or {},
        group_window=group_window, active=active, key_prefix=prefix, hashed_key=source_key_hash(key),
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    source.full_clean()
    source.save()
    return source, key


def alert_source_for_key(key: str) -> AlertSource | None:
    """The active source this key belongs to, or None (a wrong key and an unknown one look the same)."""
    if not isinstance(key, str) or len(key) != 32 or not key.isalnum():
        return None
    # Unordered and sliced: this runs on every notification, so no ORDER BY for a unique lookup.
    source = next(iter(AlertSource.objects.select_related("system", "severity")
                       .filter(key_prefix=key[:8], active=True).order_by()[:1]), None)
    return source if source is not None and source.key_matches(key) else None


def alert_source_record_payload(*, source: AlertSource, body: Any, now: datetime | None = None) -> None:
    """Keep a recent body (bounded, without the Events v2 routing key) for the sources page.

    Outside the alert transaction, and at most once a second per source: during a storm every
    notification would otherwise queue on this one row.
    """
    now = now or timezone.now()
    if isinstance(body, dict) and "routing_key" in body:
        body = {k: v for k, v in body.items() if k != "routing_key"}  # a secret: never stored or shown
    AlertSource.objects.filter(Q(last_received_at__isnull=True) | Q(last_received_at__lt=now - PAYLOAD_EVERY),
                               pk=source.pk).update(last_payload=bounded(body, SOURCE_PAYLOAD_MAX_BYTES),
                                                    last_received_at=now)


# --- accepting alerts ------------------------------------------------------------------------------

def _severity_for(source: AlertSource, event: AlertEvent, severities: dict[str, bridge.Severity]) -> bridge.Severity:
    word = (event.labels.get(source.severity_label) if source.severity_label else None) or event.severity
    word = (word or "").strip().lower()
    slug = source.severity_map.get(word) or DEFAULT_SEVERITY_WORDS.get(word) or word
    return severities.get(slug) or source.severity


# Events v2 and Alertmanager conventions onto our default severities (a source's severity_map wins).
DEFAULT_SEVERITY_WORDS = {"error": "high", "warning": "medium", "warn": "medium", "info": "low",
                          "page": "critical", "none": "low"}


def _system_slug(source: AlertSource, event: AlertEvent) -> str:
    slug = event.system or (event.labels.get(source.system_label, "") if source.system_label else "")
    return slug.strip().lower()


def _systems_named(source: AlertSource, events: list[AlertEvent]) -> dict[str, bridge.System]:
    """The systems the events name, by slug, in one query (read before the locking transaction)."""
    slugs = {_system_slug(source, e) for e in events} - {"", source.system.slug}
    systems = {s.slug: s for s in bridge.System.objects.filter(slug__in=slugs)} if slugs else {}
    systems[source.system.slug] = source.system
    return systems


def _system_for(source: AlertSource, event: AlertEvent, systems: dict[str, bridge.System]) -> bridge.System:
    """The system an event names (label or field) when it exists, else the source's own."""
    return systems.get(_system_slug(source, event), source.system)


def _what_happened(source: AlertSource, event: AlertEvent) -> str:
    lines = [event.description or f"Alert “{event.title}” from {source.name}."]
    if event.labels:
        lines += ["", "Labels:"] + [f"  {k}={v}" for k, v in sorted(event.labels.items())]
    return "\n".join(lines)[:10_000]


def _incident_for_new_alert(
    *, source: AlertSource, event: AlertEvent, system: bridge.System, severities: dict, now: datetime,
) -> tuple[bridge.Incident, bool]:
    """The open incident of this source and system within the grouping window, else a new one. Source is locked."""
    if source.group_window > timedelta(0):
        incident_id = (
            Alert.objects.filter(source=source, system_slug=system.slug, incident__status__in=bridge.OPEN_STATUSES,
                                 last_received_at__gte=now - source.group_window)
            .order_by("-last_received_at").values_list("incident_id", flat=True).first()
        )
        if incident_id is not None:
            incident = bridge.Incident.objects.get(pk=incident_id)
            bridge.incident_reopen(incident=incident, now=now)  # a mitigated incident has a firing alert again
            return incident, False
    incident = bridge.incident_open(title=event.title or "Alert", system=system,
                                    severity=_severity_for(source, event, severities),
                                    what_happened=_what_happened(source, event), now=now)
    return incident, True


def _alert_fields(event: AlertEvent, now: datetime) -> dict[str, Any]:
    return {"title": event.title or "Alert", "description": event.description, "labels": event.labels,
            "severity": event.severity[:40], "payload": bounded(event.payload), "last_received_at": now}


def _file_occurrence(
    *, source: AlertSource, event: AlertEvent, alert: Alert | None, severities: dict,
    systems: dict[str, bridge.System], now: datetime,
) -> AlertOutcome:
    """A new occurrence of an alert (first seen, or firing after its incident ended): give it an incident.

    The alert row is created, or reset to firing when it exists. Source is locked.
    """
    system = _system_for(source, event, systems)
    incident, opened = _incident_for_new_alert(source=source, event=event, system=system,
                                               severities=severities, now=now)
    fields = {"incident": incident, "system_slug": system.slug, "first_seen_at": now, **_alert_fields(event, now)}
    if alert is None:
        alert = Alert.objects.create(source=source, fingerprint=event.fingerprint, **fields)
    else:
        Alert.objects.filter(pk=alert.pk).update(status=Status.FIRING, resolved_at=None, acknowledged_at=None,
                                                 repeat_count=0, flap_count=0, enriched_at=None, **fields)
    if not opened:
        bridge.timeline_add(incident=incident, now=now, message=f"Alert “{fields['title']}” joined this incident",
                            data={"alert_id": alert.pk, "fingerprint": alert.fingerprint})
    bridge.outbox_enqueue(topic=bridge.TOPIC_ENRICH, payload={"alert_id": alert.pk})
    return AlertOutcome(event.fingerprint, "opened" if opened else "grouped", alert.pk, incident.pk)


def _accept_one(
    *, source: AlertSource, event: AlertEvent, have_source_lock: bool, severities: dict,
    systems: dict[str, bridge.System], now: datetime,
) -> AlertOutcome:
    alert = next(iter(Alert.objects.select_for_update(of=("self",)).select_related("incident").filter(
        source=source, fingerprint=event.fingerprint).order_by()[:1]), None)
    if alert is None:
        if event.action != TRIGGER:
            # Resolving or acknowledging an alert never seen (sent before this source existed): nothing to do.
            return AlertOutcome(event.fingerprint, "ignored", None, None)
        if not have_source_lock:
            raise _NeedSourceLock
        return _file_occurrence(source=source, event=event, alert=None, severities=severities, systems=systems,
                                now=now)

    incident = alert.incident
    if event.action == RESOLVE:
        return _resolve(alert=alert, event=event, now=now)
    if event.action == ACKNOWLEDGE:
        Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(acknowledged_at=now)
        if incident is not None:
            bridge.incident_acknowledge(incident=incident, now=now)
        return AlertOutcome(event.fingerprint, "acknowledged", alert.pk, alert.incident_id)

    if incident is None or incident.status not in bridge.OPEN_STATUSES:
        # Its incident was resolved or closed by a person: this is a new occurrence, grouped afresh.
        if not have_source_lock:
            raise _NeedSourceLock
        return _file_occurrence(source=source, event=event, alert=alert, severities=severities, systems=systems,
                                now=now)

    if alert.status == Status.RESOLVED:
        # Flapping: the same alert fires again while its incident is open. Re-open the alert, not a new incident.
        Alert.objects.filter(pk=alert.pk).update(status=Status.FIRING, resolved_at=None,
                                                 flap_count=F("flap_count") + 1, **_alert_fields(event, now))
        bridge.timeline_add(incident=incident, now=now, important=True,
                            message=f"Alert “{alert.title}” is firing again",
                            data={"alert_id": alert.pk, "flap_count": alert.flap_count + 1})
        bridge.incident_reopen(incident=incident, now=now)
        return AlertOutcome(event.fingerprint, "reopened", alert.pk, incident.pk)

    Alert.objects.filter(pk=alert.pk).update(repeat_count=F("repeat_count") + 1, **_alert_fields(event, now))
    return AlertOutcome(event.fingerprint, "repeated", alert.pk, incident.pk)


def _resolve(*, alert: Alert, event: AlertEvent, now: datetime) -> AlertOutcome:
    if alert.status == Status.RESOLVED:
        Alert.objects.filter(pk=alert.pk).update(repeat_count=F("repeat_count") + 1, last_received_at=now)
        return AlertOutcome(event.fingerprint, "repeated", alert.pk, alert.incident_id)
    Alert.objects.filter(pk=alert.pk).update(status=Status.RESOLVED, resolved_at=now, last_received_at=now,
                                             payload=bounded(event.payload))
    incident = alert.incident
    if incident is not None:
        bridge.timeline_add(incident=incident, now=now, message=f"Alert “{alert.title}” resolved",
                            data={"alert_id": alert.pk, "fingerprint": alert.fingerprint})
        if incident.status in bridge.OPEN_STATUSES and not incident.alerts.filter(status=Status.FIRING).exists():
            bridge.incident_mitigate(incident=incident, now=now)
    return AlertOutcome(event.fingerprint, "resolved", alert.pk, alert.incident_id)


def _needs_source_lock(source: AlertSource, events: list[AlertEvent]) -> bool:
    """Whether some trigger will need an incident chosen (unknown fingerprint, or its incident is over)."""
    triggers = {e.fingerprint for e in events if e.action == TRIGGER}
    if not triggers:
        return False
    live = set(Alert.objects.filter(source=source, fingerprint__in=triggers,
                                    incident__status__in=bridge.OPEN_STATUSES).values_list("fingerprint", flat=True))
    return bool(triggers - live)


def alerts_accept(*, source: AlertSource, events: list[AlertEvent], now: datetime | None = None) -> list[AlertOutcome]:
    """Store a notification's alerts and their incidents in one transaction; see the module docstring.

    Events are applied in fingerprint order (the lock order); a fingerprint given twice in one
    notification is applied in the order sent.
    """
    now = now or timezone.now()
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].fingerprint, pair[0]))
    severities = {s.slug: s for s in bridge.Severity.objects.all()}
    systems = _systems_named(source, events)
    lock = _needs_source_lock(source, events)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                if lock:
                    AlertSource.objects.select_for_update().filter(pk=source.pk).first()
                results = [(index, _accept_one(source=source, event=event, have_source_lock=lock,
                                               severities=severities, systems=systems, now=now))
                           for index, event in ordered]
            return [outcome for _, outcome in sorted(results, key=lambda pair: pair[0])]
        except _NeedSourceLock:
            lock = True
        except IntegrityError:
            # Another request inserted the same fingerprint between our look and our insert (only possible
            # without the source lock on backends that ignore FOR UPDATE); the retry finds its row.
            lock = True
    raise ValidationError("The alert could not be stored after several attempts; send it again.")


# --- enrichment (worker) ---------------------------------------------------------------------------

def alert_enrich(*, alert_id: int, now: datetime | None = None) -> str:
    """Match the alert's text against known symptoms; put matches and their fixes on the timeline. Idempotent.

    One transaction: the claim (``enriched_at``) commits with the timeline it promises. A worker that dies
    halfway rolls the claim back with it, so the outbox's retry enriches the alert instead of finding it
    "already enriched" with nothing on the timeline. Matching a short alert text holds the lock for
    milliseconds.
    """
    with transaction.atomic():
        return _alert_enrich(alert_id=alert_id, now=now or timezone.now())


def _alert_enrich(*, alert_id: int, now: datetime) -> str:
    claimed = Alert.objects.filter(pk=alert_id, enriched_at__isnull=True).update(enriched_at=now)
    if not claimed:
        return "already enriched"
    alert = Alert.objects.select_related("incident").filter(pk=alert_id).first()
    if alert is None or alert.incident is None:
        return "no incident"
    text = "\n".join([alert.title, alert.description, json.dumps(alert.labels, sort_keys=True)])
    matches = bridge.symptoms_match(text)
    if not matches:
        return "0 symptom(s)"
    bridge.incident_symptoms_link(incident=alert.incident, symptom_ids=[m["symptom_id"] for m in matches])
    for match in matches[:5]:
        fixes = match["solutions"]
        message = f"Alert “{alert.title}” matches symptom “{match['title']}”"
        if fixes:
            message += f"; fix: {fixes[0]['title']}"
        bridge.timeline_add(incident=alert.incident, kind=bridge.Kind.SYMPTOM, important=True, now=now,
                            message=message, data={"alert_id": alert.pk, "symptom_id": match["symptom_id"],
                                                   "solutions": fixes, "source": "alert"})
    return f"{len(matches)} symptom(s)"
