"""The benchmark's metrics. Each phase imports what it needs inside a transaction it rolls back, so a run
leaves no data behind (the in-process matcher and retrieval index follow the knowledge version)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.test.utils import override_settings

from ..importing import guide_import, system_for_import
from ..matching import symptom_match_text
from ..models import Article, SearchSynonym, Signature, System
from ..search import search
from ..search.semantic import encoder_get, semantic_enabled
from ..search.semantic.store import embeddings_refresh
from ..search.synonyms import synonyms_changed
from .material import (
    SEED_FILES,
    Guide,
    SeedLine,
    TruthSection,
    guides_load,
    logs_load,
    path_names,
    seed_lines_load,
    seeds_dir,
)
from .paste import is_calm_line, paste_lookup

METRICS = ("section_coverage", "extraction_rate", "paste_top1", "paste_top3", "variant_top3", "paraphrase_top3",
           "paraphrase_top3_lexical")
SEED_NAMES = {"coordinaitor": "CoordinAItor", "orchestrator": "Orchestrator", "claude-flow": "Claude Flow",
              "ares": "ARES", "agent-factory": "Agent Factory"}


@dataclass
class Tally:
    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    # Seconds spent in search() for the paraphrases, with the semantic rerank and without.
    seconds: dict[str, float] = field(default_factory=lambda: {"semantic": 0.0, "lexical": 0.0})

    def add(self, metric: str, ok: bool) -> None:
        self.totals[metric] += 1
        self.hits[metric] += int(ok)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {m: round(self.hits[m] / self.totals[m], 3) if self.totals[m] else None for m in METRICS}
        out["counts"] = {m: self.totals[m] for m in METRICS}
        return out


class _Rollback(Exception):
    pass


def _rolled_back(work: Callable[[], Any]) -> Any:
    """Run ``work`` inside a transaction that is always rolled back; return what it returned."""
    box: list[Any] = []
    try:
        with transaction.atomic():
            box.append(work())
            raise _Rollback
    except _Rollback:
        pass
    return box[0]


def _import(path, *, name: str) -> System:  # noqa: ANN001
    system = system_for_import(name=name)
    guide_import(data=path.read_bytes(), filename=path.name, system=system)
    return system


def _finds(section: TruthSection, articles: list[Article], system: System, k: int) -> bool:
    return any(a.system_id == system.pk and (section.is_article(a) or section.in_body(a)) for a in articles[:k])


def _complain(show: bool, what: str, guide: Guide, section: TruthSection, text: str, got: list[Article]) -> None:
    if show:
        shown = " | ".join(f"{a.system.slug if hasattr(a, 'system') else a.system_id}:{a.heading_path}"[:90]
                           for a in got[:3])
        print(f"MISS {what} {guide.slug} [{section.heading}] {text[:140]!r} -> {shown}", file=sys.stderr)


def _paraphrase_top3(text: str, *, semantic: bool, tally: Tally) -> list[Article]:
    with override_settings(TRIAGE_SEMANTIC=semantic):
        started = time.perf_counter()
        ids = [hit.article.pk for hit in search(text, per_page=3, highlight=False).hits]
        tally.seconds["semantic" if semantic else "lexical"] += time.perf_counter() - started
    found_articles = Article.objects.in_bulk(ids)
    return [found_articles[i] for i in ids if i in found_articles]


def _guide_figures(guide: Guide, system: System, tally: Tally, *, show: bool, semantic: bool) -> None:
    articles = list(Article.objects.filter(system=system))
    signatures = list(Signature.objects.filter(symptom__system=system).values_list("kind", "text"))
    from ..matching import signature_matches_line

    for section in guide.sections:
        covered = any(section.is_article(a) or section.in_body(a) for a in articles)
        tally.add("section_coverage", covered)
        if not covered:
            _complain(show, "coverage", guide, section, "", [])
        for error in section.errors:
            extracted = any(signature_matches_line(kind=kind, text=text, line=error.text) for kind, text in signatures)
            tally.add("extraction_rate", extracted)
            if not extracted:
                _complain(show, "extraction", guide, section, error.text, [])
            got = paste_lookup(text=error.text).articles
            tally.add("paste_top1", _finds(section, got, system, 1))
            found = _finds(section, got, system, 3)
            tally.add("paste_top3", found)
            if not found:
                _complain(show, "paste", guide, section, error.text, got)
            for variant in error.variants:
                got = paste_lookup(text=variant).articles
                found = _finds(section, got, system, 3)
                tally.add("variant_top3", found)
                if not found:
                    _complain(show, "variant", guide, section, variant, got)
        for paraphrase in section.paraphrases:
            # The same query without the semantic rerank, so the run shows what it adds.
            lexical = _paraphrase_top3(paraphrase, semantic=False, tally=tally)
            tally.add("paraphrase_top3_lexical", _finds(section, lexical, system, 3))
            got = _paraphrase_top3(paraphrase, semantic=semantic, tally=tally) if semantic else lexical
            found = _finds(section, got, system, 3)
            tally.add("paraphrase_top3", found)
            if not found:
                _complain(show, "paraphrase", guide, section, paraphrase, got)


def _clean_logs(logs: dict[str, str]) -> dict[str, int]:
    signature_matches = related_on_info = related = 0
    for text in logs.values():
        signature_matches += len(symptom_match_text(text=text).matches)
        for hit in paste_lookup(text=text).related:
            related += 1
            related_on_info += int(any(is_calm_line(line) for line in hit.query.splitlines()))
    return {"clean_log_signature_matches": signature_matches, "clean_log_related_on_info": related_on_info,
            "clean_log_related_hits": related}


def _seed_systems() -> dict[str, System]:
    folder = seeds_dir()
    return {slug: _import(folder / name, name=SEED_NAMES[slug]) for slug, name in SEED_FILES.items()}


def _seed_figures(lines: list[SeedLine], *, show: bool) -> dict[str, Any]:
    systems = _seed_systems()
    found = literal_found = literal_total = found_with_system = 0
    for item in lines:
        got = paste_lookup(text=item.line).articles[:3]
        ok = any(a.system_id == systems[item.system].pk and path_names(a.heading_path, item.article) for a in got)
        found += ok
        # The same line with its system named, as the page's system filter (or a system's own log) gives it.
        with_system = paste_lookup(text=item.line, system=item.system).articles[:3]
        found_with_system += any(a.system_id == systems[item.system].pk and path_names(a.heading_path, item.article)
                                 for a in with_system)
        if item.literal:
            literal_total += 1
            literal_found += ok
        if not ok and show:
            shown = " | ".join(a.heading_path[:70] for a in got)
            print(f"MISS seed {item.system} {item.article[-1]!r} {item.line[:120]!r} -> {shown}", file=sys.stderr)
    return {"seeds_only_error_line_top3": round(found / len(lines), 3) if lines else None,
            "seeds_only_literal_top3": round(literal_found / literal_total, 3) if literal_total else None,
            "seeds_only_with_system_top3": round(found_with_system / len(lines), 3) if lines else None,
            "seeds_only_lines": len(lines)}


def _without_synonyms() -> None:
    SearchSynonym.objects.all().delete()
    synonyms_changed()


def _semantic_load() -> dict[str, Any]:
    """Load the sentence model (once per process): its load time and the memory it added, or {}."""
    import psutil

    with override_settings(TRIAGE_SEMANTIC=True):
        if not semantic_enabled():
            return {}
        process = psutil.Process()
        rss_before = process.memory_info().rss
        started = time.perf_counter()
        if encoder_get() is None:
            return {}
        return {"semantic_model_load_s": round(time.perf_counter() - started, 2),
                "semantic_model_rss_mb": round((process.memory_info().rss - rss_before) / 2**20)}


def _semantic_index() -> dict[str, Any]:
    """Encode every imported article (inside the rolled-back transaction no refresh task runs)."""
    started = time.perf_counter()
    encoded = embeddings_refresh(encoder=encoder_get(), article_ids=Article.objects.values_list("pk", flat=True))
    return {"semantic_index_s": round(time.perf_counter() - started, 1), "semantic_index_articles": encoded}


def relevance_measure(*, only: list[str] | None = None, seeds: bool = True, logs: bool = True,
                      synonyms: bool = True, semantic: bool = True, show_dev_failures: bool = False) -> dict[str, Any]:
    """Every figure of the benchmark as one flat dict (dev, heldout and fresh held-out guides separately).

    ``synonyms=False`` measures without the operations vocabulary (deleted inside the rolled-back
    transaction), to show what it adds. Paraphrases are searched with the semantic rerank (when
    ``semantic`` and the model is installed) and without it, in the same run.
    """
    started = time.perf_counter()
    guides = guides_load(only=only)
    model = _semantic_load() if semantic else {}
    semantic = bool(model)

    def guides_phase() -> dict[str, Any]:
        if not synonyms:
            _without_synonyms()
        systems = {guide.slug: _import(guide.file, name=guide.slug) for guide in guides}
        index = _semantic_index() if semantic else {}
        # "heldout": the first held-out guides; "fresh": held-out guides added later, which nobody tuning
        # the importer or matcher has seen (the first ones had been partly seen by then).
        tallies = {"dev": Tally(), "heldout": Tally(), "fresh": Tally()}
        for guide in guides:
            # Held-out failures are never printed: they are reported, not studied.
            _guide_figures(guide, systems[guide.slug], tallies["fresh" if guide.fresh else guide.split],
                           show=show_dev_failures and guide.split == "dev", semantic=semantic)
        out: dict[str, Any] = {split: tally.figures() for split, tally in tallies.items()}
        queries = sum(tally.totals["paraphrase_top3"] for tally in tallies.values())
        for mode in ("semantic", "lexical"):
            spent = sum(tally.seconds[mode] for tally in tallies.values())
            out[f"paraphrase_ms_per_query_{mode}"] = round(1000 * spent / queries, 1) if queries and spent else None
        out.update(index)
        if logs:
            _seed_systems()
            out.update(_clean_logs(logs_load()))
        return out

    result: dict[str, Any] = {"guides": len(guides), "dev_guides": sum(g.split == "dev" for g in guides),
                              "fresh_guides": sum(g.fresh for g in guides)}
    result.update(model)
    result.update(_rolled_back(guides_phase))
    if seeds:
        lines = seed_lines_load()

        def seeds_phase() -> dict[str, Any]:
            if not synonyms:
                _without_synonyms()
            return _seed_figures(lines, show=show_dev_failures)

        result.update(_rolled_back(seeds_phase))
    synonyms_changed()  # the rolled-back phases may have loaded other groups
    result["synonyms"] = synonyms
    result["semantic"] = semantic
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result
