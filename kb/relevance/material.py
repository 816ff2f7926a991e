"""The benchmark's material, read from tests/fixtures/relevance (see its README), and the rule for when an
imported article *is* a truth section: its heading path names the section's heading (and, in order, the
ancestors the truth gives), compared as plain ASCII words so the importer's clean-up (backticks, a
leading "Error:", mis-encoded emoji, a " (2)" suffix for repeated headings) does not matter."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings

from ..models import Article

SEED_FILES = {
    "coordinaitor": "coordinaitor.md", "orchestrator": "orchestrator.md", "claude-flow": "claude-flow.md",
    "ares": "ares.md", "agent-factory": "agent-factory.md",
}
_WORD_RE = re.compile(r"[a-z0-9]+")
_REPEAT_RE = re.compile(r"\s\(\d+\)$")
_HEADING_LINE_RE = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def fixtures_dir() -> Path:
    return Path(settings.BASE_DIR) / "tests" / "fixtures" / "relevance"


def seeds_dir() -> Path:
    return Path(os.environ.get("TRIAGE_SEED_GUIDES") or Path(settings.BASE_DIR).parent / "shared" / "seeds")


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD_RE.findall(_REPEAT_RE.sub("", text).lower()))


def same_heading(expected: str, segment: str) -> bool:
    """Equal as words, or one contains the other and they share most words (the importer trims prefixes)."""
    a, b = words(expected), words(segment)
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    joined = " " + " ".join(long) + " "
    return f" {' '.join(short)} " in joined and len(short) >= 0.6 * len(long)


@dataclass
class TruthError:
    text: str
    variants: list[str]


@dataclass
class TruthSection:
    heading: str
    path: list[str]
    errors: list[TruthError]
    paraphrases: list[str]

    def is_article(self, article: Article) -> bool:
        """Whether this article is (part of) this section: its heading path names it."""
        return path_names(article.heading_path, [*self.path, self.heading])

    def in_body(self, article: Article) -> bool:
        """Whether the section became part of this article (its heading is a sub-heading of the body)."""
        return any(same_heading(self.heading, line) and words(self.heading) == words(line)
                   for line in _HEADING_LINE_RE.findall(article.body or ""))


def path_names(heading_path: str, expected: list[str]) -> bool:
    """The last expected step names a segment; the steps before it name earlier segments, in order."""
    segments = [s for s in (heading_path or "").split(" / ") if s.strip()]
    if not expected:
        return False
    for last in range(len(segments) - 1, -1, -1):
        # A heading may itself contain " / " ("Failed to get rootfs info / "stat failed""): try the
        # segments ending here joined back, shortest first.
        for first in range(last, -1, -1):
            if not same_heading(expected[-1], " / ".join(segments[first : last + 1])):
                continue
            remaining = iter(segments[:first])
            if all(any(same_heading(step, seg) for seg in remaining) for step in expected[:-1]):
                return True
    return False


@dataclass
class Guide:
    slug: str
    file: Path
    split: str
    sections: list[TruthSection] = field(default_factory=list)
    # Held out and added after development had seen the first held-out guides: never looked at by anyone
    # tuning the importer or the matcher (tests/fixtures/relevance/README.md).
    fresh: bool = False


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def guides_load(root: Path | None = None, *, only: list[str] | None = None) -> list[Guide]:
    root = (root or fixtures_dir()) / "guides"
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if only and folder.name not in only:
            continue
        source, truth = _load(folder / "SOURCE.yml"), _load(folder / "truth.yml")
        sections = [
            TruthSection(
                heading=s["heading"], path=list(s.get("path") or []), paraphrases=list(s.get("paraphrases") or []),
                errors=[TruthError(text=e["text"], variants=list(e.get("variants") or [])) for e in s["errors"]],
            )
            for s in truth["sections"]
        ]
        found.append(Guide(slug=folder.name, file=folder / source["file"], split=source["split"], sections=sections,
                           fresh=bool(source.get("fresh"))))
    return found


def logs_load(root: Path | None = None) -> dict[str, str]:
    folder = (root or fixtures_dir()) / "logs"
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.log"))}


@dataclass
class SeedLine:
    system: str
    line: str
    article: list[str]
    literal: bool


def seed_lines_load(root: Path | None = None, *, only: list[str] | None = None) -> list[SeedLine]:
    data = _load((root or fixtures_dir()) / "seed_error_lines.yml")
    return [
        SeedLine(system=system, line=item["line"], article=list(item["article"]), literal=bool(item.get("literal")))
        for system, items in data["guides"].items() if not only or system in only
        for item in items
    ]
