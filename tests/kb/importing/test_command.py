"""`manage.py import_guide`: output, exit status and what it writes."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kb.models import Article, System

GUIDE = Path(__file__).parent.parent / "fixtures" / "guides" / "widgetd.md"


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_guide", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_command_creates_the_system_and_prints_each_new_article_and_a_summary():
    output = run(str(GUIDE), "--system", "Widget Daemon")

    system = System.objects.get(slug="widget-daemon")
    assert system.name == "Widget Daemon"
    assert Article.objects.filter(system=system).count() == 6
    assert "+ Startup Problems / Socket already bound" in output
    assert "widgetd.md → Widget Daemon: 6 created" in output


@pytest.mark.django_db
def test_second_run_reports_no_changes():
    run(str(GUIDE), "--system", "Widgetd")

    output = run(str(GUIDE), "--system", "widgetd")

    assert "no changes" in output
    assert "+ " not in output


@pytest.mark.django_db
def test_dry_run_prints_what_would_change_and_writes_nothing():
    output = run(str(GUIDE), "--system", "Widgetd", "--dry-run")

    assert "+ Queue Problems / Queue at a glance" in output
    assert "would be created" in output and "dry run" in output
    assert not System.objects.exists() and not Article.objects.exists()


@pytest.mark.django_db
def test_prune_removes_sections_that_left_the_guide(tmp_path):
    run(str(GUIDE), "--system", "Widgetd")
    shorter = tmp_path / "widgetd.md"
    shorter.write_text(GUIDE.read_text(encoding="utf-8").split("## FAQ")[0], encoding="utf-8")

    kept = run(str(shorter), "--system", "Widgetd")
    pruned = run(str(shorter), "--system", "Widgetd", "--prune")

    assert "no changes" in kept and "prune to remove" in kept
    assert "- FAQ / How do I wipe all state?" in pruned
    assert Article.objects.count() == 4


@pytest.mark.django_db
def test_rejected_file_exits_non_zero_with_its_reason_and_nothing_is_written(tmp_path):
    bad = tmp_path / "notes.md"
    bad.write_bytes("# Notes\n\n## Caf\xe9\n".encode("latin-1"))

    with pytest.raises(CommandError, match=r"^guide is not valid UTF-8 .*notes\.md.*nothing was imported$"):
        run(str(GUIDE), str(bad), "--system", "Widgetd")

    assert not System.objects.exists() and not Article.objects.exists()


@pytest.mark.django_db
def test_missing_file_is_reported(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "absent.md"), "--system", "Widgetd")


@pytest.mark.django_db
def test_command_exit_status_is_non_zero_for_a_refused_file(tmp_path, capsys):
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "import_guide", str(empty), "--system", "Widgetd"]).execute()

    assert exit_info.value.code == 1
    assert "CommandError: guide is empty" in capsys.readouterr().err
