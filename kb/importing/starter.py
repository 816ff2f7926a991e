"""Starter content: kb/content/<system>/_system.yml plus one article per *.md with YAML front matter.

Every file is checked before anything is written; articles are keyed by their file, so a retitled
article is updated in place. What loads after the articles (decision trees) are steps other apps
register in `kb.hooks`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from ..models import Article, Risk, SymptomSeverity, System
from ..search import index_articles
from ..services import system_upsert
from .analysis import add_symptom
from .extract import tags_for
from .repair import decode_guide, human_size, repair_text
from .shapes import GuideRejected, ImportReport, ParsedSection, ParsedSolution, ParsedSymptom
from .writer import PlannedSection, import_apply, import_plan, plan_report

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def _require(condition: bool, where: str, reason: str) -> None:
    if not condition:
        raise GuideRejected(f"{where}: {reason}")


def _string_list(value: Any, where: str, name: str) -> list[str]:
    if value is None:
        return []
    _require(isinstance(value, list) and all(isinstance(v, str | int | float) for v in value), where,
             f"{name} must be a list of strings")
    return [str(v).strip() for v in value if str(v).strip()]


def parse_content_article(text: str, *, where: str) -> ParsedSection:
    """One starter-content file: YAML front matter (title, summary, tags, symptoms, solutions) + body."""
    text = repair_text(text.replace("\r\n", "\n").lstrip("\ufeff"))
    match = _FRONT_MATTER_RE.match(text)
    _require(match is not None, where, "missing YAML front matter (the file must start with ---)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise GuideRejected(f"{where}: front matter is not valid YAML ({problem})") from None
    _require(isinstance(meta, dict), where, "front matter must be a mapping")
    title = " ".join(str(meta.get("title") or "").split())
    _require(bool(title), where, "front matter needs a title")
    _require(len(title) <= 255, where, "title is longer than 255 characters")
    body = text[match.end():].strip("\n")
    _require(bool(body.strip()), where, "the article body after the front matter is empty")

    symptoms: list[ParsedSymptom] = []
    raw_symptoms = meta.get("symptoms") or []
    _require(isinstance(raw_symptoms, list), where, "symptoms must be a list")
    for index, raw in enumerate(raw_symptoms, start=1):
        _require(isinstance(raw, dict) and raw.get("title"), where, f"symptom {index} needs a title")
        severity = str(raw.get("severity") or SymptomSeverity.MEDIUM.value).lower()
        _require(severity in SymptomSeverity.values, where,
                 f"symptom {index} has severity {severity!r}; use one of {', '.join(SymptomSeverity.values)}")
        add_symptom(symptoms, ParsedSymptom(
            title=" ".join(str(raw["title"]).split()), severity=severity,
            signatures=_string_list(raw.get("signatures"), where, f"symptom {index} signatures"),
            description=" ".join(str(raw.get("description") or "").split()),
        ))

    solutions: list[ParsedSolution] = []
    raw_solutions = meta.get("solutions") or []
    _require(isinstance(raw_solutions, list), where, "solutions must be a list")
    for index, raw in enumerate(raw_solutions, start=1):
        _require(isinstance(raw, dict) and raw.get("title"), where, f"solution {index} needs a title")
        _require(isinstance(raw.get("steps"), str) and raw["steps"].strip(), where,
                 f"solution {index} needs steps (Markdown text)")
        risk = str(raw.get("risk") or Risk.LOW.value).lower()
        _require(risk in Risk.values, where, f"solution {index} has risk {risk!r}; use one of {', '.join(Risk.values)}")
        solutions.append(ParsedSolution(title=" ".join(str(raw["title"]).split())[:255],
                                        steps_markdown=raw["steps"].strip(), risk=risk))
    _require(len({s.title.lower() for s in solutions}) == len(solutions), where, "solution titles must be unique")

    tags = [t.lower() for t in _string_list(meta.get("tags"), where, "tags")] or tags_for(title, body)
    summary = " ".join(str(meta.get("summary") or "").split())
    return ParsedSection(title=title, heading_path=title, anchor="", body_markdown=body, summary=summary,
                         symptoms=symptoms, solutions=solutions, tags=sorted(set(tags)))


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > settings.TRIAGE_IMPORT_MAX_BYTES:
            raise GuideRejected(f"{path.name}: guide is too large ({human_size(size)})")
        return decode_guide(path.read_bytes())
    except GuideRejected as exc:
        raise GuideRejected(str(exc) if str(exc).startswith(path.name) else f"{path.name}: {exc}") from None
    except OSError as exc:
        raise GuideRejected(f"{path.name}: cannot be read ({exc.strerror})") from None


def _system_meta(directory: Path) -> dict[str, Any]:
    where = f"{directory.name}/_system.yml"
    meta_path = directory / "_system.yml"
    if not meta_path.exists():
        return {"name": directory.name.replace("-", " ").title(), "slug": slugify(directory.name),
                "description": "", "links": None, "depends_on": None}
    try:
        meta = yaml.safe_load(_read_text(meta_path)) or {}
    except yaml.YAMLError as exc:
        raise GuideRejected(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    _require(isinstance(meta, dict), where, "must be a mapping")
    name = " ".join(str(meta.get("name") or "").split())
    _require(bool(name), where, "needs a name")
    slug = slugify(str(meta.get("slug") or name))[:120]
    _require(bool(slug), where, "slug must contain letters or digits")
    links = meta.get("links") or []
    _require(isinstance(links, list), where, "links must be a list")
    clean_links = []
    for link in links:
        _require(isinstance(link, dict) and link.get("url") and link.get("label"), where,
                 "every link needs a label and a url")
        _require(str(link["url"]).startswith(("http://", "https://")), where, "link urls must be http(s)")
        clean_links.append({"label": str(link["label"]), "url": str(link["url"])})
    return {"name": name[:120], "slug": slug, "description": " ".join(str(meta.get("description") or "").split()),
            "links": clean_links, "depends_on": _string_list(meta.get("depends_on"), where, "depends_on")}


def _content_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.is_file() and not p.name.startswith("_"))


def _system_needs_change(system: System | None, meta: dict[str, Any]) -> bool:
    if system is None:
        return True
    return (system.name, system.description or "", system.links) != (
        meta["name"], meta["description"] or system.description or "", meta["links"])


def _by_file(article: Article) -> str:
    return article.source_file


def content_import(*, directory: Path, dry_run: bool = False, prune: bool = False) -> list[ImportReport]:
    """Load starter content: one report per system directory under `directory`.

    Every file is checked before anything is written, so one bad file changes nothing.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise GuideRejected(f"{directory}: content directory not found")
    loaded: list[tuple[Path, dict[str, Any], list[tuple[str, ParsedSection]]]] = []
    for system_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        files = _content_files(system_dir)
        if not files and not (system_dir / "_system.yml").exists():
            continue
        meta = _system_meta(system_dir)
        articles = []
        for path in files:
            where = f"{system_dir.name}/{path.name}"
            articles.append((where, parse_content_article(_read_text(path), where=where)))
        titles = [a.title.lower() for _, a in articles]
        duplicate = next((t for t in titles if titles.count(t) > 1), None)
        _require(duplicate is None, system_dir.name, f"two articles share the title {duplicate!r}")
        loaded.append((system_dir, meta, articles))

    reports: list[ImportReport] = []
    with transaction.atomic():
        touched: list[int] = []
        systems: dict[str, System] = {}
        for system_dir, meta, articles in loaded:
            system = System.objects.filter(slug=meta["slug"]).first()
            system_changed = _system_needs_change(system, meta)
            existed = system is not None
            if not dry_run:
                system, changed = system_upsert(slug=meta["slug"], name=meta["name"], description=meta["description"],
                                                links=meta["links"])
                system_changed = changed
            elif system is None:
                system = System(name=meta["name"], slug=meta["slug"])
            systems[meta["slug"]] = system
            prefix = f"{system_dir.name}/"
            existing: dict[str, Article] = {}
            from_dir: list[Article] = []
            if system.pk is not None:
                from_dir = list(Article.objects.filter(system=system, source_file__startswith=prefix))
                existing = {a.source_file: a for a in from_dir}
            # Content articles are keyed by their file, so a retitled article is updated in place.
            entries = [PlannedSection(key=where, source_file=where, section=section) for where, section in articles]
            plan = import_plan(entries=entries, existing=existing, previous=from_dir, article_key=_by_file,
                               prune=prune)
            report = plan_report(plan, dry_run=dry_run, source=system_dir.name, system_name=meta["name"])
            if system_changed:
                (report.updated if existed else report.created).insert(0, f"{meta['name']} (system)")
            if not dry_run:
                touched += import_apply(plan=plan, system=system, author=None, create_note="Starter content",
                                        update_note="Starter content updated")
            reports.append(report)

        # Dependencies last, so a system may depend on one that sorts after it.
        for (_dir, meta, _), report in zip(loaded, reports, strict=True):
            system = systems[meta["slug"]]
            wanted = sorted(meta["depends_on"] or [])
            if system.pk is None:
                continue
            current = sorted(system.depends_on.values_list("slug", flat=True))
            known = sorted(s for s in wanted if s in systems or System.objects.filter(slug=s).exists())
            if known != current:
                label = f"{meta['name']} (system)"
                if label not in report.created and label not in report.updated:
                    report.updated.append(label)
                if not dry_run:
                    system_upsert(slug=system.slug, name=system.name, description=system.description,
                                  links=system.links, depends_on=known)
    if touched:
        index_articles(touched)
    return reports
