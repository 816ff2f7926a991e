import pytest

from diagnostics.models import Check, CheckRun

from ..factories import ArticleFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def article_with_system_check():
    system = SystemFactory(slug="ares", name="ARES")
    system.checks.add(Check.objects.create(name="ARES memory", slug="ares-memory", type="memory"))
    return ArticleFactory(system=system, slug="slow-api")


def test_article_page_offers_its_systems_checks_when_it_has_none(client, user, article_with_system_check):
    client.force_login(user)
    html = client.get(article_with_system_check.get_absolute_url()).content.decode()
    assert "Run checks" in html
    assert "/systems/ares/slow-api/checks/run/" in html


def test_article_without_any_checks_shows_no_run_button(client, user):
    article = ArticleFactory(system=SystemFactory(slug="quiet"), slug="nothing")
    client.force_login(user)
    assert "checks/run/" not in client.get(article.get_absolute_url()).content.decode()


def test_running_an_articles_checks_falls_back_to_its_system(client, user, article_with_system_check):
    client.force_login(user)
    response = client.post("/systems/ares/slow-api/checks/run/", HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 202)
    assert list(CheckRun.objects.values_list("check_def__slug", flat=True)) == ["ares-memory"]


def test_anonymous_reader_is_asked_to_log_in_to_run_checks(client, article_with_system_check):
    html = client.get(article_with_system_check.get_absolute_url()).content.decode()
    assert "to run ARES&#x27;s checks" in html or "to run ARES's checks" in html
    assert client.post("/systems/ares/slow-api/checks/run/").status_code == 302
