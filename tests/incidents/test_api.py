"""The incidents API: permissions matrix, Idempotency-Key, actions, and the OpenAPI schema."""

import io
import tarfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import api_key_create
from incidents.models import (
    EscalationLevel,
    IdempotencyKey,
    Incident,
    OutboxMessage,
    Severity,
    WebhookEndpoint,
)
from incidents.outbox import outbox_relay
from incidents.services.idempotency import idempotency_prune
from incidents.services.timeline import timeline_add
from tests.factories import SolutionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


@pytest.fixture
def body(system):
    return {"title": "Port 8100 already in use", "system": system.slug, "severity": "critical",
            "what_happened": "The server exits with EADDRINUSE at start-up.", "env_os": "Ubuntu 24.04"}


@pytest.fixture
def filed(open_incident):
    return open_incident()


def as_user(api_client, person):
    if person is not None:
        api_client.force_authenticate(person)
    return api_client


# --- permissions matrix ------------------------------------------------------------------------

def who(request, name):
    return None if name == "anonymous" else request.getfixturevalue(name)


@pytest.mark.parametrize(("name", "expected"), [
    ("anonymous", 401), ("user", 201), ("other_user", 201), ("responder", 201), ("staff_user", 201),
])
def test_filing_needs_a_signed_in_user(request, api_client, body, name, expected):
    response = as_user(api_client, who(request, name)).post(URL, body, format="json")
    assert response.status_code == expected


@pytest.mark.parametrize(("name", "sees"), [
    ("anonymous", None), ("user", True), ("other_user", False), ("responder", True), ("staff_user", True),
])
def test_reporters_see_their_own_responders_and_staff_see_all(request, api_client, filed, name, sees):
    client = as_user(api_client, who(request, name))
    listing = client.get(URL)
    detail = client.get(f"{URL}{filed.pk}/")
    timeline = client.get(f"{URL}{filed.pk}/timeline/")
    if sees is None:
        assert listing.status_code == detail.status_code == timeline.status_code == 401
        return
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == ([filed.pk] if sees else [])
    assert detail.status_code == timeline.status_code == (200 if sees else 404)


@pytest.mark.parametrize(("name", "expected"), [
    ("anonymous", 401), ("user", 403), ("other_user", 404), ("responder", 200), ("staff_user", 200),
])
@pytest.mark.parametrize("action", ["acknowledge", "resolve", "escalate", "verify"])
def test_lifecycle_actions_are_for_responders_and_staff(request, api_client, filed, name, expected, action):
    response = as_user(api_client, who(request, name)).post(f"{URL}{filed.pk}/{action}/", {}, format="json")
    assert response.status_code == expected, response.content


@pytest.mark.parametrize(("name", "expected"), [
    ("anonymous", 401), ("user", 201), ("other_user", 404), ("responder", 201), ("staff_user", 201),
])
def test_comments_by_whoever_can_see_the_incident(request, api_client, filed, name, expected):
    response = as_user(api_client, who(request, name)).post(f"{URL}{filed.pk}/comments/", {"body": "Any news?"},
                                                            format="json")
    assert response.status_code == expected


@pytest.mark.parametrize(("name", "read", "write"), [
    ("anonymous", 401, 401), ("user", 200, 403), ("responder", 200, 403), ("staff_user", 200, 201),
])
def test_only_staff_change_severities_and_escalation_levels(request, api_client, name, read, write):
    client = as_user(api_client, who(request, name))
    assert client.get("/api/v1/incident-severities/").status_code == read
    assert client.get("/api/v1/incident-escalation-levels/").status_code == (read if name in ("anonymous", "staff_user")
                                                                             else 403)  # hook URLs: staff only
    created = client.post("/api/v1/incident-severities/", {
        "name": "Sev0", "slug": "sev0", "rank": 0, "response_target": "00:02:00", "escalation_target": "00:05:00",
    }, format="json")
    assert created.status_code == write
    level = client.post("/api/v1/incident-escalation-levels/", {"order": 3, "name": "Director"}, format="json")
    assert level.status_code == write


@pytest.mark.parametrize(("name", "expected"), [
    ("anonymous", 401), ("user", 403), ("responder", 403), ("staff_user", 200),
])
def test_webhook_endpoints_are_staff_only(request, api_client, name, expected):
    assert as_user(api_client, who(request, name)).get("/api/v1/incident-webhooks/").status_code == expected


def test_reporter_may_cancel_own_incident_in_triage_but_not_acknowledge(api_client, user, filed):
    client = as_user(api_client, user)
    assert client.post(f"{URL}{filed.pk}/transition/", {"status": "investigating"}, format="json").status_code == 403
    response = client.post(f"{URL}{filed.pk}/transition/", {"status": "cancelled"}, format="json")
    assert response.status_code == 200 and response.json()["incident"]["status"] == "cancelled"


def test_read_key_cannot_file_and_write_key_can(api_client, body, user, read_key, write_key):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert api_client.get(URL).status_code == 200
    denied = api_client.post(URL, body, format="json")
    assert denied.status_code == 403 and "write scope" in denied.json()["detail"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {write_key}")
    assert api_client.post(URL, body, format="json").status_code == 201


# --- Idempotency-Key ---------------------------------------------------------------------------

def test_retried_post_with_same_key_returns_first_response_and_creates_nothing(api_client, user, body):
    client = as_user(api_client, user)
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    again = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1
    assert OutboxMessage.objects.filter(topic="incident.created").count() == 1


def test_same_key_from_another_user_is_a_different_request(api_client, user, other_user, body):
    as_user(api_client, user).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = as_user(api_client, other_user).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert Incident.objects.count() == 2


def test_same_key_with_a_different_body_is_refused(api_client, user, body):
    client = as_user(api_client, user)
    client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = client.post(URL, {**body, "title": "Something else"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 422 and response.json()["error"] == "idempotency_key_reused"
    assert Incident.objects.count() == 1


def test_invalid_request_with_a_key_stores_nothing_and_can_be_fixed(api_client, user, body):
    client = as_user(api_client, user)
    bad = client.post(URL, {**body, "severity": "apocalyptic"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert bad.status_code == 400 and "severity" in bad.json()["fields"]
    assert not IdempotencyKey.objects.exists()


def test_without_a_key_each_post_files_again(api_client, user, body):
    client = as_user(api_client, user)
    client.post(URL, body, format="json")
    client.post(URL, body, format="json")
    assert Incident.objects.count() == 2


def test_idempotency_keys_are_pruned_after_the_retention(api_client, user, body, settings):
    from datetime import timedelta

    from django.utils import timezone

    as_user(api_client, user).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert idempotency_prune(now=timezone.now() + timedelta(hours=settings.TRIAGE_IDEMPOTENCY_HOURS + 1)) == 1


# --- filing through the API with the broker down --------------------------------------------------

def test_api_filing_succeeds_with_broker_down_and_notifications_follow(
    api_client, user, body, stub_receiver, django_capture_on_commit_callbacks,
):
    from tests.incidents.test_outbox import broker_stopped

    receiver = stub_receiver([200])
    WebhookEndpoint.objects.create(name="chat", url=receiver.url, secret="s" * 16, events=["incident.created"])
    client = as_user(api_client, user)
    with broker_stopped(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, body, format="json")
    assert response.status_code == 201
    incident = Incident.objects.get(pk=response.json()["id"])
    assert OutboxMessage.objects.filter(status="pending", payload__incident__id=incident.pk).exists()
    assert receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        outbox_relay()
    assert len(receiver.requests) == 1


# --- actions and validation ------------------------------------------------------------------------

def test_full_lifecycle_through_the_api(api_client, responder, filed, system):
    solution = SolutionFactory(system=system)
    client = as_user(api_client, responder)
    ack = client.post(f"{URL}{filed.pk}/acknowledge/")
    assert ack.json()["changed"] is True and ack.json()["incident"]["commander"] == responder.username
    assert client.post(f"{URL}{filed.pk}/acknowledge/").json()["changed"] is False
    mitigated = client.post(f"{URL}{filed.pk}/transition/", {"status": "mitigated", "note": "failover"},
                            format="json")
    assert mitigated.json()["incident"]["mitigated_at"]
    resolved = client.post(f"{URL}{filed.pk}/resolve/", {"solution": solution.pk, "note": "freed the port"},
                           format="json")
    assert resolved.status_code == 200 and resolved.json()["incident"]["status"] == "resolved"
    kinds = [e["kind"] for e in client.get(f"{URL}{filed.pk}/timeline/").json()]
    assert kinds.count("status") == 3 and "article" in kinds


def test_invalid_transition_is_a_400_with_the_reason(api_client, responder, filed):
    client = as_user(api_client, responder)
    response = client.post(f"{URL}{filed.pk}/transition/", {"status": "closed"}, format="json")
    assert response.status_code == 400
    assert "Cannot move from triage to closed" in response.json()["detail"]


def test_resolve_with_failing_checks_needs_an_override_reason(api_client, responder, filed):
    timeline_add(incident=filed, kind="check", message="Check “db”: CRITICAL",
                          data={"check_id": 3, "state": "critical"})
    client = as_user(api_client, responder)
    refused = client.post(f"{URL}{filed.pk}/resolve/", {}, format="json")
    assert refused.status_code == 400 and "override_reason" in refused.json()["fields"]
    ok = client.post(f"{URL}{filed.pk}/resolve/", {"override_reason": "probe host down"}, format="json")
    assert ok.status_code == 200


def test_escalate_action_reports_the_level(api_client, responder, filed):
    EscalationLevel.objects.update(email="")
    client = as_user(api_client, responder)
    first = client.post(f"{URL}{filed.pk}/escalate/").json()
    assert first["escalated"] is True and first["record"]["order"] == 1
    client.post(f"{URL}{filed.pk}/escalate/")
    assert client.post(f"{URL}{filed.pk}/escalate/").json() == {"escalated": False, "record": None}


def test_attachment_upload_and_size_limit(api_client, user, filed, settings):
    client = as_user(api_client, user)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        info = tarfile.TarInfo("logs/app.log")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"ok\n"))
    upload = SimpleUploadedFile("diag.tar.gz", raw.getvalue(), content_type="application/gzip")
    created = client.post(f"{URL}{filed.pk}/attachments/", {"file": upload}, format="multipart")
    assert created.status_code == 201 and created.json()["kind"] == "bundle"
    assert [a["name"] for a in client.get(f"{URL}{filed.pk}/attachments/").json()] == ["diag.tar.gz"]
    settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES = 5
    big = SimpleUploadedFile("big.log", b"0123456789")
    too_large = client.post(f"{URL}{filed.pk}/attachments/", {"file": big}, format="multipart")
    assert too_large.status_code == 413 and "limit is 5 bytes" in too_large.json()["detail"]


def test_comment_is_sanitised_in_the_api(api_client, user, filed):
    response = as_user(api_client, user).post(f"{URL}{filed.pk}/comments/",
                                               {"body": "<img src=x onerror=alert(1)>hi"}, format="json")
    assert "onerror" not in response.json()["body_html"]


def test_patch_changes_fields_for_responders_only(api_client, user, responder, filed):
    assert as_user(api_client, user).patch(f"{URL}{filed.pk}/", {"title": "x"}, format="json").status_code == 403
    client = as_user(api_client, responder)
    response = client.patch(f"{URL}{filed.pk}/", {"severity": "critical", "assignees": [responder.username]},
                            format="json")
    assert response.status_code == 200
    assert response.json()["severity"] == "critical" and response.json()["assignees"] == [responder.username]


def test_list_filters_by_status_severity_and_system(api_client, responder, open_incident, critical):
    open_incident(title="a")
    open_incident(title="b", severity=critical)
    client = as_user(api_client, responder)
    titles = [r["title"] for r in client.get(URL, {"severity": "critical"}).json()["results"]]
    assert titles == ["b"]
    assert client.get(URL, {"status": "resolved"}).json()["count"] == 0
    assert client.get(URL, {"severity": "nope"}).status_code == 400


def test_deleting_a_severity_in_use_is_a_conflict(api_client, staff_user, filed):
    response = as_user(api_client, staff_user).delete(f"/api/v1/incident-severities/{filed.severity.pk}/")
    assert response.status_code == 409
    assert Severity.objects.filter(pk=filed.severity.pk).exists()


def test_severity_with_escalation_before_response_is_a_400(api_client, staff_user):
    response = as_user(api_client, staff_user).patch(
        f"/api/v1/incident-severities/{Severity.objects.get(slug='high').pk}/", {"escalation_target": "00:01:00"},
        format="json")
    assert response.status_code == 400 and "escalation_target" in response.json()["fields"]


def test_staff_manage_webhooks_and_read_the_delivery_log(api_client, staff_user):
    client = as_user(api_client, staff_user)
    created = client.post("/api/v1/incident-webhooks/", {
        "name": "chat", "url": "http://127.0.0.1:9/hook", "secret": "a-long-shared-secret",
        "events": ["incident.created"]}, format="json")
    assert created.status_code == 201 and "secret" not in created.json()
    short = client.post("/api/v1/incident-webhooks/", {"name": "x", "url": "http://127.0.0.1:9/", "secret": "s"},
                        format="json")
    assert short.status_code == 400
    deliveries = client.get(f"/api/v1/incident-webhooks/{created.json()['id']}/deliveries/").json()
    assert deliveries["count"] == 0 and deliveries["results"] == []


def test_a_webhook_to_an_internal_address_is_refused_with_a_clear_message(api_client, staff_user, settings):
    settings.TRIAGE_WEBHOOK_ALLOWED_TARGETS = []
    client = as_user(api_client, staff_user)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/hook", "http://10.1.2.3/"):
        response = client.post("/api/v1/incident-webhooks/", {
            "name": "meta", "url": url, "secret": "a-long-shared-secret"}, format="json")
        assert response.status_code == 400, url
        assert "internal address" in str(response.json()) and "TRIAGE_WEBHOOK_ALLOWED_TARGETS" in str(response.json())
    level = client.post("/api/v1/incident-escalation-levels/", {
        "order": 7, "name": "Pager", "webhook_url": "http://169.254.169.254/"}, format="json")
    assert level.status_code == 400 and "internal address" in str(level.json())
    created = client.post("/api/v1/incident-escalation-levels/", {"order": 7, "name": "Pager"}, format="json")
    patched = client.patch(f"/api/v1/incident-escalation-levels/{created.json()['id']}/",
                           {"webhook_url": "http://[::ffff:169.254.169.254]/"}, format="json")
    assert patched.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_escalation_levels_with_hook_urls_are_hidden_from_read_keys(api_client, user):
    key = api_key_create(user=user, scopes=["read"])[1]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api_client.get("/api/v1/incident-escalation-levels/")
    assert response.status_code == 403 and "hook URLs" in str(response.json())


def test_staff_read_key_lists_webhooks_but_cannot_add_one(api_client, staff_user):
    key = api_key_create(user=staff_user, scopes=["read"])[1]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get("/api/v1/incident-webhooks/").status_code == 200
    response = api_client.post("/api/v1/incident-webhooks/", {"name": "x"}, format="json")
    assert response.status_code == 403


def test_incident_endpoints_are_in_the_schema_without_warnings(capsys):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    captured = capsys.readouterr()
    mine = [line for line in (captured.err + captured.out).splitlines() if "incident" in line.lower()]
    assert mine == []
    for path in ("/api/v1/incidents/", "/api/v1/incidents/{id}/acknowledge/", "/api/v1/incidents/{id}/resolve/",
                 "/api/v1/incidents/{id}/escalate/", "/api/v1/incidents/{id}/verify/",
                 "/api/v1/incidents/{id}/comments/", "/api/v1/incidents/{id}/attachments/",
                 "/api/v1/incidents/{id}/timeline/", "/api/v1/incident-webhooks/",
                 "/api/v1/incident-severities/", "/api/v1/incident-escalation-levels/"):
        assert path in schema["paths"], path
    parameters = schema["paths"]["/api/v1/incidents/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" for p in parameters)


def test_a_title_with_a_line_break_is_refused_by_the_api_and_the_service(api_client, user, body, open_incident, filed):
    from django.core.exceptions import ValidationError

    client = as_user(api_client, user)
    response = client.post(URL, {**body, "title": "Disk full\r\nBcc: everyone@example.com"}, format="json")
    assert response.status_code == 400 and "single line" in str(response.json())
    edit = client.patch(f"{URL}{filed.pk}/", {"title": "Still\nbroken"}, format="json")
    assert edit.status_code in (400, 403, 405)
    with pytest.raises(ValidationError, match="single line"):
        open_incident(title="Disk full\u2028second line")
    assert Incident.objects.count() == 1
