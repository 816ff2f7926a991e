"""Loaders registered with the starter loader run after the articles; a refusal stops the command."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kb.importing import starter
from kb.importing.starter import StarterRefused
from kb.models import Article

FIXTURE = Path(__file__).parent.parent / "fixtures" / "content"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    return target


def load(directory: Path, *args: str) -> str:
    out = StringIO()
    call_command("load_starter_content", "--dir", str(directory), *args, stdout=out)
    return out.getvalue()


def test_decision_trees_are_a_registered_loader():
    assert starter._decision_trees_load in starter.STARTER_LOADERS


@pytest.mark.django_db
def test_a_registered_loader_runs_after_the_articles_and_its_line_is_printed(content, monkeypatch):
    seen: list[int] = []

    def loader(directory: Path) -> str:
        seen.append(Article.objects.count())
        return f"extras from {directory.name}: 1 loaded"

    monkeypatch.setattr(starter, "STARTER_LOADERS", [loader])

    output = load(content)

    assert seen and seen[0] > 0
    assert output.rstrip().endswith("extras from content: 1 loaded")


@pytest.mark.django_db
def test_loaders_do_not_run_on_a_dry_run(content, monkeypatch):
    calls: list[Path] = []
    monkeypatch.setattr(starter, "STARTER_LOADERS", [lambda directory: calls.append(directory) or "ran"])

    load(content, "--dry-run")

    assert calls == []


@pytest.mark.django_db
def test_a_refusing_loader_fails_the_command_with_its_reasons(content, monkeypatch):
    def loader(directory: Path) -> str:
        raise StarterRefused("starter extras refused", ["a.yml: no name", "b.yml: bad link"])

    monkeypatch.setattr(starter, "STARTER_LOADERS", [loader])

    with pytest.raises(CommandError) as caught:
        load(content)

    assert str(caught.value) == "starter extras refused:\n  a.yml: no name\n  b.yml: bad link"


@pytest.mark.django_db
def test_an_invalid_starter_tree_is_refused_with_the_file_named(content):
    trees = content / "widgetd" / "_trees"
    trees.mkdir()
    (trees / "broken.yml").write_text("slug: [unclosed\n", encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        load(content)

    assert str(caught.value).startswith("starter decision trees refused:\n  widgetd/_trees/broken.yml")
