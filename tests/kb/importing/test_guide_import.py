"""The Markdown guide importer: parsing (pure) and importing (database)."""

from pathlib import Path

import pytest

from kb.importing import (
    GuideRejected,
    ImportReport,
    guide_import,
    parse_guide,
    repair_text,
    system_for_import,
)
from kb.models import Article, ArticleRevision, Signature, Solution, Symptom, SymptomSolution, System
from tests.factories import ArticleFactory, SystemFactory

FIXTURES = Path(__file__).parent.parent / "fixtures" / "guides"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def by_path(sections: list) -> dict:
    return {section.heading_path: section for section in sections}


# --- parsing ---------------------------------------------------------------------------------------


def test_guide_splits_into_one_section_per_problem_and_skips_contents_and_related_docs():
    sections = parse_guide(fixture_text("widgetd.md"))

    assert [s.heading_path for s in sections] == [
        "Startup Problems / Socket already bound",
        "Startup Problems / Config file rejected",
        "Queue Problems / Queue at a glance",
        "Queue Problems / Jobs vanish after restart",
        "FAQ / Can I run two daemons on one host?",
        "FAQ / How do I wipe all state?",
    ]
    # "# list whatever holds the port" is a shell comment inside a code block, not a heading.
    assert "list whatever holds the port" not in [s.title for s in sections]
    assert "# list whatever holds the port" in sections[0].body_markdown


def test_issue_heading_with_error_block_becomes_a_symptom_with_that_error_string():
    section = by_path(parse_guide(fixture_text("widgetd.md")))["Startup Problems / Socket already bound"]

    assert section.title == "Socket already bound"
    assert section.symptoms[0].title == "Socket already bound"
    # The message, then its parts a reader quotes alone; "Address already in use (port 7070)" alone is
    # what countless unrelated errors print, so it is not one.
    assert section.symptoms[0].signatures == ["widgetd: bind failed: Address already in use (port 7070)",
                                              "widgetd: bind failed: Address already in use",
                                              "bind failed: Address already in use (port 7070)"]
    assert section.solutions[0].title == "Solution: Socket already bound"
    assert "systemctl stop widgetd-old" in section.solutions[0].steps_markdown


def test_symptoms_heading_list_yields_quoted_error_strings_and_numbered_solutions():
    section = by_path(parse_guide(fixture_text("widgetd.md")))["Startup Problems / Config file rejected"]

    signatures = {sig for symptom in section.symptoms for sig in symptom.signatures}
    assert signatures == {"config parse error at line 3", "config parse error at line",
                          "widgetd: unknown key 'colour'"}
    assert "Nothing listens on the port" in [s.title for s in section.symptoms]
    assert [s.title for s in section.solutions] == ["Validate the file", "Restore the packaged default"]
    restore = section.solutions[1]
    assert "sudo cp /usr/share/widgetd/widgetd.conf" in restore.steps_markdown
    assert restore.risk == "medium"
    # Diagnostic steps are kept in the body but are not a solution.
    assert "#### Diagnostic Steps" not in section.body_markdown
    assert "## Diagnostic Steps" in section.body_markdown


def test_symptom_table_rows_become_symptoms_each_with_its_quick_fix():
    section = by_path(parse_guide(fixture_text("widgetd.md")))["Queue Problems / Queue at a glance"]

    assert [s.title for s in section.symptoms] == ['Jobs pile up in "pending"', 'Worker logs "lease expired"']
    assert section.symptoms[1].signatures == ["lease expired"]
    assert section.symptoms[0].description == "Likely cause: Worker pool too small"
    fixes = {s.title: s.symptom_titles for s in section.solutions}
    assert fixes == {"Raise workers to 8": ['Jobs pile up in "pending"'],
                     "Move the spool to local disk": ['Worker logs "lease expired"']}


def test_bold_labels_give_symptoms_summary_and_workaround():
    section = by_path(parse_guide(fixture_text("widgetd.md")))["Queue Problems / Jobs vanish after restart"]

    assert section.summary == "The spool lives on tmpfs."
    assert ["spool not found"] in [s.signatures for s in section.symptoms]
    assert [s.title for s in section.solutions] == ["Workaround: Jobs vanish after restart"]
    assert "spool_dir" in section.solutions[0].steps_markdown


def test_faq_questions_become_articles_answered_by_their_text():
    sections = by_path(parse_guide(fixture_text("widgetd.md")))

    wipe = sections["FAQ / How do I wipe all state?"]
    assert wipe.title == "How do I wipe all state?"
    assert "rm -rf /var/lib/widgetd/*" in wipe.body_markdown
    assert wipe.solutions[0].risk == "high"


def test_labels_written_right_after_a_list_are_not_swallowed_by_it():
    text = ("# G\n\n## Issue: Cards frozen\n**Symptoms**:\n- Cards stay grey\n- Counter stuck\n"
            "**Workaround**: Reload the page.\n")
    section = parse_guide(text)[0]

    assert "Counter stuck" in [s.title for s in section.symptoms]
    assert [s.title for s in section.solutions] == ["Workaround: Cards frozen"]


def test_code_only_sections_are_split_into_the_scenarios_their_code_describes():
    sections = by_path(parse_guide(fixture_text("scenarios.md")))

    assert set(sections) == {
        "Scenarios / Detector rules",
        "Scenarios / Detector rules / Cache Stampede",
        "Scenarios / Detector rules / Stuck Consumer",
        "Scenarios / Playbooks",
        "Scenarios / Playbooks / Disk pressure",
    }
    stampede = sections["Scenarios / Detector rules / Cache Stampede"]
    assert [s.title for s in stampede.symptoms] == ["Backend CPU spikes", "p99 latency jumps"]
    assert {s.severity for s in stampede.symptoms} == {"high"}
    assert "Cold cache after deploy" in stampede.body_markdown
    # The remediation branch for the same issue is merged into its scenario.
    stuck = sections["Scenarios / Detector rules / Stuck Consumer"]
    assert [(s.title, s.risk) for s in stuck.solutions] == [("Skip poison message", "medium")]
    assert "queuectl skip --one" in stuck.solutions[0].steps_markdown
    # A failure message the code prints is an error string, for the section and its scenario.
    assert stuck.symptoms[0].signatures == ["skip refused by broker"]
    assert [s.signatures for s in sections["Scenarios / Detector rules"].symptoms] == [["skip refused by broker"]]
    disk = sections["Scenarios / Playbooks / Disk pressure"]
    assert "logrotate -f /etc/logrotate.conf" in disk.solutions[0].steps_markdown


def test_mojibake_from_cp1252_with_lost_bytes_and_from_mac_roman_is_repaired():
    lossy = "🔍".encode().decode("cp1252", errors="ignore")  # the 0x8D byte is lost: "ðŸ”"
    check = "✅".encode().decode("cp1252")
    siren = "🚨".encode().decode("mac_roman")
    text = (f"# Guide\n\n## {siren} Alerts\n\n### Issue: {lossy} Search broken\n\n```\nsearch: index missing\n```\n\n"
            f"{check} Fixed by reindexing.\n")

    section = parse_guide(text)[0]

    assert repair_text(f"{lossy} a {siren} b {check}") == "🔍 a 🚨 b ✅"
    assert section.heading_path == "🚨 Alerts / 🔍 Search broken"
    assert section.title == "Search broken"
    assert "✅ Fixed by reindexing." in section.body_markdown


def test_text_without_headings_is_refused():
    with pytest.raises(GuideRejected, match="no headings"):
        parse_guide("Just a paragraph.\n\n```\n# not a heading\n```\n")


def test_report_summary_says_no_changes_when_nothing_changed():
    report = ImportReport(created=[], updated=[], unchanged=["a", "b"], removed=[], dry_run=False)

    assert not report.changed
    assert "no changes" in report.summary_line()
    assert ImportReport(created=["x"], updated=[], unchanged=[], removed=[], dry_run=True).changed


# --- importing -------------------------------------------------------------------------------------


def import_widgetd(system: System, text: str | None = None, **kwargs) -> ImportReport:
    data = (text if text is not None else fixture_text("widgetd.md")).encode("utf-8")
    return guide_import(data=data, filename="widgetd.md", system=system, **kwargs)


@pytest.mark.django_db
def test_import_stores_articles_with_symptoms_signatures_and_ranked_solutions(staff_user):
    system = SystemFactory(name="Widgetd", slug="widgetd")

    report = import_widgetd(system, author=staff_user)

    assert len(report.created) == 6 and report.changed
    article = Article.objects.get(system=system, heading_path="Startup Problems / Config file rejected")
    assert article.title == "Config file rejected" and article.source_file == "widgetd.md"
    assert article.author == staff_user and article.revisions.count() == 1
    assert article.source_hash and article.body_html and "<h2" in article.body_html
    literal = Signature.objects.filter(symptom__articles=article, kind=Signature.Kind.LITERAL)
    # Each message, and the message without its variable tail (a reader quotes it without the line number).
    assert set(literal.values_list("text", flat=True)) == {"config parse error at line 3",
                                                           "config parse error at line",
                                                           "widgetd: unknown key 'colour'"}
    validate, restore = article.solutions.order_by("id")
    assert (validate.title, restore.title) == ("Validate the file", "Restore the packaged default")
    assert "<pre" in restore.steps_html or "<code" in restore.steps_html
    symptom = article.symptoms.get(title="Nothing listens on the port")
    assert symptom.severity == "medium"
    ranks = dict(SymptomSolution.objects.filter(symptom=symptom).values_list("solution__title", "rank"))
    assert ranks == {"Validate the file": 0, "Restore the packaged default": 1}
    table = Article.objects.get(system=system, heading_path="Queue Problems / Queue at a glance")
    pending = table.symptoms.get(title='Jobs pile up in "pending"')
    assert list(pending.solutions.values_list("title", flat=True)) == ["Raise workers to 8"]


@pytest.mark.django_db
def test_reimport_of_unchanged_guide_changes_nothing():
    system = SystemFactory(slug="widgetd")
    import_widgetd(system)
    before = (list(Article.objects.values_list("pk", "updated_at")), ArticleRevision.objects.count(),
              list(Symptom.objects.values_list("pk", flat=True)), list(Solution.objects.values_list("pk", flat=True)),
              Signature.objects.count())

    report = import_widgetd(system)

    assert not report.changed and len(report.unchanged) == 6
    assert "no changes" in report.summary_line()
    after = (list(Article.objects.values_list("pk", "updated_at")), ArticleRevision.objects.count(),
             list(Symptom.objects.values_list("pk", flat=True)), list(Solution.objects.values_list("pk", flat=True)),
             Signature.objects.count())
    assert after == before


@pytest.mark.django_db
def test_changed_section_updates_its_article_in_place_with_a_new_revision():
    system = SystemFactory(slug="widgetd")
    import_widgetd(system)
    article = Article.objects.get(heading_path="Startup Problems / Socket already bound")
    untouched = Article.objects.get(heading_path="Queue Problems / Jobs vanish after restart")
    kept_solution = article.solutions.get()
    changed = fixture_text("widgetd.md").replace("Address already in use (port 7070)",
                                                 "Address already in use (port 7171)")

    report = import_widgetd(system, changed)

    assert report.updated == ["Startup Problems / Socket already bound"]
    assert len(report.unchanged) == 5 and not report.created
    article.refresh_from_db()
    assert article.revisions.count() == 2
    assert "7171" in article.body and "7171" in article.body_html
    texts = set(Signature.objects.filter(symptom__articles=article).values_list("text", flat=True))
    assert texts == {"widgetd: bind failed: Address already in use (port 7171)",
                     "widgetd: bind failed: Address already in use",
                     "bind failed: Address already in use (port 7171)"}
    # The solution did not change, so it keeps its row (and anything pointing at it).
    assert article.solutions.get().pk == kept_solution.pk
    assert untouched.revisions.count() == 1
    assert Article.objects.filter(system=system).count() == 6


@pytest.mark.django_db
def test_vanished_section_is_only_removed_with_prune_and_only_from_its_own_file():
    system = SystemFactory(slug="widgetd")
    import_widgetd(system)
    guide_import(data=b"# Other\n\n## Issue: Separate thing\n\n```\nError: other\n```\n", filename="other.md",
                 system=system)
    manual = ArticleFactory(system=system, title="Hand written", slug="hand-written")
    shorter = fixture_text("widgetd.md").split("## FAQ")[0]

    kept = import_widgetd(system, shorter)

    assert kept.stale == ["FAQ / Can I run two daemons on one host?", "FAQ / How do I wipe all state?"]
    assert not kept.removed and Article.objects.filter(heading_path__startswith="FAQ /").count() == 2
    assert "prune" in kept.summary_line()

    pruned = import_widgetd(system, shorter, prune=True)

    assert pruned.removed == ["FAQ / Can I run two daemons on one host?", "FAQ / How do I wipe all state?"]
    assert not Article.objects.filter(heading_path__startswith="FAQ /").exists()
    assert not Solution.objects.filter(title__startswith="Answer:").exists()
    assert Article.objects.filter(pk=manual.pk).exists()
    assert Article.objects.filter(source_file="other.md").count() == 1


@pytest.mark.django_db
def test_dry_run_reports_changes_and_writes_nothing():
    system = SystemFactory(slug="widgetd")

    report = import_widgetd(system, dry_run=True)

    assert report.dry_run and len(report.created) == 6
    assert "dry run" in report.summary_line()
    assert not Article.objects.exists() and not Symptom.objects.exists() and not Solution.objects.exists()


@pytest.mark.django_db
def test_dry_run_for_a_system_that_does_not_exist_yet_creates_nothing():
    system = system_for_import(name="Brand New", create=False)

    report = guide_import(data=fixture_text("widgetd.md").encode(), filename="w.md", system=system, dry_run=True)

    assert len(report.created) == 6
    assert not System.objects.filter(slug="brand-new").exists()


BAD_INPUTS = [
    (b"", "guide is empty"),
    (b"  \n\n\t", "guide is empty"),
    (b"# Title\n\x00\x01\x02binary", "binary"),
    ("# Café\n\n## Issue\n".encode("latin-1"), "not valid UTF-8"),
    (b"Plain prose only, no headings.\n", "no headings"),
    (b"# Title only\n\n## Table of Contents\n\n- [a](#a)\n", "no problem sections"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "reason"), BAD_INPUTS)
def test_bad_input_is_refused_with_its_reason_and_nothing_stored_changes(data, reason):
    system = SystemFactory(slug="widgetd")
    import_widgetd(system)
    before = list(Article.objects.values_list("pk", "source_hash", "body"))

    with pytest.raises(GuideRejected, match=reason) as excinfo:
        guide_import(data=data, filename="widgetd.md", system=system, prune=True)

    assert "\n" not in str(excinfo.value)
    assert list(Article.objects.values_list("pk", "source_hash", "body")) == before


@pytest.mark.django_db
def test_file_over_the_size_limit_is_refused(settings):
    settings.TRIAGE_IMPORT_MAX_BYTES = 1000
    system = SystemFactory(slug="widgetd")

    with pytest.raises(GuideRejected, match=r"too large .*limit is 1000 bytes"):
        guide_import(data=b"# T\n\n## A\n\n" + b"x" * 1000, filename="big.md", system=system)
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_hostile_html_in_a_guide_is_stored_only_sanitised():
    system = SystemFactory(slug="hostile")

    guide_import(data=fixture_text("hostile.md").encode(), filename="hostile.md", system=system)

    article = Article.objects.get(system=system)
    assert "<" not in article.title and "script" not in article.title.lower().replace("script injection", "")
    for html in [article.body_html, *Solution.objects.values_list("steps_html", flat=True)]:
        lowered = html.lower()
        assert "<script" not in lowered and "onerror" not in lowered and "onclick" not in lowered
        assert 'href="javascript:' not in lowered
    assert "Error: boom happened" in Signature.objects.values_list("text", flat=True)


@pytest.mark.django_db
def test_two_guides_sharing_a_system_keep_their_own_articles():
    system = system_for_import(name="Widgetd")

    import_widgetd(system)
    report = guide_import(data=fixture_text("scenarios.md").encode(), filename="scenarios.md", system=system)

    assert len(report.created) == 5
    assert Article.objects.filter(system=system).count() == 11
    assert system_for_import(name="widgetd") == system  # found again by name, case-insensitively
