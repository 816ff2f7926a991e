"""The "send test alert" button: one harmless firing alert in the source's own format."""

import uuid
from typing import Any

from .models import AlertSource


def sample_body(source: AlertSource) -> Any:
    fingerprint = f"triage-test-{uuid.uuid4().hex[:12]}"
    labels = {"alertname": "TriageTestAlert", "severity": "low"}
    annotations = {"summary": f"Test alert from {source.name}",
                   "description": "Sent with the “send test alert” button to check the wiring."}
    alert = {"status": "firing", "labels": labels, "annotations": annotations, "fingerprint": fingerprint,
             "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": ""}
    if source.kind == AlertSource.Kind.EVENTS_V2:
        return {"event_action": "trigger", "dedup_key": fingerprint,
                "payload": {"summary": annotations["summary"], "source": "triage", "severity": "info"}}
    if source.kind == AlertSource.Kind.GENERIC:
        return {"fingerprint": fingerprint, "title": annotations["summary"], "status": "firing",
                "description": annotations["description"], "severity": "low"}
    return {"version": "4", "status": "firing", "receiver": "triage", "groupKey": "{}:{test}",
            "title": "[FIRING:1] TriageTestAlert", "alerts": [alert]}
