"""Reading an article: contents that list every section, one sticky side panel, system cards without raw Markdown."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from kb import services
from tests.factories import SolutionFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def system():
    return SystemFactory(name="Triage", slug="triage", description="Run `make run` to start; see `TRIAGE_BIND`.")


def test_contents_list_symptoms_and_solutions_after_the_article_headings(client, system):
    article = services.article_create(system=system, title="Port in use", body="## Check the port\n\nText.")
    SymptomFactory(system=system, title="Bind fails").articles.add(article)
    solution = SolutionFactory(system=system, title="Stop the other process")
    solution.articles.add(article)
    body = client.get(article.get_absolute_url()).content.decode()
    toc = body[body.index("data-toc"):body.index("</nav>", body.index("data-toc"))]
    assert toc.index('href="#check-the-port"') < toc.index('href="#symptoms-heading"') < toc.index('href="#solutions-heading"')
    assert "Guided troubleshooting" not in toc  # no tree leads here
    assert 'class="article-aside-inner"' in body


def test_article_without_headings_or_cards_has_no_empty_contents_box(client, system):
    article = services.article_create(system=system, title="Short", body="Just a paragraph.")
    assert "On this page" not in client.get(article.get_absolute_url()).content.decode()


def test_system_cards_show_backticks_as_code_and_escape_the_rest(client, system):
    body = client.get(reverse("kb:home")).content.decode()
    assert "<code>make run</code>" in body and "`" not in body.split("card-grid", 1)[1].split("</div>", 1)[0]


def test_inline_code_filter_escapes_html_and_drops_an_unpaired_backtick():
    rendered = Template("{% load kb_tags %}{{ text|inline_code }}").render(
        Context({"text": "<b>x</b> `a<b>` and `cut"}))
    assert rendered == "&lt;b&gt;x&lt;/b&gt; <code>a&lt;b&gt;</code> and cut"
