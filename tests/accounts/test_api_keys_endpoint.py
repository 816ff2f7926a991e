"""/api/v1/api-keys/: people list, create and revoke their own keys; the secret is shown once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/api-keys/"


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_signed_in_user_lists_only_their_own_keys_without_secrets(api_client, user, other_user):
    mine, _ = api_key_create(user=user, scopes=["read"], name="laptop")
    api_key_create(user=other_user, scopes=["write"], name="theirs")
    api_client.force_login(user)
    response = api_client.get(URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [k["prefix"] for k in results] == [mine.prefix]
    assert set(results[0]) == {"prefix", "name", "scopes", "expires_at", "last_used_at", "revoked_at",
                               "created_at", "is_active"}
    assert results[0]["scopes"] == ["read"] and results[0]["is_active"] is True


def test_create_returns_the_secret_once_and_it_works(api_client, user):
    api_client.force_login(user)
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    created = api_client.post(URL, {"name": "ci", "scopes": ["read", "write"], "expires_at": expires},
                              format="json")
    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    secret = body["key"]
    assert secret.startswith(f"tri_{body['prefix']}_")
    assert body["scopes"] == ["read", "write"] and body["expires_at"] is not None
    key = ApiKey.objects.get(prefix=body["prefix"])
    assert secret not in (key.hashed_key, key.name) and key.matches(secret)
    # Never again: neither the list nor the detail carries it.
    assert "key" not in api_client.get(f"{URL}{key.prefix}/").json()
    assert secret not in api_client.get(URL).content.decode()
    api_client.logout()
    assert api_client.get("/api/v1/systems/", **bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["superuser"]}, "scopes"),
        ({"scopes": "read"}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),  # admin scope is for staff only
        ({"scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"scopes": ["read"], "expires_at": "soon"}, "expires_at"),
        ({"scopes": ["read"], "name": "n" * 101}, "name"),
    ],
)
def test_bad_create_input_is_400_naming_the_field(api_client, user, payload, field):
    api_client.force_login(user)
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert ApiKey.objects.count() == 0


def test_delete_revokes_and_the_key_stops_working(api_client, user):
    key, secret = api_key_create(user=user, scopes=["read"])
    api_client.force_login(user)
    assert api_client.delete(f"{URL}{key.prefix}/").status_code == 204
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_client.get(f"{URL}{key.prefix}/").json()["is_active"] is False
    assert api_client.delete(f"{URL}{key.prefix}/").status_code == 204  # twice is fine
    api_client.logout()
    response = api_client.get("/api/v1/systems/", **bearer(secret))
    assert response.status_code == 401 and response.json()["detail"] == "This API key has been revoked."


def test_cannot_see_or_revoke_someone_elses_key(api_client, user, other_user):
    theirs, _ = api_key_create(user=other_user, scopes=["read"])
    api_client.force_login(user)
    assert api_client.get(f"{URL}{theirs.prefix}/").status_code == 404
    assert api_client.delete(f"{URL}{theirs.prefix}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_anonymous_gets_401(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, {"scopes": ["read"]}, format="json").status_code == 401


@pytest.mark.parametrize("scopes", [["read"], ["write"]])
def test_keys_without_admin_scope_cannot_manage_keys(api_client, user, scopes):
    _, secret = api_key_create(user=user, scopes=scopes)
    assert api_client.get(URL, **bearer(secret)).status_code == 403
    response = api_client.post(URL, {"scopes": ["read"]}, format="json", **bearer(secret))
    assert response.status_code == 403
    assert "admin scope" in response.json()["detail"]
    assert ApiKey.objects.count() == 1


def test_admin_scoped_key_of_staff_user_can_mint_keys(api_client, staff_user):
    _, secret = api_key_create(user=staff_user, scopes=["admin"])
    response = api_client.post(URL, {"scopes": ["read"]}, format="json", **bearer(secret))
    assert response.status_code == 201
    assert ApiKey.objects.filter(user=staff_user).count() == 2


def test_staff_session_can_create_an_admin_key(api_client, staff_user):
    api_client.force_login(staff_user)
    assert api_client.post(URL, {"scopes": ["admin"]}, format="json").status_code == 201
