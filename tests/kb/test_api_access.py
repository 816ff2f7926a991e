"""Who may do what on the knowledge-base API: anonymous, read/write keys, staff and non-staff, bad keys."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from kb.models import Article, ArticleRevision
from kb.services import article_create
from tests.factories import ArticleFactory, SignatureFactory, SolutionFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Factory users get passwords; the production hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def kb_content(staff_user):
    system = SystemFactory(slug="ares", name="ARES")
    article = article_create(system=system, title="Port already in use", body="Free the port.", author=staff_user)
    signature = SignatureFactory(symptom__system=system, text="EADDRINUSE")
    signature.symptom.articles.add(article)
    solution = SolutionFactory(system=system)
    return {"system": system, "article": article, "symptom": signature.symptom, "solution": solution}


def read_urls(kb: dict) -> list[str]:
    revision = kb["article"].revisions.get()
    return [
        "/api/v1/systems/", f"/api/v1/systems/{kb['system'].slug}/",
        "/api/v1/articles/", f"/api/v1/articles/{kb['article'].pk}/",
        "/api/v1/revisions/", f"/api/v1/revisions/{revision.pk}/",
        "/api/v1/symptoms/", f"/api/v1/symptoms/{kb['symptom'].pk}/",
        "/api/v1/solutions/", f"/api/v1/solutions/{kb['solution'].pk}/",
    ]


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def new_article(system_slug: str = "ares", **extra) -> dict:
    return {"system": system_slug, "title": "Disk full", "body": "Delete old logs.", **extra}


def test_anonymous_reads_every_kb_endpoint_when_public_read_is_on(api_client, kb_content, settings):
    settings.TRIAGE_PUBLIC_READ = True
    for url in read_urls(kb_content):
        response = api_client.get(url)
        assert response.status_code == 200, url


def test_anonymous_gets_401_with_bearer_challenge_when_public_read_is_off(api_client, kb_content, settings):
    settings.TRIAGE_PUBLIC_READ = False
    for url in read_urls(kb_content):
        response = api_client.get(url)
        assert response.status_code == 401, url
        assert response.json()["error"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_read_key_reads_every_endpoint_when_public_read_is_off(api_client, kb_content, read_key, settings):
    settings.TRIAGE_PUBLIC_READ = False
    for url in read_urls(kb_content):
        assert api_client.get(url, **bearer(read_key)).status_code == 200, url


def test_read_key_cannot_write(api_client, kb_content, staff_user):
    staff_read_key = api_key_create(user=staff_user, scopes=["read"])[1]
    article = kb_content["article"]
    create = api_client.post("/api/v1/articles/", new_article(), format="json", **bearer(staff_read_key))
    update = api_client.patch(f"/api/v1/articles/{article.pk}/", {"title": "x"}, format="json",
                              **bearer(staff_read_key))
    vote = api_client.post(f"/api/v1/articles/{article.pk}/vote/", {"helpful": True}, format="json",
                           **bearer(staff_read_key))
    for response in (create, update, vote):
        assert response.status_code == 403
        assert response.json() == {"status": 403, "error": "permission_denied",
                                   "detail": "This API key lacks the write scope."}
    assert Article.objects.count() == 1


def test_write_key_of_non_staff_user_cannot_create_or_edit_articles(api_client, kb_content, write_key):
    article = kb_content["article"]
    create = api_client.post("/api/v1/articles/", new_article(), format="json", **bearer(write_key))
    update = api_client.patch(f"/api/v1/articles/{article.pk}/", {"title": "Hijacked"}, format="json",
                              **bearer(write_key))
    assert create.status_code == update.status_code == 403
    assert create.json()["detail"] == "Only staff can change the knowledge base."
    article.refresh_from_db()
    assert article.title == "Port already in use"
    assert Article.objects.count() == 1


def test_non_staff_session_cannot_create_articles(api_client, kb_content, user):
    api_client.force_login(user)
    response = api_client.post("/api/v1/articles/", new_article(), format="json")
    assert response.status_code == 403


def test_anonymous_write_is_401(api_client, kb_content):
    response = api_client.post("/api/v1/articles/", new_article(), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_staff_session_creates_and_updates_an_article_with_revisions(api_client, kb_content, staff_user):
    api_client.force_login(staff_user)
    created = api_client.post("/api/v1/articles/", new_article(tags=["Disk", "storage"], note="first cut"),
                              format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    article = Article.objects.get(pk=body["id"])
    assert created["Location"] == f"/api/v1/articles/{article.pk}/"
    assert body["system"] == "ares" and body["author"] == "sam" and sorted(body["tags"]) == ["disk", "storage"]
    assert "<p>Delete old logs.</p>" in body["body_html"]
    assert list(article.revisions.values_list("number", "note")) == [(1, "first cut")]

    updated = api_client.patch(f"/api/v1/articles/{article.pk}/", {"body": "Rotate logs.", "note": "better"},
                               format="json")
    assert updated.status_code == 200
    assert "Rotate logs." in updated.json()["body_html"]
    assert list(article.revisions.order_by("number").values_list("number", "body", "author__username")) == [
        (1, "Delete old logs.", "sam"), (2, "Rotate logs.", "sam"),
    ]


def test_staff_write_key_creates_and_replaces_an_article(api_client, kb_content, staff_admin_key):
    created = api_client.post("/api/v1/articles/", new_article(status="draft"), format="json",
                              **bearer(staff_admin_key))
    assert created.status_code == 201
    pk = created.json()["id"]
    replaced = api_client.put(f"/api/v1/articles/{pk}/", {"title": "Disk full on /var", "body": "Grow it."},
                              format="json", **bearer(staff_admin_key))
    assert replaced.status_code == 200
    assert replaced.json()["title"] == "Disk full on /var"
    assert replaced.json()["status"] == "draft"  # left out of the PUT, so kept
    assert ArticleRevision.objects.filter(article_id=pk).count() == 2


def test_put_without_title_and_body_is_400(api_client, kb_content, staff_admin_key):
    pk = kb_content["article"].pk
    response = api_client.put(f"/api/v1/articles/{pk}/", {"summary": "only this"}, format="json",
                              **bearer(staff_admin_key))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"title", "body"}


def test_update_that_changes_nothing_adds_no_revision(api_client, kb_content, staff_admin_key):
    article = kb_content["article"]
    response = api_client.patch(f"/api/v1/articles/{article.pk}/", {"title": article.title}, format="json",
                                **bearer(staff_admin_key))
    assert response.status_code == 200
    assert article.revisions.count() == 1


def test_articles_cannot_be_deleted_through_the_api(api_client, kb_content, staff_admin_key):
    response = api_client.delete(f"/api/v1/articles/{kb_content['article'].pk}/", **bearer(staff_admin_key))
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_read_only_endpoints_refuse_writes_even_for_staff(api_client, kb_content, staff_admin_key):
    for url in ("/api/v1/systems/", "/api/v1/symptoms/", "/api/v1/solutions/", "/api/v1/revisions/"):
        assert api_client.post(url, {}, format="json", **bearer(staff_admin_key)).status_code == 405, url


def test_drafts_and_their_revisions_are_hidden_from_non_staff(api_client, kb_content, read_key, staff_user):
    draft = article_create(system=kb_content["system"], title="Secret plan", body="x", status="draft")
    revision = draft.revisions.get()
    assert api_client.get(f"/api/v1/articles/{draft.pk}/", **bearer(read_key)).status_code == 404
    assert api_client.get(f"/api/v1/revisions/{revision.pk}/", **bearer(read_key)).status_code == 404
    listed = api_client.get("/api/v1/articles/", **bearer(read_key)).json()
    assert draft.pk not in [a["id"] for a in listed["results"]]
    api_client.force_login(staff_user)
    assert api_client.get(f"/api/v1/articles/{draft.pk}/").status_code == 200
    assert api_client.get(f"/api/v1/revisions/{revision.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer nonsense", "Malformed API key: expected 'Bearer tri_<prefix>_<secret>'."),
        ("Bearer ", "Malformed API key: expected 'Bearer tri_<prefix>_<secret>'."),
        ("Bearer tri_zzzz\x00zz_abcdefghijklmnopqrstuv", "Malformed API key: expected 'Bearer tri_<prefix>_<secret>'."),
        ("Bearer tri_0123abcd_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "Invalid API key."),
    ],
)
def test_wrong_or_malformed_key_is_401_with_clear_message(api_client, kb_content, header, message):
    response = api_client.get("/api/v1/articles/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == {"status": 401, "error": "authentication_failed", "detail": message}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_right_prefix_with_wrong_secret_is_401(api_client, kb_content, read_key):
    tampered = read_key[:-4] + ("AAAA" if not read_key.endswith("AAAA") else "BBBB")
    response = api_client.get("/api/v1/articles/", **bearer(tampered))
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid API key."


def test_expired_key_is_401(api_client, kb_content, user):
    key, secret = api_key_create(user=user, scopes=["read"], expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.get("/api/v1/articles/", **bearer(secret))
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has expired."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(api_client, kb_content, user):
    key, secret = api_key_create(user=user, scopes=["read"])
    api_key_revoke(key=key)
    response = api_client.get("/api/v1/articles/", **bearer(secret))
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has been revoked."


def test_key_of_inactive_user_is_401(api_client, kb_content, user, read_key):
    user.is_active = False
    user.save()
    response = api_client.get("/api/v1/articles/", **bearer(read_key))
    assert response.status_code == 401
    assert response.json()["detail"] == "The owner of this API key is inactive."


def test_session_writes_need_a_csrf_token(kb_content, staff_user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/v1/articles/", new_article(), format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Article.objects.count() == 1


def test_using_a_key_records_last_used_at(api_client, kb_content, user, read_key):
    key = ApiKey.objects.get(user=user)
    assert key.last_used_at is None
    assert api_client.get("/api/v1/systems/", **bearer(read_key)).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(minutes=1)


def test_article_list_uses_a_fixed_number_of_queries(api_client, kb_content, django_assert_max_num_queries):
    for _ in range(10):
        ArticleFactory(system=kb_content["system"])
    with django_assert_max_num_queries(6):
        response = api_client.get("/api/v1/articles/")
    assert response.json()["count"] == 11
