"""The five real-world seed guides: every one splits into problem articles with clean text.

The guides are test data kept outside the repository (their prose is not ours to copy in): they are read
from ../shared/seeds beside the checkout, or TRIAGE_SEED_GUIDES; a missing guide fails the test.
"""

import pytest

from kb.importing import guide_import, parse_guide
from kb.models import Article, Signature, System
from tests.seeds import seed_path

SEEDS = ["orchestrator.md", "ares.md", "agent-factory.md", "coordinaitor.md", "claude-flow.md"]
MOJIBAKE = ["â", "Ã", "Â", "ðŸ", "üö", "üî", "\uf8ff", "\ufffd"]


def seed_bytes(name: str) -> bytes:
    return seed_path(name).read_bytes()


def texts_of(section) -> list[str]:
    return [section.title, section.heading_path, section.summary, section.body_markdown,
            *[s.title for s in section.symptoms], *[sig for s in section.symptoms for sig in s.signatures],
            *[s.title for s in section.solutions], *[s.steps_markdown for s in section.solutions]]


@pytest.mark.parametrize("name", SEEDS)
def test_seed_guide_splits_into_at_least_eight_problem_articles_without_mojibake(name):
    sections = parse_guide(seed_bytes(name).decode("utf-8"))

    assert len(sections) >= 8
    problems = [s for s in sections if s.symptoms]
    assert len(problems) >= 8
    assert len({s.heading_path for s in sections}) == len(sections)
    for section in sections:
        for text in texts_of(section):
            leftovers = [marker for marker in MOJIBAKE if marker in text]
            assert not leftovers, f"{name}: {section.heading_path}: {leftovers} in {text[:80]!r}"


def test_seed_emoji_come_back_as_the_emoji_they_were():
    paths = {
        name: " | ".join(s.heading_path for s in parse_guide(seed_bytes(name).decode("utf-8")))
        for name in ("ares.md", "claude-flow.md", "coordinaitor.md")
    }

    assert "🚨 Quick Diagnostics" in paths["ares.md"]  # Mac Roman mojibake
    assert "🗄️ Database and Performance Issues" in paths["ares.md"]
    assert "🔍 Diagnostic Framework" in paths["claude-flow.md"]  # cp1252 with a lost byte
    assert "✅ Basic Health Checks" in paths["coordinaitor.md"]


def test_orchestrator_problems_are_separate_articles_with_their_error_strings():
    sections = {s.title: s for s in parse_guide(seed_bytes("orchestrator.md").decode("utf-8"))}
    expected = {
        "Port Already in Use": "Address already in use",
        "Missing Dependencies": "No module named 'fastapi'",
        "CORS Errors in Browser": "blocked by CORS policy",
        "WebSocket Connection Failed": "WebSocket connection to 'ws://localhost:8100/ws' failed",
        "API Keys Not Working": "Incorrect API key provided",
        "Agent Timeout Errors": "asyncio.TimeoutError",
        "Agent Response Parsing Errors": "JSONDecodeError",
        "Permission Denied on Workspace": "Permission denied",
        "Disk Space Full": "No space left on device",
        "Database Connection Failed": "sqlite3.OperationalError) database is locked",
    }

    for title, error in expected.items():
        signatures = [sig for symptom in sections[title].symptoms for sig in symptom.signatures]
        assert any(error in sig for sig in signatures), (title, signatures)
        assert sections[title].solutions, title


def test_claude_flow_code_scenarios_become_their_own_problem_articles():
    sections = parse_guide(seed_bytes("claude-flow.md").decode("utf-8"))
    scenarios = [s for s in sections if s.heading_path.count(" / ") >= 2]

    assert len(scenarios) >= 8
    assert all(s.symptoms for s in scenarios)
    assert sum(1 for s in scenarios if s.solutions) >= 8
    assert not any("Related Documentation" in s.heading_path for s in sections)
    signatures = {sig for s in sections for symptom in s.symptoms for sig in symptom.signatures}
    assert {"Redis connection failed", "Debug session not found", "API DOWN"} <= signatures


@pytest.mark.django_db
def test_importing_every_seed_then_importing_again_changes_nothing():
    counts = {}
    for name in SEEDS:
        system = System.objects.create(name=name.removesuffix(".md"), slug=name.removesuffix(".md"))
        report = guide_import(data=seed_bytes(name), filename=name, system=system)
        counts[name] = len(report.created)
        assert report.created and not report.updated

    assert all(count >= 8 for count in counts.values()), counts
    assert Signature.objects.filter(text__contains="database is locked").exists()
    for name in SEEDS:
        system = System.objects.get(slug=name.removesuffix(".md"))
        again = guide_import(data=seed_bytes(name), filename=name, system=system)
        assert not again.changed and "no changes" in again.summary_line()
        assert Article.objects.filter(system=system).count() == counts[name]
