"""Sample bodies for each sender format, written for these tests from each format's public documentation.

- Alertmanager webhook (version 4): Prometheus docs, "Configuration" -> `<webhook_config>`
  (prometheus.io/docs/alerting/latest/configuration/#webhook_config).
- Grafana: "Configure webhook notifications" for unified alerting, the JSON payload section
  (grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/).
- Events API v2: PagerDuty developer docs, "Send an Alert Event" (developer.pagerduty.com/docs/events-api-v2/trigger-events/)
  and "Acknowledge and resolve" (developer.pagerduty.com/docs/events-api-v2/acknowledge-events/).
"""

from typing import Any


def am_alert(fingerprint: str = "c0ffee0123456789", *, status: str = "firing", alertname: str = "DiskFull",
             summary: str | None = "Disk /var is 97% full", service: str | None = None,
             severity: str = "critical", **labels: str) -> dict[str, Any]:
    all_labels = {"alertname": alertname, "instance": "db-1:9100", "severity": severity, **labels}
    if service:
        all_labels["service"] = service
    annotations = {"description": "Only 3% of the filesystem mounted at /var is left."}
    if summary:
        annotations["summary"] = summary
    return {
        "status": status, "labels": all_labels, "annotations": annotations,
        "startsAt": "2026-12-06T03:00:00.000Z",
        "endsAt": "2026-12-06T03:30:00.000Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk_free", "fingerprint": fingerprint,
    }


def alertmanager(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    alerts = alerts or (am_alert(),)
    return {
        "version": "4", "groupKey": '{}:{alertname="DiskFull"}', "truncatedAlerts": 0,
        "status": status or ("resolved" if all(a["status"] == "resolved" for a in alerts) else "firing"),
        "receiver": "triage", "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {"alertname": alerts[0]["labels"]["alertname"]}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093", "alerts": list(alerts),
    }


def grafana(*, status: str = "firing", fingerprint: str = "57c6d9296de2ad39", summary: str | None = None) -> dict:
    alert = {
        "status": status, "labels": {"alertname": "HighLatency", "grafana_folder": "Checkout", "team": "shop"},
        "annotations": {"summary": summary} if summary else {},
        "startsAt": "2026-12-06T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://grafana.example/alerting/grafana/abc/view", "fingerprint": fingerprint,
        "silenceURL": "http://grafana.example/alerting/silence/new", "dashboardURL": "", "panelURL": "",
        "values": {"B": 1.42}, "valueString": "[ var='B' labels={} value=1.42 ]",
    }
    return {
        "receiver": "triage", "status": status, "orgId": 1, "alerts": [alert],
        "groupLabels": {"alertname": "HighLatency"}, "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {}, "externalURL": "http://grafana.example/", "version": "1",
        "groupKey": '{}:{alertname="HighLatency"}', "truncatedAlerts": 0,
        "title": "[FIRING:1] HighLatency Checkout (shop)", "state": "alerting",
        "message": "**Firing**\n\nValue: B=1.42\nLabels:\n - alertname = HighLatency\n",
    }


def events_v2(routing_key: str, *, action: str = "trigger", dedup_key: str | None = "srv01/HTTP",
              summary: str = "Example alert on host1.example.com", severity: str = "critical") -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        event["payload"] = {
            "summary": summary, "timestamp": "2026-12-06T03:00:00.000+00:00", "source": "monitoringtool:cloudvendor",
            "severity": severity, "component": "postgres", "group": "prod-datapipe", "class": "deploy",
            "custom_details": {"ping time": "1500ms", "load avg": 0.75},
        }
        event["client"] = "Sample Monitoring Service"
        event["client_url"] = "https://monitoring.example.com"
    return event
