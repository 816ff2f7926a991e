"""Chat-format webhook endpoints: Slack/Mattermost blocks and Teams Adaptive Cards naming the top fix."""

import json

from incidents import webhook_formats
from incidents.models import WebhookDelivery, WebhookEndpoint
from incidents.services import webhooks as services
from kb.models import SymptomSolution
from tests.factories import SignatureFactory, SolutionFactory, SymptomFactory


def known_fix(system, title: str = "Free space: rotate and compress old logs") -> None:
    symptom = SymptomFactory(system=system, title="Disk full")
    SignatureFactory(symptom=symptom, text="No space left on device")
    SymptomSolution.objects.create(symptom=symptom, solution=SolutionFactory(system=system, title=title))


def test_slack_message_for_a_new_incident_names_its_top_fix(
    open_incident, system, stub_receiver, django_capture_on_commit_callbacks,
):
    known_fix(system)
    receiver = stub_receiver([200])
    services.webhook_endpoint_create(name="slack", url=receiver.url, secret="s" * 16,
                                     events=["incident.created"], format=WebhookEndpoint.Format.SLACK)
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(title="Writes failing", what_happened="OSError: No space left on device")
    assert len(receiver.requests) == 1
    body = json.loads(receiver.requests[0]["body"])
    assert body["text"].startswith(f"New incident: #{incident.pk} Writes failing")
    texts = json.dumps(body["blocks"])
    assert "Top fix:* Free space: rotate and compress old logs" in texts
    assert f"/incidents/{incident.pk}/" in texts
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_json_endpoints_still_get_the_signed_event(open_incident, stub_receiver, django_capture_on_commit_callbacks):
    receiver = stub_receiver([200])
    services.webhook_endpoint_create(name="json", url=receiver.url, secret="s" * 16, events=["incident.created"])
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident()
    body = json.loads(receiver.requests[0]["body"])
    assert body["event"] == "incident.created" and body["incident"]["id"] == incident.pk


def test_teams_card_carries_the_facts_and_a_link():
    snapshot = {"id": 7, "title": "Queue stuck", "severity": "high", "system": "billing", "status": "triage",
                "url": "/incidents/7/"}
    message = webhook_formats.teams_card(event="incident.created", incident=snapshot,
                                         top_fix={"title": "Restart the consumer"})
    card = message["attachments"][0]["content"]
    assert message["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "New incident: #7 Queue stuck"
    assert {"title": "Top fix", "value": "Restart the consumer"} in card["body"][1]["facts"]
    assert card["actions"][0]["url"].endswith("/incidents/7/")


def test_slack_message_without_a_known_fix_says_so():
    snapshot = {"id": 1, "title": "x", "severity": "low", "system": "s", "status": "triage", "url": "/incidents/1/"}
    message = webhook_formats.slack_message(event="incident.resolved", incident=snapshot, top_fix=None)
    assert "none known yet" in json.dumps(message["blocks"]) and message["text"].startswith("Resolved: #1")


def test_api_accepts_and_shows_the_format(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    response = api_client.post("/api/v1/incident-webhooks/", {
        "name": "teams", "url": "http://127.0.0.1:9/hook", "secret": "s" * 16, "format": "teams",
        "events": ["incident.created"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["format"] == "teams"
    bad = api_client.post("/api/v1/incident-webhooks/", {
        "name": "x", "url": "http://127.0.0.1:9/hook", "secret": "s" * 16, "format": "irc",
        "events": ["incident.created"]}, format="json")
    assert bad.status_code == 400
