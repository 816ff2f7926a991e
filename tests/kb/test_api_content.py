"""What the knowledge-base API returns: filters, pagination, nested signatures, votes, sanitised HTML."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kb.models import Article, ArticleVote
from kb.services import article_create
from tests.factories import (
    ArticleFactory,
    SignatureFactory,
    SolutionFactory,
    SymptomFactory,
    SystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Factory users get passwords; the production hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def ids(response) -> list[int]:
    return sorted(item["id"] for item in response.json()["results"])


def test_articles_paginate_25_per_page_with_links(api_client):
    system = SystemFactory()
    ArticleFactory.create_batch(30, system=system)
    first = api_client.get("/api/v1/articles/").json()
    assert first["count"] == 30 and len(first["results"]) == 25
    assert first["previous"] is None and first["next"].endswith("/api/v1/articles/?page=2")
    second = api_client.get("/api/v1/articles/?page=2").json()
    assert len(second["results"]) == 5 and second["next"] is None


def test_page_size_is_adjustable_but_capped(api_client):
    ArticleFactory.create_batch(3, system=SystemFactory())
    assert len(api_client.get("/api/v1/articles/?page_size=2").json()["results"]) == 2
    response = api_client.get("/api/v1/articles/?page_size=100000")
    assert response.status_code == 200 and len(response.json()["results"]) == 3


def test_page_past_the_end_is_404_json(api_client):
    ArticleFactory(system=SystemFactory())
    response = api_client.get("/api/v1/articles/?page=9")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "not_found", "detail": "Invalid page."}


def test_article_list_leaves_out_bodies_but_detail_has_them(api_client):
    article = ArticleFactory(system=SystemFactory())
    listed = api_client.get("/api/v1/articles/").json()["results"][0]
    assert "body" not in listed and "body_html" not in listed
    detail = api_client.get(f"/api/v1/articles/{article.pk}/").json()
    assert detail["body"] == article.body and detail["body_html"] == article.body_html
    assert detail["url"] == "http://testserver" + article.get_absolute_url()


def test_filter_articles_by_system_tag_status_and_updated_after(api_client, staff_user):
    ares, orch = SystemFactory(slug="ares"), SystemFactory(slug="orchestrator")
    a1 = article_create(system=ares, title="Port busy", body="x", tags=["network"])
    a2 = article_create(system=ares, title="Disk full", body="x", tags=["storage", "network"])
    a3 = article_create(system=orch, title="Queue stuck", body="x", tags=["storage"], status="draft")
    Article.objects.filter(pk=a1.pk).update(updated_at=timezone.now() - timedelta(days=10))

    assert ids(api_client.get("/api/v1/articles/?system=ares")) == [a1.pk, a2.pk]
    assert ids(api_client.get("/api/v1/articles/?tag=network")) == [a1.pk, a2.pk]
    assert ids(api_client.get("/api/v1/articles/?system=ares&tag=storage")) == [a2.pk]
    assert ids(api_client.get("/api/v1/articles/?system=nope")) == []
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(api_client.get("/api/v1/articles/", {"updated_after": since})) == [a2.pk]
    # Anonymous readers never see drafts, even when asking for them.
    assert ids(api_client.get("/api/v1/articles/?status=draft")) == []
    api_client.force_login(staff_user)
    assert ids(api_client.get("/api/v1/articles/?status=draft")) == [a3.pk]
    assert ids(api_client.get("/api/v1/articles/?tag=storage")) == [a2.pk, a3.pk]


def test_bad_filter_value_is_400_naming_the_field(api_client):
    response = api_client.get("/api/v1/articles/?updated_after=yesterday-ish&status=gone")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and set(body["fields"]) == {"updated_after", "status"}


def test_ordering_by_helpful_count(api_client):
    system = SystemFactory()
    low, high = ArticleFactory(system=system, helpful_count=1), ArticleFactory(system=system, helpful_count=9)
    results = api_client.get("/api/v1/articles/?ordering=-helpful_count").json()["results"]
    assert [a["id"] for a in results] == [high.pk, low.pk]


def test_symptoms_nest_signatures_and_list_solutions_in_rank_order(api_client):
    system = SystemFactory(slug="ares")
    symptom = SymptomFactory(system=system, title="Port in use")
    SignatureFactory(symptom=symptom, text="EADDRINUSE")
    SignatureFactory(symptom=symptom, kind="pattern", text=r"address already in use: \d+")
    first, second = SolutionFactory(system=system), SolutionFactory(system=system)
    symptom.solutions.add(second, through_defaults={"rank": 2})
    symptom.solutions.add(first, through_defaults={"rank": 1})
    visible = ArticleFactory(system=system)
    draft = ArticleFactory(system=system, status="draft")
    symptom.articles.add(visible, draft)

    body = api_client.get(f"/api/v1/symptoms/{symptom.pk}/").json()
    assert [(s["kind"], s["text"]) for s in body["signatures"]] == [
        ("literal", "EADDRINUSE"), ("pattern", r"address already in use: \d+"),
    ]
    assert body["solutions"] == [first.pk, second.pk]
    assert body["articles"] == [visible.pk]
    assert ids(api_client.get(f"/api/v1/symptoms/?article={visible.pk}")) == [symptom.pk]
    assert ids(api_client.get("/api/v1/symptoms/?system=other")) == []
    assert ids(api_client.get(f"/api/v1/solutions/?symptom={symptom.pk}")) == [first.pk, second.pk]


def test_symptom_list_query_count_does_not_grow_with_rows(api_client, django_assert_max_num_queries):
    system = SystemFactory()
    for _ in range(8):
        SignatureFactory(symptom=SymptomFactory(system=system))
    with django_assert_max_num_queries(6):
        assert api_client.get("/api/v1/symptoms/").json()["count"] == 8


def test_systems_are_looked_up_by_slug_and_show_only_web_links(api_client):
    db = SystemFactory(slug="postgres")
    system = SystemFactory(slug="ares", links=[{"label": "Runbook", "url": "https://example.org/rb"},
                                               {"label": "Evil", "url": "javascript:alert(1)"}])
    system.depends_on.add(db)
    body = api_client.get("/api/v1/systems/ares/").json()
    assert body["links"] == [{"label": "Runbook", "url": "https://example.org/rb"}]
    assert body["depends_on"] == ["postgres"]
    assert api_client.get("/api/v1/systems/missing/").status_code == 404


def test_revisions_filter_by_article_newest_first(api_client, staff_user):
    system = SystemFactory()
    article = article_create(system=system, title="One", body="v1")
    other = article_create(system=system, title="Two", body="x")
    from kb.services import article_update

    article_update(article=article, body="v2", author=staff_user, note="second")
    results = api_client.get(f"/api/v1/revisions/?article={article.pk}").json()["results"]
    assert [(r["number"], r["body"], r["note"]) for r in results] == [(2, "v2", "second"), (1, "v1", "Created")]
    assert other.pk not in {r["article"] for r in results}
    assert api_client.get("/api/v1/revisions/?article=abc").status_code == 400


def test_votes_move_counters_and_a_changed_vote_moves_them_back(api_client, write_key):
    article = ArticleFactory(system=SystemFactory())
    url = f"/api/v1/articles/{article.pk}/vote/"
    first = api_client.post(url, {"helpful": True}, format="json", **bearer(write_key))
    assert first.status_code == 200
    assert first.json() == {"helpful": True, "helpful_count": 1, "not_helpful_count": 0}
    again = api_client.post(url, {"helpful": True}, format="json", **bearer(write_key))
    assert again.json()["helpful_count"] == 1  # one vote per user
    changed = api_client.post(url, {"helpful": False, "comment": "Step 3 is wrong"}, format="json",
                              **bearer(write_key))
    assert changed.json() == {"helpful": False, "helpful_count": 0, "not_helpful_count": 1}
    assert ArticleVote.objects.get(article=article).comment == "Step 3 is wrong"
    article.refresh_from_db()
    assert (article.helpful_count, article.not_helpful_count) == (0, 1)


def test_votes_from_two_users_both_count(api_client, write_key):
    article = ArticleFactory(system=SystemFactory())
    api_client.force_login(UserFactory(username="carol"))
    api_client.post(f"/api/v1/articles/{article.pk}/vote/", {"helpful": True}, format="json")
    api_client.logout()
    response = api_client.post(f"/api/v1/articles/{article.pk}/vote/", {"helpful": True}, format="json",
                               **bearer(write_key))
    assert response.json()["helpful_count"] == 2


def test_vote_needs_helpful_and_a_visible_article(api_client, write_key):
    article = ArticleFactory(system=SystemFactory())
    missing = api_client.post(f"/api/v1/articles/{article.pk}/vote/", {}, format="json", **bearer(write_key))
    assert missing.status_code == 400 and "helpful" in missing.json()["fields"]
    draft = ArticleFactory(system=SystemFactory(), status="draft")
    hidden = api_client.post(f"/api/v1/articles/{draft.pk}/vote/", {"helpful": True}, format="json",
                             **bearer(write_key))
    assert hidden.status_code == 404
    assert ArticleVote.objects.count() == 0


def test_anonymous_cannot_vote_through_the_api(api_client):
    article = ArticleFactory(system=SystemFactory())
    response = api_client.post(f"/api/v1/articles/{article.pk}/vote/", {"helpful": True}, format="json")
    assert response.status_code == 401
    assert ArticleVote.objects.count() == 0


def test_script_and_event_handlers_in_article_body_are_removed_from_body_html(api_client, staff_admin_key):
    SystemFactory(slug="ares")
    body = (
        "Hello <script>alert('x')</script>\n\n"
        "<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(2))\n\n"
        '<a href="javascript:alert(3)" onclick="evil()">link</a>\n\n'
        "<iframe src=https://example.org></iframe>\n"
    )
    response = api_client.post("/api/v1/articles/", {"system": "ares", "title": "<b>t</b>", "body": body},
                               format="json", **bearer(staff_admin_key))
    assert response.status_code == 201
    html = response.json()["body_html"].lower()
    for bad in ("<script", "onerror", "javascript:", "onclick", "<iframe"):
        assert bad not in html
    assert response["Content-Type"] == "application/json"
    stored = Article.objects.get(pk=response.json()["id"])
    assert "<script" not in stored.body_html.lower()


def test_browsable_api_renders_for_a_signed_in_browser(api_client, staff_user):
    ArticleFactory(system=SystemFactory())
    api_client.force_login(staff_user)
    response = api_client.get("/api/v1/articles/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_symptoms_of_draft_only_articles_are_not_public(api_client, django_user_model):
    system = SystemFactory(slug="hermes")
    secret = SymptomFactory(system=system, title="Unreleased failure mode")
    secret.articles.add(ArticleFactory(system=system, status="draft"))
    mixed = SymptomFactory(system=system, title="Port in use")
    mixed.articles.add(ArticleFactory(system=system, status="draft"), ArticleFactory(system=system))
    standalone = SymptomFactory(system=system, title="Seen in logs")

    assert sorted(ids(api_client.get("/api/v1/symptoms/?system=hermes"))) == sorted([mixed.pk, standalone.pk])
    assert api_client.get(f"/api/v1/symptoms/{secret.pk}/").status_code == 404
    staff = django_user_model.objects.create_user("editor", password="x", is_staff=True)
    api_client.force_authenticate(staff)
    assert api_client.get(f"/api/v1/symptoms/{secret.pk}/").status_code == 200
