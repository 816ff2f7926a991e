"""Steps other apps register in kb.hooks run after the starter articles; a refusal stops the command."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kb import hooks
from kb.hooks import StarterStepRefused
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


def test_decision_trees_register_a_starter_step():
    from trees.starter import starter_step

    assert starter_step in hooks.starter_steps()


@pytest.mark.django_db
def test_a_registered_loader_runs_after_the_articles_and_its_line_is_printed(content, monkeypatch):
    seen: list[int] = []

    def step(*, directory: Path, dry_run: bool) -> list[str]:
        seen.append(Article.objects.count())
        return [f"extras from {directory.name}: 1 loaded"]

    monkeypatch.setattr(hooks, "_starter_steps", [step])

    output = load(content)

    assert seen and seen[0] > 0
    assert output.rstrip().endswith("extras from content: 1 loaded")


@pytest.mark.django_db
def test_steps_are_told_about_a_dry_run(content, monkeypatch):
    calls: list[bool] = []
    monkeypatch.setattr(hooks, "_starter_steps", [lambda *, directory, dry_run: calls.append(dry_run) or []])

    load(content, "--dry-run")

    assert calls == [True]


@pytest.mark.django_db
def test_a_refusing_loader_fails_the_command_with_its_reasons(content, monkeypatch):
    def step(*, directory: Path, dry_run: bool) -> list[str]:
        raise StarterStepRefused("starter extras", ["a.yml: no name", "b.yml: bad link"])

    monkeypatch.setattr(hooks, "_starter_steps", [step])

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
