"""Writing parsed sections: one plan/apply for imported guides and for starter content.

A plan compares each section's content hash with the article stored under the same key (the heading
path for a guide, the file for starter content) and sorts sections into create, update and unchanged;
articles whose key left the source are removed with `prune` or reported as stale. Applying a plan
keeps the ids of symptoms and solutions whose title stayed, so resolved counts and links survive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from ..matching.rules import signature_for_message
from ..models import Article, Risk, Signature, Solution, Symptom, SymptomSeverity, SymptomSolution, System
from ..search import index_articles
from ..services import article_create, article_update, solution_render, system_upsert
from .extract import unique
from .guide import guide_parse_bytes
from .shapes import GuideRejected, ImportReport, ParsedSection


def _source_name(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name.strip() or "guide.md"
    return name[:255]


def system_for_import(*, name: str, create: bool = True) -> System:
    """The system called `name` (by name or slug); created when missing unless `create` is False."""
    name = " ".join(name.split())[:120]
    slug = slugify(name)[:120]
    if not slug:
        raise GuideRejected("system name must contain letters or digits")
    existing = System.objects.filter(name__iexact=name).first() or System.objects.filter(slug=slug).first()
    if existing:
        return existing
    if not create:
        return System(name=name, slug=slug)
    return system_upsert(slug=slug, name=name)[0]


def _stored_forms(texts: list[str]) -> list[tuple[str, str, str]]:
    """(kind, stored text, message) for each message that can be a signature (see signature_for_message)."""
    forms: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for message in unique(texts):
        form = signature_for_message(message)
        if form is not None and form not in seen:
            seen.add(form)
            forms.append((*form, message))
    return forms


def _imported(kind: str, text: str, examples: list[str]) -> bool:
    """Whether a stored signature is one the importer wrote: any literal, or a pattern built from its one
    example by signature_for_message. RE2 patterns written by people are never touched."""
    if kind == Signature.Kind.LITERAL:
        return True
    return len(examples) == 1 and signature_for_message(examples[0]) == (kind, text)


def _sync_signatures(symptoms: list[tuple[Symptom, list[str]]], *, fresh: bool) -> None:
    """Make each symptom's imported signatures match its messages; patterns added by people stay."""
    current: dict[int, dict[tuple[str, str], int]] = {}
    existing = Signature.objects.none() if fresh else Signature.objects.filter(
        symptom__in=[s.pk for s, _ in symptoms])
    for pk, symptom_id, kind, text, examples in existing.values_list(
            "pk", "symptom_id", "kind", "text", "positive_examples"):
        if _imported(kind, text, examples or []):
            current.setdefault(symptom_id, {})[(kind, text)] = pk
    stale: list[int] = []
    new: list[Signature] = []
    for symptom, texts in symptoms:
        have = current.get(symptom.pk, {})
        wanted = _stored_forms(texts)
        keys = {(kind, text) for kind, text, _ in wanted}
        stale += [pk for key, pk in have.items() if key not in keys]
        new += [Signature(symptom=symptom, kind=kind, text=text,
                          positive_examples=[message] if kind == Signature.Kind.PATTERN else [])
                for kind, text, message in wanted if (kind, text) not in have]
    if stale:
        Signature.objects.filter(pk__in=stale).delete()
    if new:
        Signature.objects.bulk_create(new)


def _drop_unless_shared(rows: list[Symptom] | list[Solution], article: Article) -> None:
    for row in rows:
        row.articles.remove(article)
        if not row.articles.exists():
            row.delete()


def article_relations_sync(*, article: Article, section: ParsedSection, fresh: bool = False) -> None:
    """Make the article's symptoms and solutions match the section, keeping rows whose title stayed
    (so their ids, resolved counts and links from incidents survive a re-import).

    `fresh` says the article was just created, so there is nothing old to read.
    """
    system = article.system
    old_symptoms = {} if fresh else {s.title.lower(): s for s in article.symptoms.all()}
    symptoms: list[Symptom] = []
    fresh_symptoms: list[Symptom] = []
    for parsed in section.symptoms:
        symptom = old_symptoms.pop(parsed.title.lower(), None)
        severity = parsed.severity if parsed.severity in SymptomSeverity.values else SymptomSeverity.MEDIUM
        title = parsed.title[:255]
        if symptom is None:
            symptom = Symptom(system=system, title=title, severity=severity, description=parsed.description)
            fresh_symptoms.append(symptom)
        elif (symptom.severity, symptom.description, symptom.title) != (severity, parsed.description, title):
            symptom.severity, symptom.description, symptom.title = severity, parsed.description, title
            symptom.save(update_fields=["severity", "description", "title", "updated_at"])
        symptoms.append(symptom)
    if fresh_symptoms:
        Symptom.objects.bulk_create(fresh_symptoms)
        Symptom.articles.through.objects.bulk_create(
            [Symptom.articles.through(symptom_id=s.pk, article_id=article.pk) for s in fresh_symptoms])
    _drop_unless_shared(list(old_symptoms.values()), article)
    _sync_signatures([(symptom, parsed.signatures) for symptom, parsed in zip(symptoms, section.symptoms,
                                                                               strict=True)], fresh=fresh)

    old_solutions = {} if fresh else {s.title.lower(): s for s in article.solutions.all()}
    solutions: list[Solution] = []
    fresh_solutions: list[Solution] = []
    for parsed in section.solutions:
        solution = old_solutions.pop(parsed.title.lower(), None)
        risk = parsed.risk if parsed.risk in Risk.values else Risk.LOW
        title = parsed.title[:255]
        if solution is None:
            solution = Solution(system=system, title=title, steps=parsed.steps_markdown, risk=risk)
            solution_render(solution=solution)
            fresh_solutions.append(solution)
        elif (solution.steps, solution.risk, solution.title) != (parsed.steps_markdown, risk, title):
            solution.steps, solution.risk, solution.title = parsed.steps_markdown, risk, title
            solution_render(solution=solution)
            solution.save(update_fields=["steps", "steps_html", "risk", "title", "updated_at"])
        solutions.append(solution)
    if fresh_solutions:
        Solution.objects.bulk_create(fresh_solutions)
        Solution.articles.through.objects.bulk_create(
            [Solution.articles.through(solution_id=s.pk, article_id=article.pk) for s in fresh_solutions])
    _drop_unless_shared(list(old_solutions.values()), article)

    # Every symptom links to the solutions that fix it, ranked in the guide's order.
    by_title = {s.title.lower(): s for s in symptoms}
    wanted: dict[tuple[int, int], int] = {}
    for rank, (solution, parsed) in enumerate(zip(solutions, section.solutions, strict=True)):
        targets = [by_title[t.lower()] for t in parsed.symptom_titles if t.lower() in by_title] or symptoms
        for symptom in targets:
            wanted.setdefault((symptom.pk, solution.pk), rank)
    links = SymptomSolution.objects.none() if fresh else SymptomSolution.objects.filter(
        symptom__in=[s.pk for s in symptoms], solution__in=[s.pk for s in solutions])
    existing = {(link.symptom_id, link.solution_id): link for link in links}
    stale = [link.pk for key, link in existing.items() if key not in wanted]
    if stale:
        SymptomSolution.objects.filter(pk__in=stale).delete()
    moved = []
    for key, rank in wanted.items():
        link = existing.get(key)
        if link is not None and link.rank != rank:
            link.rank = rank
            moved.append(link)
    if moved:
        SymptomSolution.objects.bulk_update(moved, ["rank"])
    new_links = [SymptomSolution(symptom_id=a, solution_id=b, rank=rank) for (a, b), rank in wanted.items()
                 if (a, b) not in existing]
    if new_links:
        SymptomSolution.objects.bulk_create(new_links)


def article_delete_imported(article: Article) -> None:
    """Remove an article and the imported symptoms/solutions that only it used."""
    symptoms = list(article.symptoms.all())
    solutions = list(article.solutions.all())
    article.delete()
    for row in symptoms + solutions:
        if not row.articles.exists():
            row.delete()


@dataclass
class PlannedSection:
    key: str  # what the stored article is found by: heading path (guide) or file (starter content)
    source_file: str
    section: ParsedSection
    digest: str = ""

    def __post_init__(self) -> None:
        self.digest = self.digest or self.section.content_hash()


@dataclass
class ImportPlan:
    create: list[PlannedSection] = field(default_factory=list)
    update: list[tuple[Article, PlannedSection]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    remove: list[Article] = field(default_factory=list)
    stale: list[Article] = field(default_factory=list)


def import_plan(*, entries: list[PlannedSection], existing: dict[str, Article], previous: list[Article],
                article_key: Callable[[Article], str], prune: bool) -> ImportPlan:
    """Sort `entries` against the articles stored under their keys (`existing`); articles of this source
    (`previous`) whose key is no longer wanted are removed with `prune`, otherwise reported as stale."""
    plan = ImportPlan()
    for entry in entries:
        article = existing.get(entry.key)
        if article is None:
            plan.create.append(entry)
        elif article.source_hash == entry.digest and article.source_file == entry.source_file:
            plan.unchanged.append(entry.section.heading_path)
        else:
            plan.update.append((article, entry))
    wanted = {entry.key for entry in entries}
    for article in previous:
        if article_key(article) not in wanted:
            (plan.remove if prune else plan.stale).append(article)
    return plan


def import_apply(*, plan: ImportPlan, system: System, author: AbstractBaseUser | None, create_note: str,
                 update_note: str) -> list[int]:
    """Write a plan (inside the caller's transaction); returns the ids of articles to reindex."""
    touched: list[int] = []
    for entry in plan.create:
        section = entry.section
        article = article_create(
            system=system, title=section.title, body=section.body_markdown, summary=section.summary,
            heading_path=section.heading_path, tags=section.tags, author=author, source_file=entry.source_file,
            source_anchor=section.anchor, source_hash=entry.digest, note=create_note[:255],
        )
        article_relations_sync(article=article, section=section, fresh=True)
        touched.append(article.pk)
    for article, entry in plan.update:
        section = entry.section
        article_update(
            article=article, author=author, note=update_note[:255], tags=section.tags,
            title=section.title, body=section.body_markdown, summary=section.summary,
            heading_path=section.heading_path, source_file=entry.source_file, source_anchor=section.anchor,
            source_hash=entry.digest,
        )
        article_relations_sync(article=article, section=section)
        touched.append(article.pk)
    for article in plan.remove:
        article_delete_imported(article)
    return touched


def plan_report(plan: ImportPlan, *, dry_run: bool, source: str, system_name: str) -> ImportReport:
    return ImportReport(
        created=[entry.section.heading_path for entry in plan.create],
        updated=[entry.section.heading_path for _, entry in plan.update],
        unchanged=plan.unchanged,
        removed=[a.heading_path for a in plan.remove],
        dry_run=dry_run, source=source, system=system_name,
        stale=[a.heading_path for a in plan.stale],
    )


def _by_heading_path(article: Article) -> str:
    return article.heading_path


def guide_import(
    *,
    data: bytes,
    filename: str,
    system: System,
    author: AbstractBaseUser | None = None,
    dry_run: bool = False,
    prune: bool = False,
) -> ImportReport:
    """Import one guide into `system`: create new sections, update changed ones in place.

    Articles are keyed by (system, heading path) among imported articles. With `prune`, articles that
    came from this file and whose section is gone are deleted. With `dry_run` nothing is written.
    Raises GuideRejected (and changes nothing) for files that cannot be imported.
    """
    sections = guide_parse_bytes(data=data, filename=filename)
    source_file = _source_name(filename)

    entries = [PlannedSection(key=s.heading_path, source_file=source_file, section=s) for s in sections]

    def plan_now() -> ImportPlan:
        if system.pk is None:
            return import_plan(entries=entries, existing={}, previous=[], article_key=_by_heading_path, prune=prune)
        # Imported guide articles only: starter content ("<system>/<file>.md") is keyed by its file.
        imported = (Article.objects.filter(system=system).exclude(source_hash="")
                    .exclude(source_file__contains="/").select_related("system"))
        existing: dict[str, Article] = {}
        for article in imported.filter(heading_path__in=[s.heading_path for s in sections]).order_by("pk"):
            # An article from this very file wins over one from another guide with the same path.
            current = existing.get(article.heading_path)
            if current is None or (current.source_file != source_file and article.source_file == source_file):
                existing[article.heading_path] = article
        from_file = list(imported.filter(source_file=source_file))
        return import_plan(entries=entries, existing=existing, previous=from_file, article_key=_by_heading_path,
                           prune=prune)

    if dry_run:
        return plan_report(plan_now(), dry_run=True, source=source_file, system_name=system.name)
    if system.pk is None:
        system = system_upsert(slug=system.slug or slugify(system.name)[:120], name=system.name)[0]
    try:
        with transaction.atomic():
            # One import per system at a time, so two uploads of a guide cannot both create its articles.
            System.objects.select_for_update().filter(pk=system.pk).first()
            plan = plan_now()
            touched = import_apply(plan=plan, system=system, author=author,
                                   create_note=f"Imported from {source_file}",
                                   update_note=f"Re-imported from {source_file}")
    except ValidationError as exc:
        # Everything was rolled back; say which value did not fit rather than failing with a 500.
        raise GuideRejected(f"guide could not be stored ({'; '.join(exc.messages)[:200]})") from None
    if touched:
        index_articles(touched)
    return plan_report(plan, dry_run=False, source=source_file, system_name=system.name)
