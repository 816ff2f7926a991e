"""What the importer hands around: parsed sections with their symptoms and solutions, and the report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from ..models import Risk, SymptomSeverity


class GuideRejected(Exception):
    """The file cannot be imported; str(exc) is a one-line reason fit to show a person."""


@dataclass
class ParsedSymptom:
    title: str
    signatures: list[str] = field(default_factory=list)
    description: str = ""
    severity: str = SymptomSeverity.MEDIUM.value


@dataclass
class ParsedSolution:
    title: str
    steps_markdown: str
    risk: str = Risk.LOW.value
    # Titles of the symptoms this fixes; empty means every symptom of the article.
    symptom_titles: list[str] = field(default_factory=list)


@dataclass
class ParsedSection:
    title: str
    heading_path: str
    anchor: str
    body_markdown: str
    summary: str
    symptoms: list[ParsedSymptom] = field(default_factory=list)
    solutions: list[ParsedSolution] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        """A digest of everything the import would store, so an unchanged section is skipped."""
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False
    source: str = ""
    system: str = ""
    # Sections that left the guide but were kept because prune was not asked for.
    stale: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def summary_line(self) -> str:
        where = " → ".join(part for part in (self.source, self.system) if part)
        prefix = f"{where}: " if where else ""
        if not self.changed:
            line = f"{prefix}no changes ({len(self.unchanged)} unchanged)"
        else:
            verb = "would be " if self.dry_run else ""
            line = (
                f"{prefix}{len(self.created)} {verb}created, {len(self.updated)} {verb}updated, "
                f"{len(self.removed)} {verb}removed, {len(self.unchanged)} unchanged"
            )
        if self.stale:
            line += f"; {len(self.stale)} no longer in the source (kept; prune to remove)"
        if self.dry_run:
            line += " [dry run: nothing written]"
        return line
