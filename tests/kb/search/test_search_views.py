"""Search page, htmx fragments, API, query log and the staff gaps report."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from kb.models import ArticleVote, SearchQueryLog, Signature, Symptom
from kb.search import index_articles
from kb.services import article_create, article_vote, system_upsert

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def articles(db):
    system, _ = system_upsert(slug="ares", name="ARES")
    redis = article_create(system=system, title="Redis connection refused", summary="Workers cannot reach Redis.",
                           body="Start redis-server, then check `redis-cli ping`.", tags=["redis"])
    symptom = Symptom.objects.create(system=system, title="Redis refuses connections")
    symptom.articles.add(redis)
    Signature.objects.create(symptom=symptom, text="Error 111 connecting to localhost:6379. Connection refused.")
    index_articles([redis.pk])
    locked = article_create(system=system, title="Database is locked", summary="SQLite writers collide.",
                            body="Serialise the writes.", tags=["sqlite"])
    return {"redis": redis, "locked": locked}


def test_search_page_renders_results_without_javascript(client, articles):
    response = client.get(reverse("kb:search"), {"q": "redis"})
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "kb/search.html"
    body = response.content.decode()
    assert 'action="/search/"' in body and "Redis connection refused" in body
    assert "<mark>" in body
    assert "HX-Request" in response["Vary"]


def test_htmx_request_gets_only_the_results_fragment(client, articles):
    response = client.get(reverse("kb:search"), {"q": "redis"}, HTTP_HX_TARGET="search-results", **HX)
    assert [t.name for t in response.templates][0] == "kb/partials/search_results.html"
    assert "<html" not in response.content.decode()
    assert "Redis connection refused" in response.content.decode()


def test_fragments_vary_on_the_box_that_asked(client, articles):
    response = client.get(reverse("kb:search"), {"q": "redis"}, HTTP_HX_TARGET="main", **HX)
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in response["Vary"].split(",")}


def test_boosted_and_history_restore_requests_get_the_whole_page(client, articles):
    for extra in ({"HTTP_HX_BOOSTED": "true"}, {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}):
        response = client.get(reverse("kb:search"), {"q": "redis"}, HTTP_HX_TARGET="main", **HX, **extra)
        assert [t.name for t in response.templates][0] == "kb/search.html"


def test_header_search_drops_down_the_top_hits_and_a_link_to_all(client, articles):
    response = client.get(reverse("kb:search"), {"q": "redis"}, HTTP_HX_TARGET="header-search-results", **HX)
    body = response.content.decode()
    assert [t.name for t in response.templates][0] == "kb/partials/search_dropdown.html"
    assert "<html" not in body and "Redis connection refused" in body
    assert 'href="/search/?q=redis"' in body


def test_search_names_the_words_no_article_contains(client, articles):
    body = client.get(reverse("kb:search"), {"q": "redis zyxwvutsq"}).content.decode()
    assert "No article mentions <strong>zyxwvutsq</strong>" in body
    assert "Redis connection refused" in body
    assert "No article mentions <strong>redis" not in body


def test_search_page_title_follows_the_query(client, articles):
    body = client.get(reverse("kb:search"), {"q": "redis"}).content.decode()
    assert "<title>redis · Search · Triage</title>" in body


def test_home_and_header_include_the_live_search_boxes(client, articles):
    body = client.get(reverse("kb:home")).content.decode()
    assert 'hx-target="#home-search-results"' in body
    assert 'hx-target="#header-search-results"' in body
    assert "js/search.js" in body


def test_misspelled_search_shows_did_you_mean(client, articles):
    body = client.get(reverse("kb:search"), {"q": "reddis"}).content.decode()
    assert "showing results for" in body and "<strong>redis</strong>" in body
    assert "Redis connection refused" in body


@pytest.mark.parametrize(
    "query",
    ["", "   ", "!!!", "&|!():*'\\", '"unbalanced', "redis\x00", "\x00\x00", "x" * 10_000, "'; DROP TABLE kb_article;--",
     "<script>alert(1)</script>"],
)
def test_bad_queries_never_fail_the_page(client, articles, query):
    response = client.get(reverse("kb:search"), {"q": query})
    assert response.status_code in (200, 400)
    assert b"<script>alert(1)</script>" not in response.content


def test_too_long_query_is_a_400_with_a_message(client, articles):
    response = client.get(reverse("kb:search"), {"q": "word " * 2500})
    assert response.status_code == 400
    assert "at most 1,000" in response.content.decode()
    live = client.get(reverse("kb:search"), {"q": "word " * 2500}, **HX)
    assert live.status_code == 422  # swapped by htmx (see base.html), so the message shows while typing


def test_non_utf8_query_string_is_handled(client, articles):
    response = client.get("/search/?q=%ff%fe%00redis")
    assert response.status_code == 200
    assert "Redis connection refused" in response.content.decode()
    api = client.get("/api/v1/search/?q=%ff%fe%00redis")
    assert api.status_code == 200 and api.json()["count"] == 1


def test_api_returns_the_documented_shape(api_client, articles):
    response = api_client.get("/api/v1/search/", {"q": "conection refused"})
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= {"count", "results", "suggestion"}
    assert data["suggestion"] == "connection refused"
    first = data["results"][0]
    assert set(first) == {"id", "title", "system", "url", "highlight", "score"}
    assert first["title"] == "Redis connection refused" and first["system"] == "ares"
    assert first["url"].endswith(articles["redis"].get_absolute_url())


def test_api_filters_by_system_and_tag(api_client, articles):
    data = api_client.get("/api/v1/search/", {"q": "", "tag": "sqlite"}).json()
    assert [r["title"] for r in data["results"]] == ["Database is locked"]
    data = api_client.get("/api/v1/search/", {"q": "redis", "system": "other"}).json()
    assert data["count"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [({"q": ""}, "Type a few words"), ({"q": "&|!()"}, "Nothing searchable"), ({"q": "x" * 1001}, "at most 1,000"),
     ({"q": "redis", "page": "abc"}, "page"), ({"q": "redis", "page": "0"}, "page"),
     ({"q": "redis", "sort": "sideways"}, "sort")],
)
def test_api_rejects_unusable_input_with_400(api_client, articles, params, message):
    response = api_client.get("/api/v1/search/", params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_api_search_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/search/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "system", "tag", "page"}


def test_api_needs_login_when_public_read_is_off(api_client, articles, settings, read_key):
    settings.TRIAGE_PUBLIC_READ = False
    assert api_client.get("/api/v1/search/", {"q": "redis"}).status_code in (401, 403)
    response = api_client.get("/api/v1/search/", {"q": "redis"}, HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert response.status_code == 200


# --- query log and gaps ----------------------------------------------------------------------------


def test_typing_refines_one_log_row_instead_of_one_per_keystroke(client, articles):
    for partial in ("re", "red", "redi", "redis"):
        client.get(reverse("kb:search"), {"q": partial}, **HX)
    client.get(reverse("kb:search"), {"q": "locked"}, **HX)
    assert list(SearchQueryLog.objects.order_by("created_at").values_list("query", flat=True)) == ["redis", "locked"]


def test_opening_a_result_records_the_click_and_redirects(client, articles):
    client.get(reverse("kb:search"), {"q": "redis"})
    log = SearchQueryLog.objects.get()
    url = reverse("kb:search_open", args=[articles["redis"].pk]) + f"?log={log.pk}"
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == articles["redis"].get_absolute_url()
    log.refresh_from_db()
    assert log.clicked_article == articles["redis"]


def test_someone_elses_log_is_not_touched_by_a_click(client, articles):
    log = SearchQueryLog.objects.create(query="redis", normalized="redis", result_count=1, session_key="other")
    client.get(reverse("kb:search_open", args=[articles["redis"].pk]) + f"?log={log.pk}")
    log.refresh_from_db()
    assert log.clicked_article is None


def test_gaps_report_is_staff_only(client, articles, user, staff_user):
    assert client.get(reverse("kb:search_gaps")).status_code == 302
    client.force_login(user)
    assert client.get(reverse("kb:search_gaps")).status_code == 403
    client.force_login(staff_user)
    assert client.get(reverse("kb:search_gaps")).status_code == 200


def test_gaps_report_lists_zero_result_and_not_helpful_searches(client, articles, user, staff_user):
    client.force_login(user)
    client.get(reverse("kb:search"), {"q": "kubernetes ingress 502"})
    client.get(reverse("kb:search"), {"q": "redis"})
    redis_log = SearchQueryLog.objects.get(normalized="redis")
    client.get(reverse("kb:search_open", args=[articles["redis"].pk]) + f"?log={redis_log.pk}")
    article_vote(article=articles["redis"], helpful=False, user=user, session_key="")
    client.force_login(staff_user)
    body = client.get(reverse("kb:search_gaps")).content.decode()
    assert "kubernetes ingress 502" in body
    assert "Redis connection refused" in body.split("not helpful")[-1]
    assert ArticleVote.objects.count() == 1


def test_a_helpful_vote_is_not_a_gap(client, articles, user, staff_user):
    client.force_login(user)
    client.get(reverse("kb:search"), {"q": "redis"})
    log = SearchQueryLog.objects.get()
    client.get(reverse("kb:search_open", args=[articles["redis"].pk]) + f"?log={log.pk}")
    article_vote(article=articles["redis"], helpful=True, user=user, session_key="")
    client.force_login(staff_user)
    from kb.search import search_gaps

    assert list(search_gaps()["not_helpful"]) == []


def test_drafts_never_leak_through_search_open(client, articles):
    draft = article_create(system=articles["redis"].system, title="Secret draft", body="x", status="draft")
    assert client.get(reverse("kb:search_open", args=[draft.pk])).status_code == 404
    staff = User.objects.create(username="boss", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("kb:search_open", args=[draft.pk])).status_code == 302


def test_live_results_on_the_search_page_carry_the_new_title(client, articles):
    response = client.get(reverse("kb:search"), {"q": "redis"}, HTTP_HX_TARGET="search-results", **HX)
    assert "<title>redis · Search · Triage</title>" in response.content.decode()
