"""`manage.py load_starter_content`: kb/content/<system>/ through the importer, idempotently."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from kb.importing import GuideRejected, content_import
from kb.models import Article, Signature, Solution, Symptom, System

FIXTURE = Path(__file__).parent / "fixtures" / "content"
REAL_CONTENT = Path(settings.BASE_DIR) / "kb" / "content"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    return target


def load(directory: Path, *args: str) -> str:
    out = StringIO()
    call_command("load_starter_content", "--dir", str(directory), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_loader_creates_systems_and_articles_from_front_matter(content):
    load(content)

    widgetd = System.objects.get(slug="widgetd")
    assert widgetd.name == "Widgetd" and widgetd.links == [{"label": "Status page",
                                                            "url": "http://127.0.0.1:7070/status"}]
    alpha = System.objects.get(slug="alpha")
    assert list(alpha.depends_on.values_list("slug", flat=True)) == ["widgetd"]
    article = Article.objects.get(system=widgetd, title="Port 7070 already taken")
    assert article.summary.startswith("Widgetd cannot bind")
    assert article.source_file == "widgetd/port-7070-taken.md"
    assert sorted(article.tags.values_list("name", flat=True)) == ["ports", "startup"]
    assert "<h2" in article.body_html and "title:" not in article.body
    symptom = article.symptoms.get()
    assert (symptom.title, symptom.severity) == ("Bind fails at startup", "high")
    assert list(symptom.signatures.values_list("text", "kind")) == [
        ("widgetd: bind failed: Address already in use", "literal")]
    solution = article.solutions.get()
    assert solution.risk == "medium" and ("<pre" in solution.steps_html or "<code" in solution.steps_html)
    assert list(symptom.solutions.all()) == [solution]
    spool = Article.objects.get(system=widgetd, title="Spool lost after restart")
    assert spool.symptoms.get().severity == "medium" and spool.solutions.get().risk == "low"
    # _notes.yml is side data, not an article.
    assert Article.objects.filter(system=widgetd).count() == 2


@pytest.mark.django_db
def test_second_load_reports_no_changes(content):
    load(content)
    before = (Article.objects.count(), Symptom.objects.count(), Solution.objects.count(), Signature.objects.count())

    output = load(content)

    assert "Starter content: no changes." in output
    assert output.count("no changes") == 3  # one line per system and the final line
    assert (Article.objects.count(), Symptom.objects.count(), Solution.objects.count(),
            Signature.objects.count()) == before


@pytest.mark.django_db
def test_edited_file_updates_its_article_in_place_even_when_retitled(content):
    load(content)
    article = Article.objects.get(title="Spool lost after restart")
    path = content / "widgetd" / "spool-lost.md"
    path.write_text(path.read_text().replace("title: Spool lost after restart", "title: Spool vanishes on reboot"))

    [alpha, widgetd] = content_import(directory=content)

    assert widgetd.updated == ["Spool vanishes on reboot"] and not widgetd.created
    assert not alpha.changed
    article.refresh_from_db()
    assert article.title == "Spool vanishes on reboot" and article.revisions.count() == 2


@pytest.mark.django_db
def test_dry_run_writes_nothing(content):
    output = load(content, "--dry-run")

    assert "would be created" in output
    assert not System.objects.exists() and not Article.objects.exists()


@pytest.mark.django_db
def test_invalid_front_matter_refuses_the_whole_load(content):
    (content / "widgetd" / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody\n")

    with pytest.raises(CommandError, match=r"widgetd/broken\.md: front matter is not valid YAML"):
        load(content)

    assert not System.objects.exists() and not Article.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("front_matter", "reason"), [
    ("summary: no title\n", "needs a title"),
    ("title: T\nsymptoms:\n  - title: S\n    severity: urgent\n", "severity 'urgent'"),
    ("title: T\nsolutions:\n  - title: S\n", "needs steps"),
    ("title: T\nsymptoms:\n  - title: S\n    signatures: oops\n", "must be a list of strings"),
])
def test_each_content_mistake_is_named(content, front_matter, reason):
    (content / "widgetd" / "bad.md").write_text(f"---\n{front_matter}---\nBody text.\n")

    with pytest.raises(GuideRejected, match=reason):
        content_import(directory=content)


@pytest.mark.django_db
def test_missing_content_directory_is_not_an_error(tmp_path):
    assert "nothing to load" in load(tmp_path / "absent")


@pytest.mark.django_db
def test_shipped_starter_content_loads_and_reloads_without_changes():
    first = content_import(directory=REAL_CONTENT)
    second = content_import(directory=REAL_CONTENT)

    assert any(report.created for report in first)
    assert not any(report.changed for report in second), [r.summary_line() for r in second if r.changed]


@pytest.mark.django_db
def test_guide_section_with_a_starter_articles_title_does_not_take_it_over(content):
    from kb.importing import guide_import

    load(content)
    widgetd = System.objects.get(slug="widgetd")
    starter = Article.objects.get(system=widgetd, title="Spool lost after restart")

    report = guide_import(data=b"# G\n\n## Spool lost after restart\n\n```\nError: spool gone\n```\n",
                          filename="notes.md", system=widgetd)

    assert report.created == ["Spool lost after restart"]
    starter.refresh_from_db()
    assert starter.source_file == "widgetd/spool-lost.md" and starter.revisions.count() == 1
