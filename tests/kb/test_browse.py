"""Browsing the knowledge base: home, system and article pages, drafts, related articles, history and diffs."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from kb import selectors, services
from kb.models import Article
from kb.templatetags import kb_tags
from tests.factories import SignatureFactory, SolutionFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The default hasher costs ~0.3 s per user created; these tests are about pages, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

BODY = "## Check the port\n\nRun this:\n\n```bash\nss -ltnp | grep 8100\n```\n\n## Restart\n\nThen restart it.\n"


def templates_used(response) -> set[str]:
    return {t.name for t in response.templates if t.name}


@pytest.fixture
def system():
    return SystemFactory(name="Orchestrator", slug="orchestrator", description="Runs the agent pipeline.",
                         links=[{"label": "Health", "url": "https://example.com/health"},
                                {"label": "Evil", "url": "javascript:alert(1)"}])


@pytest.fixture
def article(system, staff_user):
    return services.article_create(
        system=system, title="Port 8100 already in use", body=BODY, summary="Another process holds the port.",
        heading_path="Common Issues / Server Won't Start / Port Already in Use", tags=["network", "startup"],
        author=staff_user,
    )


@pytest.fixture
def draft(system, staff_user):
    return services.article_create(system=system, title="Half-written runbook", body="Not ready.",
                                   status=Article.Status.DRAFT, author=staff_user)


def article_url(article: Article, name: str = "kb:article_detail") -> str:
    return reverse(name, kwargs={"system_slug": article.system.slug, "slug": article.slug})


# --- home ---------------------------------------------------------------------------------------

def test_home_lists_systems_with_published_article_counts_and_keeps_feature_includes(client, article, draft):
    response = client.get(reverse("kb:home"))
    assert response.status_code == 200
    used = templates_used(response)
    assert {"kb/home.html", "kb/partials/search_box.html", "kb/partials/paste_box.html",
            "partials/header_search.html", "kb/partials/article_list.html"} <= used
    systems = list(response.context["systems"])
    assert [(s.name, s.article_count) for s in systems] == [("Orchestrator", 1)]
    assert "1 article<" in response.content.decode()
    assert [a.pk for a in response.context["recent_articles"]] == [article.pk]


def test_home_counts_drafts_for_staff_only(client, staff_user, article, draft):
    client.force_login(staff_user)
    response = client.get(reverse("kb:home"))
    assert [s.article_count for s in response.context["systems"]] == [2]
    assert draft in response.context["recent_articles"]


def test_home_most_helpful_lists_only_voted_articles_best_first(client, system, article):
    other = services.article_create(system=system, title="Slow responses", body="Check the queue.")
    services.article_create(system=system, title="Never voted", body="Nothing.")
    Article.objects.filter(pk=article.pk).update(helpful_count=2)
    Article.objects.filter(pk=other.pk).update(helpful_count=5)
    response = client.get(reverse("kb:home"))
    assert [a.title for a in response.context["helpful_articles"]] == ["Slow responses", "Port 8100 already in use"]


# --- system page ---------------------------------------------------------------------------------

def test_system_page_groups_articles_by_leading_heading_segments(client, system, article):
    services.article_create(system=system, title="No section", body="x")
    services.article_create(system=system, title="Slow", body="x", heading_path="Performance / Slow")
    response = client.get(system.get_absolute_url())
    assert response.status_code == 200
    assert "kb/partials/system_checks.html" in templates_used(response)
    groups = [(g.label, [a.title for a in g.articles]) for g in response.context["article_groups"]]
    assert groups == [
        ("General", ["No section"]),
        ("Common Issues / Server Won't Start", ["Port 8100 already in use"]),
        ("Performance", ["Slow"]),
    ]


def test_system_page_shows_safe_links_and_dependencies_but_drops_script_urls(client, system):
    db = SystemFactory(name="PostgreSQL", slug="postgresql")
    system.depends_on.add(db)
    body = client.get(system.get_absolute_url()).content.decode()
    assert 'href="https://example.com/health"' in body
    assert "javascript:" not in body
    assert db.get_absolute_url() in body
    used_by = client.get(db.get_absolute_url()).content.decode()
    assert "Used by" in used_by and system.get_absolute_url() in used_by


def test_system_page_and_api_show_the_names_the_system_goes_by_in_logs(client, system):
    system.aliases = "pay-gw-7.internal\n<script>x</script>\n"
    system.save()
    body = client.get(system.get_absolute_url()).content.decode()
    assert "In logs as" in body and "<code>pay-gw-7.internal</code>" in body
    assert "<script>x</script>" not in body and "&lt;script&gt;" in body
    api = client.get(f"/api/v1/systems/{system.slug}/")
    assert api.json()["aliases"] == ["pay-gw-7.internal", "<script>x</script>"]


def test_system_page_hides_drafts_from_anonymous(client, system, draft):
    response = client.get(system.get_absolute_url())
    assert "Half-written runbook" not in response.content.decode()


def test_unknown_system_is_404_with_the_site_layout(client):
    response = client.get(reverse("kb:system_detail", kwargs={"slug": "nope"}))
    assert response.status_code == 404
    assert "404.html" in templates_used(response)
    assert "Page not found" in response.content.decode()


# --- article page --------------------------------------------------------------------------------

def test_article_page_shows_content_toc_code_symptoms_solutions_and_breadcrumb(client, system, article):
    symptom = SymptomFactory(system=system, title="Bind fails", severity="high")
    SignatureFactory(symptom=symptom, text="OSError: [Errno 98] Address already in use")
    symptom.articles.add(article)
    solution = SolutionFactory(system=system, title="Stop the other process", risk="medium")
    services.solution_render(solution=solution)
    solution.save()
    solution.articles.add(article)

    response = client.get(article_url(article))
    assert response.status_code == 200
    assert "kb/article_detail.html" in templates_used(response)
    assert "kb/partials/vote.html" in templates_used(response)
    html = response.content.decode()
    assert "<h1>Port 8100 already in use" in html
    assert "Another process holds the port." in html
    assert '<li class="tag">network</li>' in html and '<li class="tag">startup</li>' in html
    assert 'href="#check-the-port"' in html  # table of contents
    assert 'class="highlight"' in html  # Pygments
    assert "<code>OSError: [Errno 98] Address already in use</code>" in html
    assert 'class="badge badge-high"' in html and 'class="badge badge-medium"' in html
    assert "Stop the other process" in html
    assert "Common Issues / Server Won&#x27;t Start" in html  # breadcrumb section
    assert system.get_absolute_url() in html
    assert article_url(article, "kb:article_history") in html
    assert article_url(article, "kb:article_edit") not in html  # anonymous: no Edit


def test_article_page_counts_each_view(client, article):
    client.get(article_url(article))
    response = client.get(article_url(article))
    article.refresh_from_db()
    assert article.view_count == 2
    assert "2 views" in response.content.decode()


def test_staff_see_the_edit_link(client, staff_user, article):
    client.force_login(staff_user)
    assert article_url(article, "kb:article_edit") in client.get(article_url(article)).content.decode()


@pytest.mark.parametrize("who", ["anonymous", "user"])
def test_drafts_are_404_for_non_staff(client, user, draft, who):
    if who == "user":
        client.force_login(user)
    for name in ("kb:article_detail", "kb:article_history", "kb:article_diff"):
        assert client.get(article_url(draft, name)).status_code == 404
    assert Article.objects.get(pk=draft.pk).view_count == 0


def test_drafts_are_visible_to_staff_with_a_badge(client, staff_user, draft):
    client.force_login(staff_user)
    response = client.get(article_url(draft))
    assert response.status_code == 200
    assert "badge-draft" in response.content.decode()


def test_user_supplied_title_summary_tags_and_body_are_escaped_or_sanitised(client, system):
    evil = services.article_create(
        system=system, title="<script>alert('t')</script>", summary="<img src=x onerror=alert('s')>",
        body="Hi <script>alert('b')</script> <a href=\"javascript:alert('l')\">x</a>\n\n<img src=x onerror=alert(2)>",
        tags=["<b>bold</b>"],
    )
    html = client.get(article_url(evil)).content.decode()
    assert "<script>alert" not in html
    assert "onerror=" not in html.replace("onerror=alert(&#x27;s&#x27;)", "")
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(&#x27;s&#x27;)&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "javascript:" not in html
    home = client.get(reverse("kb:home")).content.decode()
    assert "<script>alert" not in home


def test_related_articles_rank_shared_symptoms_over_tags_over_system(client, system, article):
    other_system = SystemFactory(name="Other", slug="other")
    same_symptom = services.article_create(system=other_system, title="Same symptom elsewhere", body="x")
    same_tag = services.article_create(system=other_system, title="Same tag", body="x", tags=["network"])
    same_system = services.article_create(system=system, title="Same system", body="x")
    services.article_create(system=other_system, title="Unrelated", body="x")
    hidden = services.article_create(system=system, title="Draft sibling", body="x", status=Article.Status.DRAFT)
    symptom = SymptomFactory(system=system)
    symptom.articles.add(article, same_symptom)

    related = selectors.article_related(article=article)
    assert [a.title for a in related] == ["Same symptom elsewhere", "Same tag", "Same system"]
    assert hidden not in related
    html = client.get(article_url(article)).content.decode()
    assert "Related articles" in html and same_tag.get_absolute_url() in html
    assert same_system.get_absolute_url() in html


# --- history and diff ----------------------------------------------------------------------------

@pytest.fixture
def edited(article, staff_user):
    services.article_update(article=article, author=staff_user, note="Explain <why>",
                            body=BODY.replace("Then restart it.", "Then restart it with <systemctl>."))
    return article


def test_history_lists_revisions_newest_first_with_author_date_and_note(client, edited):
    response = client.get(article_url(edited, "kb:article_history"))
    assert response.status_code == 200
    assert "kb/article_history.html" in templates_used(response)
    assert [r.number for r in response.context["revisions"]] == [2, 1]
    html = response.content.decode()
    assert "Explain &lt;why&gt;" in html and "sam" in html
    assert "?from=1&amp;to=2" in html


def test_diff_defaults_to_previous_against_latest_and_escapes_text(client, edited):
    response = client.get(article_url(edited, "kb:article_diff"))
    assert response.status_code == 200
    assert "kb/article_diff.html" in templates_used(response)
    assert "kb/partials/revision_diff.html" in templates_used(response)
    assert (response.context["from_number"], response.context["to_number"]) == (1, 2)
    html = response.content.decode()
    assert "<del>Then restart it.</del>" in html
    assert "<ins>Then restart it with &lt;systemctl&gt;.</ins>" in html
    assert "<systemctl>" not in html


def test_diff_side_by_side_pairs_changed_lines(client, edited):
    response = client.get(article_url(edited, "kb:article_diff") + "?from=1&to=2&mode=split")
    body_diff = [f for f in response.context["diff"].fields if f.name == "Body"][0]
    changed = [r for r in body_diff.side_by_side if r.kind == "change"]
    assert [(r.old_text, r.new_text) for r in changed] == [("Then restart it.", "Then restart it with <systemctl>.")]
    assert 'class="diff diff-split"' in response.content.decode()


def test_diff_from_zero_shows_the_first_revision_as_all_additions(client, edited):
    response = client.get(article_url(edited, "kb:article_diff") + "?from=0&to=1")
    assert response.status_code == 200
    body_diff = [f for f in response.context["diff"].fields if f.name == "Body"][0]
    assert body_diff.removed == 0 and body_diff.added == len(BODY.splitlines())


def test_diff_htmx_request_gets_only_the_fragment(client, edited):
    response = client.get(article_url(edited, "kb:article_diff") + "?from=2&to=1", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert templates_used(response) >= {"kb/partials/revision_diff.html"}
    assert "kb/article_diff.html" not in templates_used(response)
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("query, status", [("?from=x&to=2", 400), ("?from=-1&to=2", 400), ("?from=1&to=9", 404),
                                           ("?from=7&to=2", 404)])
def test_diff_rejects_bad_revision_numbers(client, edited, query, status):
    response = client.get(article_url(edited, "kb:article_diff") + query)
    assert response.status_code == status


def test_diff_of_identical_revisions_says_nothing_changed(client, edited):
    response = client.get(article_url(edited, "kb:article_diff") + "?from=2&to=2")
    assert "No differences" in response.content.decode()


# --- public read setting ---------------------------------------------------------------------------

def test_public_read_on_lets_anonymous_visitors_read(client, settings, article):
    settings.TRIAGE_PUBLIC_READ = True
    assert client.get(reverse("kb:home")).status_code == 200
    assert client.get(article_url(article)).status_code == 200


def test_public_read_off_sends_anonymous_visitors_to_login(client, settings, user, article):
    settings.TRIAGE_PUBLIC_READ = False
    for url in (reverse("kb:home"), article.system.get_absolute_url(), article_url(article),
                article_url(article, "kb:article_history")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    login_page = client.get(reverse("login"))
    assert login_page.status_code == 200 and "registration/login.html" in templates_used(login_page)
    client.force_login(user)
    assert client.get(article_url(article)).status_code == 200


def test_login_page_shows_an_inline_error_for_a_wrong_password(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_login_then_logout_round_trip(client, user, password):
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302
    assert "Log out" in client.get(reverse("kb:home")).content.decode()
    client.post(reverse("logout"))
    assert "Log in" in client.get(reverse("kb:home")).content.decode()


# --- templates and filters -------------------------------------------------------------------------

def test_500_page_renders_without_a_request_context():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "pico" in html


@pytest.mark.parametrize("path, group", [
    ("Common Issues / Server Won't Start / Port in Use", "Common Issues / Server Won't Start"),
    ("A / B / C / D", "A / B"),
    ("Performance / Slow", "Performance"),
    ("Just one", ""),
    ("", ""),
    ("TCP/IP / Resets", "TCP/IP"),
])
def test_heading_group_keeps_leading_segments_without_the_articles_own_heading(path, group):
    assert kb_tags.heading_group(path) == group


def test_badge_filters_map_levels_to_classes_and_unknowns_to_neutral():
    assert kb_tags.severity_class("critical") == "badge badge-critical"
    assert kb_tags.risk_class("HIGH") == "badge badge-high"
    assert kb_tags.severity_class("bogus") == "badge badge-neutral"


def test_article_page_query_count_does_not_grow_with_symptoms_and_signatures(
    client, system, article, django_assert_max_num_queries
):
    for n in range(6):
        symptom = SymptomFactory(system=system, title=f"Symptom {n}")
        SignatureFactory.create_batch(3, symptom=symptom)
        symptom.articles.add(article)
        services.article_create(system=system, title=f"Sibling {n}", body="x", tags=["network"])
    # 16: one fixed query asks whether a decision tree leads here (for the contents box).
    with django_assert_max_num_queries(16):
        response = client.get(article_url(article))
    assert response.content.decode().count("<code>Error") == 18


def test_staff_see_a_new_article_link_on_the_system_page(client, staff_user, user, system):
    create = reverse("kb:article_create", kwargs={"system_slug": system.slug})
    client.force_login(user)
    assert create not in client.get(system.get_absolute_url()).content.decode()
    client.force_login(staff_user)
    assert create in client.get(system.get_absolute_url()).content.decode()
