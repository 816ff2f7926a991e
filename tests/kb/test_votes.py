"""The "Was this helpful?" vote: one per user or anonymous session, counters exact, htmx and plain-form paths."""

import pytest
from django.test import Client
from django.urls import reverse

from kb import services
from kb.models import Article, ArticleVote
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The default hasher costs ~0.3 s per user created; these tests are about pages, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def article():
    return services.article_create(system=SystemFactory(slug="orch", name="Orch"), title="Disk full",
                                   body="Free some space.")


def vote_url(article: Article) -> str:
    return reverse("kb:article_vote", kwargs={"system_slug": article.system.slug, "slug": article.slug})


def counters(article: Article) -> tuple[int, int]:
    article.refresh_from_db()
    return article.helpful_count, article.not_helpful_count


def vote(client: Client, article: Article, helpful: str, comment: str = "", htmx: bool = True):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(vote_url(article), {"helpful": helpful, "comment": comment}, **extra)


def test_anonymous_htmx_vote_returns_the_vote_fragment_with_thanks(client, article):
    response = vote(client, article, "yes")
    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["kb/partials/vote.html"]
    assert "Thanks for the feedback" in response.content.decode()
    assert "HX-Request" in response["Vary"]
    assert counters(article) == (1, 0)
    # The vote is tied to the session the view created for this visitor.
    stored = ArticleVote.objects.get()
    assert stored.user is None and stored.session_key == client.session.session_key != ""


def test_anonymous_visitor_gets_one_vote_per_session(client, article):
    vote(client, article, "yes")
    vote(client, article, "yes")
    assert ArticleVote.objects.count() == 1
    assert counters(article) == (1, 0)
    vote(Client(), article, "yes")  # a different browser is a different voter
    assert ArticleVote.objects.count() == 2
    assert counters(article) == (2, 0)


def test_changing_a_vote_moves_the_counters_exactly(client, article):
    vote(client, article, "yes")
    vote(client, article, "no")
    assert counters(article) == (0, 1)
    vote(client, article, "yes")
    assert counters(article) == (1, 0)
    assert ArticleVote.objects.get().helpful is True


def test_signed_in_votes_are_per_user_across_sessions(client, user, password, article):
    client.force_login(user)
    vote(client, article, "no")
    other_browser = Client()
    other_browser.force_login(user)
    vote(other_browser, article, "yes")
    assert ArticleVote.objects.filter(user=user).count() == 1
    assert counters(article) == (1, 0)


def test_no_asks_for_an_optional_comment_then_keeps_it(client, article):
    response = vote(client, article, "no")
    html = response.content.decode()
    assert 'name="comment"' in html and "What was missing" in html
    response = vote(client, article, "no", comment="The command needs <sudo> & a path")
    html = response.content.decode()
    assert ArticleVote.objects.get().comment == "The command needs <sudo> & a path"
    assert "The command needs &lt;sudo&gt; &amp; a path" in html
    assert "<sudo>" not in html
    assert counters(article) == (0, 1)


def test_plain_form_vote_without_javascript_redirects_back_to_the_article(client, article):
    response = vote(client, article, "yes", htmx=False)
    assert response.status_code == 302
    assert response["Location"] == article.get_absolute_url() + "#vote"
    page = client.get(article.get_absolute_url())
    assert "Thanks for the feedback" in page.content.decode()


def test_article_page_shows_the_question_before_any_vote(client, article):
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Was this helpful?" in html
    assert f'hx-post="{vote_url(article)}"' in html and f'action="{vote_url(article)}"' in html


@pytest.mark.parametrize("helpful", ["maybe", ""])
def test_invalid_vote_is_rejected_without_saving(client, article, helpful):
    response = vote(client, article, helpful)
    assert response.status_code == 422
    assert "Choose Yes or No." in response.content.decode()
    response = vote(client, article, helpful, htmx=False)
    assert response.status_code == 400
    assert "kb/article_detail.html" in [t.name for t in response.templates]
    assert ArticleVote.objects.count() == 0 and counters(article) == (0, 0)


def test_overlong_comment_is_rejected(client, article):
    response = vote(client, article, "no", comment="x" * 2001)
    assert response.status_code == 422
    assert ArticleVote.objects.count() == 0


def test_vote_needs_post(client, article):
    assert client.get(vote_url(article)).status_code == 405


def test_votes_on_drafts_are_404_for_non_staff(client, article):
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    assert vote(client, article, "yes").status_code == 404
    assert counters(article) == (0, 0)


def test_vote_helpful_count_is_shown(client, article):
    vote(client, article, "yes")
    vote(Client(), article, "no")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "1 of 2 found this helpful" in html


def test_public_read_off_sends_anonymous_voters_to_login(client, settings, article):
    settings.TRIAGE_PUBLIC_READ = False
    response = vote(client, article, "yes", htmx=False)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert ArticleVote.objects.count() == 0


def test_a_form_encoded_api_vote_without_helpful_is_a_400_not_a_no(api_client, user):
    from tests.factories import ArticleFactory

    article = ArticleFactory()
    api_client.force_authenticate(user)
    response = api_client.post(f"/api/v1/articles/{article.pk}/vote/", {"comment": "meh"})
    assert response.status_code == 400
    assert "helpful" in response.json()["fields"]
