"""Body limits and per-address rate limits applied by URL name (common.middleware.RequestGuardMiddleware)."""

import json

import pytest

from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def declared_post(client, path, size, content_type="application/json", **extra):
    """A POST that declares `size` bytes but sends a tiny body: the guard must answer from the header."""
    return client.generic("POST", path, b"{}", content_type=content_type, CONTENT_LENGTH=str(size), **extra)


def test_a_body_over_the_default_limit_is_refused_before_reading(client, settings):
    response = declared_post(client, "/api/v1/incidents/", settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "request_too_large"
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in body["detail"]


def test_default_body_limit_is_small(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 3 * 1024 * 1024


def test_html_forms_get_a_413_page(client, settings):
    response = declared_post(client, "/incidents/action-items/", settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert b"Request body too large" in response.content


def test_anonymous_match_gets_the_smaller_limit(client, settings):
    response = declared_post(client, "/api/v1/match/", settings.TRIAGE_ANONYMOUS_UPLOAD_MAX_BYTES + 2 * 1024 * 1024)
    assert response.status_code == 413


def test_upload_views_refuse_past_their_own_limit(client, staff_user, settings):
    client.force_login(staff_user)
    response = declared_post(client, "/import/", settings.TRIAGE_IMPORT_MAX_REQUEST_BYTES + 1,
                             content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413


def test_json_match_larger_than_the_default_limit_is_read_for_signed_in_users(client, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client.force_login(user)
    text = "connection refused\n" * 200  # ~4 kB, over the lowered default limit
    response = client.post("/api/v1/match/", json.dumps({"text": text}), content_type="application/json")
    assert response.status_code == 200


@pytest.fixture
def tight_limits(settings):
    settings.TRIAGE_RATE_LIMITS = {
        "login": {"rate": "2/m", "methods": ["POST"], "views": ["login"]},
        "search": {"rate": "2/m", "methods": ["GET"], "views": ["kb:search", "kb-search"]},
        "vote": {"rate": "1/m", "methods": ["POST"], "views": ["kb:article_vote", "kb-article-vote"]},
    }


def test_login_is_rate_limited_per_address(client, tight_limits):
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 200
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"Too many requests" in response.content
    # Another address has its own budget.
    other = client.post("/accounts/login/", {"username": "x", "password": "y"}, REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200


def test_search_page_and_api_share_one_budget(client, tight_limits):
    assert client.get("/search/", {"q": "redis"}).status_code == 200
    assert client.get("/api/v1/search/", {"q": "redis"}).status_code == 200
    response = client.get("/api/v1/search/", {"q": "redis"})
    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert response.json()["retry_after"] >= 1


def test_rate_limited_htmx_request_gets_a_swappable_notice(client, tight_limits):
    for _ in range(2):
        client.get("/search/", {"q": "redis"})
    response = client.get("/search/", {"q": "redis"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert b"Too many requests" in response.content


def test_votes_are_rate_limited(api_client, user, tight_limits):
    article = ArticleFactory()
    api_client.force_authenticate(user)
    url = f"/api/v1/articles/{article.pk}/vote/"
    assert api_client.post(url, {"helpful": True}, format="json").status_code in (200, 201)
    assert api_client.post(url, {"helpful": True}, format="json").status_code == 429


def test_reads_of_unlisted_views_are_not_rate_limited(client, tight_limits):
    for _ in range(5):
        assert client.get("/").status_code == 200
