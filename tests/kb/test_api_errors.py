"""Every API failure is JSON with a clear message and the right status code."""

import json

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts import api
from kb import selectors, services
from kb.models import Article
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Factory users get passwords; the production hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_missing_fields_are_400_with_per_field_messages(api_client, staff_admin_key):
    response = api_client.post("/api/v1/articles/", {"title": ""}, format="json", **bearer(staff_admin_key))
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["error"] == "invalid"
    assert body["detail"].startswith("Invalid input: ")
    assert body["fields"]["title"] == ["This field may not be blank."]
    assert body["fields"]["body"] == ["This field is required."]
    assert body["fields"]["system"] == ["This field is required."]


def test_unknown_system_and_bad_status_are_field_errors(api_client, staff_admin_key):
    response = api_client.post("/api/v1/articles/", {"system": "nope", "title": "t", "body": "b", "status": "gone",
                                                     "tags": "not-a-list"}, format="json",
                               **bearer(staff_admin_key))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"system", "status", "tags"}
    assert Article.objects.count() == 0


def test_heading_path_longer_than_the_model_allows_is_a_field_error(api_client, staff_admin_key):
    SystemFactory(slug="ares")
    response = api_client.post("/api/v1/articles/", {"system": "ares", "title": "t", "body": "b",
                                                     "heading_path": "x" * 501}, format="json",
                               **bearer(staff_admin_key))
    assert response.status_code == 400
    assert "heading_path" in response.json()["fields"]


@pytest.mark.parametrize(
    ("error", "fields", "detail"),
    [
        (ValidationError({"title": ["Already taken."]}), {"title": ["Already taken."]},
         "Invalid input: title: Already taken."),
        (ValidationError("Not allowed right now."), {"non_field_errors": ["Not allowed right now."]},
         "Invalid input: Not allowed right now."),
        (ValidationError({"__all__": ["Title and system clash."]}), {"non_field_errors": ["Title and system clash."]},
         "Invalid input: Title and system clash."),
    ],
)
def test_service_validation_errors_come_back_as_400_field_errors(api_client, staff_admin_key, monkeypatch,
                                                                 error, fields, detail):
    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(services, "article_create", refuse)
    SystemFactory(slug="ares")
    response = api_client.post("/api/v1/articles/", {"system": "ares", "title": "t", "body": "b"}, format="json",
                               **bearer(staff_admin_key))
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "invalid", "detail": detail, "fields": fields}


def test_malformed_json_is_400(api_client, staff_admin_key):
    response = api_client.generic("POST", "/api/v1/articles/", "{not json", content_type="application/json",
                                  **bearer(staff_admin_key))
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")


def test_unsupported_media_type_is_415(api_client, staff_admin_key):
    response = api_client.generic("POST", "/api/v1/articles/", "title: x", content_type="application/yaml",
                                  **bearer(staff_admin_key))
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_missing_object_is_404_json(api_client):
    response = api_client.get("/api/v1/articles/987654/")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "not_found", "detail": "Not found."}


def test_unknown_api_url_is_404_json_not_html(api_client):
    for url in ("/api/v1/no-such-thing/", "/api/v1/articles/not-a-number/", "/api/nothing"):
        response = api_client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "not_found"


def test_errors_outside_the_api_are_left_to_django_pages(monkeypatch):
    # The HTML error pages belong to the site; the handlers must hand non-API paths straight over.
    calls = []
    for name in ("page_not_found", "server_error", "bad_request", "permission_denied"):
        monkeypatch.setattr(api.defaults, name,
                            lambda request, *args, name=name: calls.append(name) or HttpResponse("page"))
    page = RequestFactory().get("/systems/x/")
    assert api.not_found(page, Http404()).content == b"page"
    assert api.server_error(page).content == b"page"
    assert api.bad_request(page, SuspiciousOperation()).content == b"page"
    assert api.permission_denied(page, PermissionDenied()).content == b"page"
    assert calls == ["page_not_found", "server_error", "bad_request", "permission_denied"]


def test_an_oversize_form_body_is_a_413_page_naming_the_limit(settings):
    response = api.bad_request(RequestFactory().post("/systems/x/"), RequestDataTooBig())
    assert response.status_code == 413
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE).encode() in response.content


def test_django_level_403_under_api_is_json():
    response = api.permission_denied(RequestFactory().get("/api/v1/x/"), PermissionDenied())
    assert response.status_code == 403
    assert json.loads(response.content)["error"] == "permission_denied"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_oversize_body_is_413_json_and_nothing_is_saved(api_client, staff_admin_key, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    SystemFactory(slug="ares")
    if content_type == "application/json":
        payload = json.dumps({"system": "ares", "title": "Big", "body": "x" * 5000})
    else:
        payload = "system=ares&title=Big&body=" + "x" * 5000
    response = api_client.generic("POST", "/api/v1/articles/", payload, content_type=content_type,
                                  **bearer(staff_admin_key))
    assert response.status_code == 413
    assert response.json() == {"status": 413, "error": "request_too_large",
                               "detail": "Request body too large: the limit is 1024 bytes."}
    assert Article.objects.count() == 0


def test_oversize_multipart_field_is_413(api_client, staff_admin_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    SystemFactory(slug="ares")
    response = api_client.post("/api/v1/articles/", {"system": "ares", "title": "Big", "body": "x" * 5000},
                               format="multipart", **bearer(staff_admin_key))
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_body_under_the_limit_is_accepted(api_client, staff_admin_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    SystemFactory(slug="ares")
    response = api_client.post("/api/v1/articles/", {"system": "ares", "title": "Small", "body": "ok"},
                               format="json", **bearer(staff_admin_key))
    assert response.status_code == 201


def test_django_level_request_too_big_under_api_is_413_json(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = api.bad_request(RequestFactory().post("/api/v1/articles/"), RequestDataTooBig("too big"))
    assert response.status_code == 413
    assert json.loads(response.content) == {"status": 413, "error": "request_too_large",
                                            "detail": "Request body too large: the limit is 10 bytes."}


def test_throttled_requests_get_429_with_retry_after(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "3/min", "user": "1000/min"}}
    statuses = [api_client.get("/api/v1/systems/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api_client.get("/api/v1/systems/")
    body = response.json()
    assert body["status"] == 429 and body["error"] == "throttled"
    assert body["detail"].startswith("Request was throttled.")
    assert 0 < body["retry_after"] <= 60
    assert int(response["Retry-After"]) == body["retry_after"]


def test_user_throttle_counts_per_user_across_keys(api_client, settings, read_key, user):
    from accounts.services import api_key_create

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "2/min"}}
    second_key = api_key_create(user=user, scopes=["read"])[1]
    assert api_client.get("/api/v1/systems/", **bearer(read_key)).status_code == 200
    assert api_client.get("/api/v1/systems/", **bearer(second_key)).status_code == 200
    assert api_client.get("/api/v1/systems/", **bearer(read_key)).status_code == 429


def test_unexpected_crash_under_api_is_500_json(monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "system_list_with_dependencies", boom)
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/v1/systems/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": 500, "error": "server_error",
                               "detail": "Internal server error; it has been logged."}
    assert "fire" not in response.content.decode()


def test_article_with_unrenderable_markdown_is_a_400_field_error(api_client, staff_user):
    from kb.models import Article

    from ..factories import SystemFactory

    system = SystemFactory(slug="ares")
    api_client.force_authenticate(staff_user)
    response = api_client.post("/api/v1/articles/", {"system": "ares", "title": "Deep", "body": "- " * 3000 + "x"},
                               format="json")
    assert response.status_code == 400
    assert "nesting too deep" in response.json()["fields"]["body"][0]
    assert not Article.objects.filter(system=system).exists()
