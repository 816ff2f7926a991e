"""Staff create and edit articles in the app; every save is a revision; the preview is sanitised and never 500s."""

import pytest
from django.urls import reverse

from kb import services
from kb.forms.articles import BODY_MAX_CHARS
from kb.models import Article, ArticleRevision
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The default hasher costs ~0.3 s per user created; these tests are about pages, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Deep enough to exhaust Python-Markdown's recursion.
NESTED_LIST = "- " * 3000 + "x"


@pytest.fixture
def system():
    return SystemFactory(name="ARES", slug="ares")


@pytest.fixture
def article(system, staff_user):
    return services.article_create(system=system, title="Redis down", body="## Fix\n\nStart redis.\n",
                                   tags=["redis"], author=staff_user)


def form_data(**overrides: str) -> dict[str, str]:
    data = {"title": "Queue stuck", "summary": "Jobs stop moving.", "heading_path": "Common Issues / Queue",
            "tags": "Redis, queue, redis", "status": "published", "body": "## Check\n\n```bash\nredis-cli ping\n```\n",
            "note": "First draft", "action": "save"}
    data.update(overrides)
    return data


def create_url(system) -> str:
    return reverse("kb:article_create", kwargs={"system_slug": system.slug})


def edit_url(article: Article) -> str:
    return reverse("kb:article_edit", kwargs={"system_slug": article.system.slug, "slug": article.slug})


PREVIEW_URL = "/articles/preview/"


def templates_used(response) -> set[str]:
    return {t.name for t in response.templates if t.name}


# --- access matrix -------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [("anonymous", 302), ("user", 403), ("staff", 200)])
def test_only_staff_may_open_create_and_edit_or_use_the_preview(client, user, staff_user, article, who, status):
    if who != "anonymous":
        client.force_login(staff_user if who == "staff" else user)
    requests = [
        client.get(create_url(article.system)),
        client.get(edit_url(article)),
        client.post(PREVIEW_URL, {"body": "hi"}, HTTP_HX_REQUEST="true"),
    ]
    for response in requests:
        assert response.status_code == status
        if who == "anonymous":
            assert response["Location"].startswith(reverse("login") + "?next=")
        if who == "user":
            assert "403.html" in templates_used(response)


@pytest.mark.parametrize("who", ["anonymous", "user"])
def test_non_staff_posts_change_nothing(client, user, article, who):
    if who == "user":
        client.force_login(user)
    client.post(create_url(article.system), form_data())
    client.post(edit_url(article), form_data(title="Hijacked"))
    assert Article.objects.count() == 1
    article.refresh_from_db()
    assert article.title == "Redis down" and article.revisions.count() == 1


# --- create --------------------------------------------------------------------------------------

def test_staff_create_makes_an_article_with_a_first_revision(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post(create_url(system), form_data())
    article = Article.objects.get(title="Queue stuck")
    assert response.status_code == 302 and response["Location"] == article.get_absolute_url()
    assert sorted(article.tags.values_list("name", flat=True)) == ["queue", "redis"]
    assert article.author == staff_user and article.heading_path == "Common Issues / Queue"
    assert 'class="highlight"' in article.body_html
    revision = article.revisions.get()
    assert (revision.number, revision.note, revision.author) == (1, "First draft", staff_user)


def test_create_form_page_has_live_preview_wiring(client, staff_user, system):
    client.force_login(staff_user)
    response = client.get(create_url(system))
    assert response.status_code == 200 and "kb/article_form.html" in templates_used(response)
    html = response.content.decode()
    assert f'hx-post="{PREVIEW_URL}"' in html
    assert 'hx-trigger="keyup changed delay:400ms' in html and 'hx-target="#preview"' in html


def test_create_with_missing_title_shows_inline_errors_and_saves_nothing(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post(create_url(system), form_data(title="", body="   "))
    assert response.status_code == 400
    assert "partials/form_errors.html" in templates_used(response)
    html = response.content.decode()
    assert 'id="id_title_error"' in html and "The body cannot be empty." in html
    assert 'aria-invalid="true"' in html
    assert Article.objects.count() == 0


def test_create_under_unknown_system_is_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("kb:article_create", kwargs={"system_slug": "nope"})).status_code == 404


def test_no_js_preview_button_renders_the_preview_and_saves_nothing(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post(create_url(system), form_data(action="preview", body="**bold** <script>x</script>"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>bold</strong>" in html and "<script>x</script>" not in html
    assert Article.objects.count() == 0


def test_deeply_nested_markdown_is_a_form_error_not_a_500(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post(create_url(system), form_data(body=NESTED_LIST))
    assert response.status_code == 400
    assert "could not be rendered" in response.content.decode()
    assert Article.objects.count() == 0


def test_overlong_body_is_rejected(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post(create_url(system), form_data(body="a" * (BODY_MAX_CHARS + 1)))
    assert response.status_code == 400
    assert Article.objects.count() == 0


def test_too_many_tags_are_rejected(client, staff_user, system):
    client.force_login(staff_user)
    response = client.post(create_url(system), form_data(tags=",".join(f"t{i}" for i in range(21))))
    assert response.status_code == 400 and "At most 20 tags." in response.content.decode()


# --- edit ----------------------------------------------------------------------------------------

def test_edit_form_is_prefilled_with_the_article_and_its_rendered_preview(client, staff_user, article):
    client.force_login(staff_user)
    response = client.get(edit_url(article))
    form = response.context["form"]
    assert form.initial["title"] == "Redis down" and form.initial["tags"] == "redis"
    assert form.initial["base_revision"] == 1
    assert 'id="fix"' in response.content.decode()  # preview pane starts with the stored HTML


def test_edit_saves_a_new_revision_with_the_note(client, staff_user, article):
    client.force_login(staff_user)
    response = client.post(edit_url(article), form_data(title="Redis down", body="## Fix\n\nStart redis-server.\n",
                                                       tags="redis", note="Name the binary", base_revision="1"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert "redis-server" in article.body_html
    assert article.slug == "redis-down"  # URLs stay stable
    assert list(article.revisions.values_list("number", "note")) == [(2, "Name the binary"), (1, "Created")]
    assert "Article saved." in client.get(article.get_absolute_url()).content.decode()


def test_saving_without_changes_makes_no_revision(client, staff_user, article):
    client.force_login(staff_user)
    data = form_data(title=article.title, summary="", heading_path="", tags="redis", body=article.body,
                     note="", base_revision="1")
    response = client.post(edit_url(article), data, follow=True)
    assert article.revisions.count() == 1
    assert "Nothing changed" in response.content.decode()


def test_saving_over_a_newer_revision_warns_first_then_saves(client, staff_user, other_user, article):
    services.article_update(article=article, author=other_user, body="Someone else's fix.\n", note="other")
    client.force_login(staff_user)
    stale = form_data(title=article.title, body="My fix.\n", tags="redis", base_revision="1")
    response = client.post(edit_url(article), stale)
    assert response.status_code == 409
    assert "Someone else saved revision 2" in response.content.decode()
    assert response.context["form"]["base_revision"].value() == "2"
    article.refresh_from_db()
    assert article.body == "Someone else's fix.\n"
    response = client.post(edit_url(article), {**stale, "base_revision": "2"})
    assert response.status_code == 302
    assert ArticleRevision.objects.filter(article=article).count() == 3


def test_staff_can_edit_drafts(client, staff_user, system):
    draft = services.article_create(system=system, title="WIP", body="x", status=Article.Status.DRAFT)
    client.force_login(staff_user)
    assert client.get(edit_url(draft)).status_code == 200
    client.post(edit_url(draft), form_data(title="WIP", body="x", status="published", tags=""))
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED


def test_edit_of_unknown_article_is_404(client, staff_user, system):
    client.force_login(staff_user)
    assert client.get(reverse("kb:article_edit", kwargs={"system_slug": "ares", "slug": "nope"})).status_code == 404


# --- preview -------------------------------------------------------------------------------------

def test_htmx_preview_returns_the_sanitised_fragment(client, staff_user):
    client.force_login(staff_user)
    body = "# Title\n\n```python\nprint('hi')\n```\n\n<script>alert(1)</script><a href='javascript:x()'>l</a>"
    response = client.post(PREVIEW_URL, {"body": body}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert templates_used(response) == {"kb/partials/preview.html"}
    html = response.content.decode()
    assert 'class="highlight"' in html
    assert "<script>" not in html and "javascript:" not in html
    assert "HX-Request" in response["Vary"]


def test_preview_without_htmx_is_a_full_page(client, staff_user):
    client.force_login(staff_user)
    response = client.post(PREVIEW_URL, {"body": "*hi*"})
    assert response.status_code == 200
    assert "base.html" in templates_used(response) and "<em>hi</em>" in response.content.decode()


@pytest.mark.parametrize("body", [NESTED_LIST, "```\nunclosed fence", "[" * 50 + "](" * 50, "<div><p>unclosed", "\x00"])
def test_malformed_markdown_never_breaks_the_preview(client, staff_user, body):
    client.force_login(staff_user)
    response = client.post(PREVIEW_URL, {"body": body}, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 422)
    if body is NESTED_LIST:
        assert response.status_code == 422 and "could not be rendered" in response.content.decode()


def test_preview_needs_post(client, staff_user):
    client.force_login(staff_user)
    assert client.get(PREVIEW_URL).status_code == 405
