"""Staff-only writes through an API key need the `admin` scope; a staff `write` key files incidents only."""

import pytest

from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db


ARTICLE = {"system": "gateway", "title": "Gateway answers 502", "body": "Restart the upstream pool."}


@pytest.fixture(autouse=True)
def gateway(db):
    return SystemFactory(name="Gateway", slug="gateway")


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_staff_write_key_cannot_change_the_knowledge_base(api_client, staff_write_key):
    response = api_client.post("/api/v1/articles/", ARTICLE, format="json",
                               **bearer(staff_write_key))
    assert response.status_code == 403
    assert "admin scope" in response.json()["detail"]


def test_staff_admin_key_changes_the_knowledge_base(api_client, staff_admin_key):
    response = api_client.post("/api/v1/articles/", ARTICLE, format="json",
                               **bearer(staff_admin_key))
    assert response.status_code == 201


def test_staff_write_key_cannot_manage_webhooks_or_severities(api_client, staff_write_key):
    for url in ("/api/v1/incident-webhooks/", "/api/v1/incident-escalation-levels/"):
        response = api_client.post(url, {"name": "x", "url": "https://hooks.example.com/x"}, format="json",
                                   **bearer(staff_write_key))
        assert response.status_code == 403, url


def test_staff_session_needs_no_key_scope(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    assert api_client.post("/api/v1/articles/", ARTICLE, format="json").status_code == 201


def test_escalation_hook_urls_are_for_staff_only(api_client, user, staff_user):
    from incidents.models import EscalationLevel

    EscalationLevel.objects.create(order=99, name="Pager", webhook_url="https://hooks.example.com/T0/secret")
    api_client.force_authenticate(user)
    refused = api_client.get("/api/v1/incident-escalation-levels/")
    assert refused.status_code == 403 and "secret" not in refused.content.decode()
    api_client.force_authenticate(staff_user)
    listed = api_client.get("/api/v1/incident-escalation-levels/").json()
    assert any(level["webhook_url"].endswith("/secret") for level in listed)
