"""The knowledge base's side of diagnostic checks: which checks a system, article or symptom runs, in what
order, and what a failing result probably means given the system's dependencies.

diagnostics knows nothing of systems; this module joins the two. ``symptom_signatures`` is the symptom
provider that log file checks use; ``KbConfig.ready()`` registers it with ``diagnostics.hooks``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.db.models import Prefetch, Q

from diagnostics.models import Check, CheckRun, CheckState
from diagnostics.services import check_runs_queue
from diagnostics.yaml_io import checks_import_yaml

from .models import Article, Signature, Symptom, System


def symptom_signatures(symptom_id: int) -> list[tuple[str, str]] | None:
    """Signatures recognising a symptom, for log file checks written as ``symptom: <id>``."""
    if not Symptom.objects.filter(pk=symptom_id).exists():
        return None
    return [(kind, text) for kind, text in
            Signature.objects.filter(symptom_id=symptom_id).order_by("id").values_list("kind", "text")]


# --- starter checks ----------------------------------------------------------------------------------


def starter_checks_import(*, directory: Path, dry_run: bool = False) -> list[str]:
    """Import every ``<system>/_checks.yml`` under ``directory`` and link its checks to that system.

    Idempotent: checks are matched by slug (an unchanged file changes nothing) and linking twice is a
    no-op. A system that is not in the database yet (a dry run of a fresh install) is skipped. Raises
    diagnostics.yaml_io.ChecksImportError for an invalid file, having saved nothing from it.
    """
    lines = []
    for path in sorted(directory.glob("*/_checks.yml")):
        slug = path.parent.name
        meta_path = path.parent / "_system.yml"
        if meta_path.exists():
            meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
            slug = str(meta.get("slug") or slug)
        system = System.objects.filter(slug=slug).first()
        if system is None:
            lines.append(f"{path.parent.name}/_checks.yml: system {slug!r} not loaded; skipped")
            continue
        if dry_run:
            lines.append(f"{path.parent.name}/_checks.yml: would import and link to {system.name}")
            continue
        report = checks_import_yaml(path.read_text(encoding="utf-8"))
        system.checks.add(*report.checks)
        lines.append(f"{path.parent.name}/_checks.yml: {len(report.created)} created, {len(report.updated)} updated, "
                     f"{len(report.unchanged)} unchanged; linked to {system.name}")
    return lines


# --- which checks, in which order ---------------------------------------------------------------------


def systems_dependency_first(system: System) -> list[System]:
    """``system`` and everything it depends on (transitively), dependencies before their dependents."""
    ordered: list[System] = []
    visiting: set[int] = set()
    done: set[int] = set()

    def visit(node: System) -> None:
        if node.pk in done or node.pk in visiting:  # a dependency cycle is cut rather than looped
            return
        visiting.add(node.pk)
        for dependency in node.depends_on.all().order_by("name"):
            visit(dependency)
        visiting.discard(node.pk)
        done.add(node.pk)
        ordered.append(node)

    visit(system)
    return ordered


def _depth(system: System, memo: dict[int, int], trail: frozenset[int] = frozenset()) -> int:
    """0 for a system that depends on nothing, else one more than its deepest dependency."""
    if system.pk in memo:
        return memo[system.pk]
    if system.pk in trail:  # a cycle: stop counting
        return 0
    dependencies = list(system.depends_on.all())
    memo[system.pk] = 1 + max((_depth(d, memo, trail | {system.pk}) for d in dependencies), default=-1)
    return memo[system.pk]


def system_checks_ordered(system: System) -> list[tuple[System, list[Check]]]:
    """Each system from the dependencies up to ``system`` with its enabled checks."""
    systems = systems_dependency_first(system)
    prefetched = System.objects.filter(pk__in=[s.pk for s in systems]).prefetch_related(
        Prefetch("checks", queryset=Check.objects.filter(enabled=True).order_by("name"))
    )
    by_pk = {s.pk: s for s in prefetched}
    return [(by_pk[s.pk], list(by_pk[s.pk].checks.all())) for s in systems if s.pk in by_pk]


def article_checks(article: Article) -> list[Check]:
    """The article's own checks, then those of its symptoms, without repeats."""
    checks = list(article.checks.filter(enabled=True).order_by("name"))
    seen = {c.pk for c in checks}
    for check in Check.objects.filter(enabled=True, pk__in=Symptom.checks.through.objects.filter(
            symptom__articles=article).values("check_id")).order_by("name"):
        if check.pk not in seen:
            checks.append(check)
            seen.add(check.pk)
    return checks


def symptom_checks(symptom: Symptom) -> list[Check]:
    return list(symptom.checks.filter(enabled=True).order_by("name"))


def _unique(checks: Iterable[Check]) -> list[Check]:
    seen: set[int] = set()
    unique = []
    for check in checks:
        if check.pk not in seen:
            seen.add(check.pk)
            unique.append(check)
    return unique


def system_checks_run(*, system: System, requested_by=None) -> tuple[uuid.UUID, list[CheckRun]]:
    """Queue the checks of a system and of its dependencies (dependencies first) as one batch."""
    checks = _unique(check for _system, checks in system_checks_ordered(system) for check in checks)
    return check_runs_queue(checks=checks, trigger=CheckRun.Trigger.MANUAL, requested_by=requested_by)


def article_checks_run(*, article: Article, requested_by=None) -> tuple[uuid.UUID, list[CheckRun]]:
    """The article's (and its symptoms') checks; an article with none of its own runs its system's."""
    checks = article_checks(article)
    if not checks:
        return system_checks_run(system=article.system, requested_by=requested_by)
    return check_runs_queue(checks=checks, trigger=CheckRun.Trigger.MANUAL, requested_by=requested_by)


def article_has_checks(article: Article) -> bool:
    """Whether "Run checks" on the article page has anything to start (its own, its symptoms' or its system's)."""
    return Check.objects.filter(enabled=True).filter(
        Q(pk__in=Article.checks.through.objects.filter(article=article).values("check_id"))
        | Q(pk__in=Symptom.checks.through.objects.filter(symptom__articles=article).values("check_id"))
        | Q(pk__in=System.checks.through.objects.filter(system_id=article.system_id).values("check_id"))
    ).exists()


def symptom_checks_run(*, symptom: Symptom, requested_by=None) -> tuple[uuid.UUID, list[CheckRun]]:
    return check_runs_queue(checks=symptom_checks(symptom), trigger=CheckRun.Trigger.MANUAL,
                            requested_by=requested_by)


# --- explaining results -------------------------------------------------------------------------------


@dataclass
class ExplainedRun:
    """A run as the knowledge base shows it: with the system it belongs to and a probable cause."""

    run: CheckRun
    system: System | None
    probable_cause: System | None = None


def runs_explained(runs: list[CheckRun]) -> list[ExplainedRun]:
    """Order runs dependency first and say which failures are probably caused by a CRITICAL dependency.

    A dependency counts as CRITICAL when one of its checks is CRITICAL in this batch, or, if none of its
    checks ran in the batch, when one of them currently is.
    """
    check_ids = {run.check_def_id for run in runs}
    links = System.checks.through.objects.filter(check_id__in=check_ids).values_list("check_id", "system_id")
    system_of: dict[int, int] = {}
    for check_id, system_id in links.order_by("system_id"):
        system_of.setdefault(check_id, system_id)
    systems = {s.pk: s for s in System.objects.filter(pk__in=set(system_of.values())).prefetch_related("depends_on")}

    # Dependency-first order across every system in the batch: a system sorts after all it depends on.
    memo: dict[int, int] = {}
    depth = {system.pk: _depth(system, memo) for system in systems.values()}

    critical_in_batch: set[int] = set()
    judged_in_batch: set[int] = set()
    for run in runs:
        system_id = system_of.get(run.check_def_id)
        if system_id is not None and run.is_done:
            judged_in_batch.add(system_id)
            if run.state == CheckState.CRITICAL:
                critical_in_batch.add(system_id)
    dependency_ids = {d.pk for s in systems.values() for d in s.depends_on.all()}
    not_judged = dependency_ids - judged_in_batch
    critical_now = set(
        System.checks.through.objects.filter(system_id__in=not_judged, check__current_state=CheckState.CRITICAL)
        .values_list("system_id", flat=True)
    ) if not_judged else set()
    critical = critical_in_batch | critical_now

    explained = []
    for run in runs:
        system = systems.get(system_of.get(run.check_def_id, -1))
        cause = None
        if system is not None and run.is_done and run.state in (CheckState.CRITICAL, CheckState.WARNING,
                                                                 CheckState.UNKNOWN):
            for dependency in sorted(system.depends_on.all(), key=lambda s: s.name):
                if dependency.pk in critical:
                    cause = dependency
                    break
        explained.append(ExplainedRun(run=run, system=system, probable_cause=cause))
    explained.sort(key=lambda e: (depth.get(e.system.pk, 0) if e.system else 0, e.system.name if e.system else "",
                                  e.run.check_def.name))
    return explained
