"""Matching against the knowledge base: scan the input, then rank the symptoms found and gather their
solutions, articles and decision trees; error events no signature knows are looked up in the retrieval
index (``kb.matching.retrieval``) and come after, as *related* hits. The entry points every caller
(views, API, incidents) uses."""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import Sum
from django.db.models.functions import Coalesce

from ..hooks import trees_for_symptoms
from ..models import Article, Signature, Solution, Symptom, SymptomSeverity, SymptomSolution, System
from ..selectors import article_visible_q
from . import events as trace_events
from . import retrieval
from .clustering import UnknownGroup
from .engine import LineHit, Matcher, ScanReport, is_calm
from .masking import strip_log_prefix
from .reader import MatchInputError
from .version import knowledge_version, matcher_current

logger = logging.getLogger(__name__)

MAX_SYMPTOMS = 25
MAX_RELATED = 5
# What goes to retrieval is bounded whatever the input: this many events of at most this many characters
# (the paste as a whole at most WHOLE_EVENT_CHARS), and the start of a paste for system detection.
MAX_RELATED_EVENTS = 20
EVENT_CHARS = 500
DETECT_CHARS = 64 * 1024
# A short paste where nothing looks like an error ("Incompatible CPU detected") is looked up line by line.
SHORT_PASTE_LINES = 5
# A paste of at most this many lines is what the person picked out as the error: looked up as a whole, the
# lines around its error lines ("Is the server running on that host ...", "DETAIL: ...") count too.
WHOLE_PASTE_LINES = 20
WHOLE_EVENT_CHARS = 2000
# A library's name in a stack frame's path: node_modules/pg-pool/, site-packages/psycopg2/.
_LIBRARY_RE = re.compile(r"(?:node_modules|site-packages|dist-packages)[/\\](@[\w.-]+/[\w.-]+|[\w.-]+)")
_SEVERITY_RANK = {SymptomSeverity.LOW: 1, SymptomSeverity.MEDIUM: 2, SymptomSeverity.HIGH: 3, SymptomSeverity.CRITICAL: 4}


@dataclass
class SolutionResult:
    solution: Solution
    helpful_votes: int


@dataclass
class SymptomMatch:
    symptom: Symptom
    line_count: int
    line_numbers: list[int]
    lines: list[LineHit]
    solutions: list[SolutionResult]
    articles: list[Article]
    # The published decision tree to start for this symptom, if any: {"id", "title", "url"}.
    decision_tree: Any = None
    kind: str = "signature"
    score: float = 0.0
    # The signatures that matched, as written.
    why: list[str] = field(default_factory=list)
    # Symptoms of other systems the very same lines matched: shown on this card, not as cards of their own.
    also: list[Symptom] = field(default_factory=list)

    @property
    def systems(self) -> list[System]:
        return [self.symptom.system, *(symptom.system for symptom in self.also)]


@dataclass
class RelatedMatch:
    """A retrieval hit for an error event no signature knows."""

    article: Article
    articles: list[Article]
    symptom: Symptom | None
    score: float
    why: list[str]
    query: str
    kind: str = "related"

    @property
    def system(self) -> System:
        return self.article.system


@dataclass
class MatchResult:
    matches: list[SymptomMatch]
    unknown: list[UnknownGroup]
    truncated: bool
    notices: list[str]
    bytes_read: int
    lines_read: int
    elapsed_ms: float
    more_symptoms: int = 0
    related: list[RelatedMatch] = field(default_factory=list)
    # The system slug applied: chosen by the caller (narrows exact matches) or detected (ranks them first).
    system: str = ""
    system_detected: bool = False
    # Exact matches left out because they belong to other systems than the chosen one.
    other_systems: int = 0


def symptom_match_text(*, text: str, user: Any = None, system: str | None = None,
                       related: bool = True) -> MatchResult:
    """Match pasted text; raises MatchInputError for empty input or an unknown system."""
    if not text or not text.strip():
        raise MatchInputError("There is nothing to match: paste an error or a log first.")
    data = text.encode("utf-8", "replace")
    return _match(stream=io.BytesIO(data), text=text, user=user, system=system, related=related)


def symptom_match_stream(*, stream: IO[bytes], user: Any = None, system: str | None = None,
                         related: bool = True) -> MatchResult:
    """Match an uploaded file or any binary stream (plain text or gzip).

    ``system`` (a slug) keeps only that system's exact matches and lists its related hits first. With
    ``related``, the error events no signature matched (never INFO/DEBUG lines) are looked up in the
    retrieval index, and without ``system`` the system the text names, if any, is detected and its exact
    matches rank first.
    """
    return _match(stream=stream, text=None, user=user, system=system, related=related)


def _match(*, stream: IO[bytes], text: str | None, user: Any, system: str | None, related: bool) -> MatchResult:
    started = time.perf_counter()
    chosen = (system or "").strip()
    if chosen and not System.objects.filter(slug=chosen).exists():
        raise MatchInputError(f"There is no system “{chosen[:80]}”.")
    version = knowledge_version()
    matcher = matcher_current(version=version)
    report = matcher.scan(stream)
    detected = ""
    index = _retrieval_index(version) if related else None
    if not chosen and related:
        sample = text[:DETECT_CHARS] if text is not None else "\n".join(group.example for group in report.unknown)
        detected = (retrieval.system_detect(sample, index=index) or "") if sample.strip() else ""
    matches, more, hidden = _symptom_matches(report, matcher=matcher, user=user, only=chosen, boost=detected)
    result = MatchResult(
        matches=matches, unknown=report.unknown, truncated=report.truncated, notices=report.notices,
        bytes_read=report.bytes_read, lines_read=report.lines_read, elapsed_ms=0.0, more_symptoms=more,
        system=chosen or detected, system_detected=bool(detected), other_systems=hidden,
    )
    if related:
        result.related = _related_matches(report, result, text=text, user=user, index=index, knowledge=version)
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result


def _retrieval_index(knowledge: str) -> retrieval.RetrievalIndex | None:
    """The current retrieval index, checked once per match (``knowledge``: the version just read); None
    when it cannot be had (retrieval then tries again itself, and a failure there never fails the match)."""
    try:
        return retrieval.retrieval_index_current(knowledge=knowledge)
    except Exception:
        logger.exception("retrieval index unavailable")
        return None


def _related_events(report: ScanReport, text: str | None) -> tuple[list[str], str | None]:
    """The error events to look up: one per unknown template (a stack trace is one, by its exception
    line), then the paste as a whole (see ``_whole_event``), which leads when the paste is short; for a
    short paste with no error word and no match, its lines that are not INFO/DEBUG."""
    events = [group.example[:EVENT_CHARS] for group in report.unknown[:MAX_RELATED_EVENTS - 1]]
    if events or report.hits:
        whole, short = _whole_event(report, text)
        if whole and whole not in events:
            events.append(whole)
        return events, (whole or None) if short else None
    if text is None:
        return events, None
    lines = [line.strip() for line in text[:DETECT_CHARS].splitlines() if line.strip()]
    if len(lines) > SHORT_PASTE_LINES:
        return [], None
    events = [line[:EVENT_CHARS] for line in lines if not is_calm(line)]
    if len(events) < 2:
        return events, None
    whole = "\n".join(events)[:WHOLE_EVENT_CHARS]
    return [*events, whole], whole


def _whole_event(report: ScanReport, text: str | None) -> tuple[str, bool]:
    """The paste as one event, so that a line a signature of the wrong system (or only part of it) caught
    is still looked up: its error lines in order, matched or not. A stack trace's frames are context, as
    the engine treats them, and INFO/DEBUG lines never count. A short paste keeps its other lines too;
    a long one (a log) only the error lines the engine found. Returns the event and whether the paste was
    short."""
    if text is not None:
        head = text[:DETECT_CHARS]
        if head.count("\n") < WHOLE_PASTE_LINES:
            lines = _plain_lines(head.encode("utf-8", "replace"))
            if lines:
                return "\n".join(lines)[:WHOLE_EVENT_CHARS], True
    numbered = {line.number: strip_log_prefix(line.text) for hits in report.hits.values() for line in hits.lines}
    for group in report.unknown[:MAX_RELATED_EVENTS]:
        numbered.setdefault(group.first_line, group.example)
    ordered = list(dict.fromkeys(numbered[number][:EVENT_CHARS] for number in sorted(numbered)))
    return "\n".join(ordered)[:WHOLE_EVENT_CHARS], False


def _plain_lines(buf: bytes) -> list[str]:
    """The lines of a short paste that are neither INFO/DEBUG nor stack trace context (frames, the source
    lines under them, a bare ``Traceback (most recent call last):``), then the names of the installed
    libraries its frames run through (``node_modules/pg-pool/...``: the library that raised the error
    says which part of the system failed, where the message alone is generic)."""
    kept, libraries, start = [], [], 0
    while start < len(buf):
        end = buf.find(b"\n", start)
        end = len(buf) if end < 0 else end
        line = buf[start:end].decode("utf-8", "replace").strip()
        if not line or is_calm(line):
            pass
        elif trace_events.is_context(buf, start, end):
            libraries.extend(_LIBRARY_RE.findall(line[:trace_events.LOOK_BYTES]))
        elif not trace_events.is_bare_header(line):
            kept.append(strip_log_prefix(line))
        start = end + 1
    if kept and libraries:
        kept.append(" ".join(dict.fromkeys(libraries)))
    return kept


def _related_matches(report: ScanReport, result: MatchResult, *, text: str | None, user: Any,
                     index: retrieval.RetrievalIndex | None = None, knowledge: str | None = None,
                     ) -> list[RelatedMatch]:
    events, leading = _related_events(report, text)
    if not events:
        return []
    matched = {item.symptom.pk for item in result.matches} | {s.pk for item in result.matches for s in item.also}
    try:
        hits = retrieval.related_lookup(events=events, system=result.system or None, exclude_symptom_ids=matched,
                                        user=user, limit=MAX_RELATED, leading=leading,
                                        chosen=bool(result.system) and not result.system_detected, index=index,
                                        knowledge=knowledge)
    except Exception:
        # Related hits are extra: a retrieval failure must not lose the exact matches already found.
        logger.exception("related lookup failed")
        result.notices.append("Related articles could not be looked up this time.")
        return []
    return [
        RelatedMatch(article=hit.article, articles=list(hit.articles) or [hit.article], symptom=hit.symptom,
                     score=float(hit.score), why=list(hit.why), query=hit.query)
        for hit in hits[:MAX_RELATED]
        if hit.symptom is None or hit.symptom.pk not in matched
    ]


def decision_trees_for(symptom_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The published decision tree to start for each symptom that has one: {"id", "title", "url"}."""
    return {
        symptom_id: {"id": tree.pk, "title": tree.title, "url": tree.get_absolute_url()}
        for symptom_id, tree in trees_for_symptoms(symptom_ids).items()
    }


def _symptom_matches(report: ScanReport, *, matcher: Matcher, user: Any, only: str = "",
                     boost: str = "") -> tuple[list[SymptomMatch], int, int]:
    """Ranked cards (one per symptom; the same lines matched in several systems make one card),
    how many more were left out, and how many were hidden by the ``only`` system."""
    if not report.hits:
        return [], 0, 0
    symptoms = {
        symptom.pk: symptom
        for symptom in Symptom.objects.filter(pk__in=list(report.hits)).select_related("system").annotate(
            resolved=Coalesce(Sum("solutions__resolved_count"), 0)
        )
    }
    hidden = 0
    if only:
        hidden = sum(1 for symptom in symptoms.values() if symptom.system.slug != only)
        symptoms = {pk: symptom for pk, symptom in symptoms.items() if symptom.system.slug == only}

    def rank(symptom_id: int) -> tuple:
        hits, symptom = report.hits[symptom_id], symptoms[symptom_id]
        return (bool(boost) and symptom.system.slug != boost, -hits.line_count, -hits.specificity,
                -_SEVERITY_RANK.get(symptom.severity, 0), -symptom.resolved, symptom.title.lower(), symptom_id)

    ranked = sorted((pk for pk in report.hits if pk in symptoms), key=rank)
    primaries: list[int] = []
    also: dict[int, list[int]] = {}
    by_lines: dict[tuple[int, tuple[int, ...]], int] = {}
    for symptom_id in ranked:
        lines = (report.hits[symptom_id].line_count, tuple(report.hits[symptom_id].line_numbers))
        primary = by_lines.get(lines)
        if primary is not None and symptoms[symptom_id].system_id not in {
                symptoms[pk].system_id for pk in (primary, *also[primary])}:
            also[primary].append(symptom_id)
            continue
        by_lines.setdefault(lines, symptom_id)
        primaries.append(symptom_id)
        also[symptom_id] = []
    shown_primaries, more = primaries[:MAX_SYMPTOMS], max(0, len(primaries) - MAX_SYMPTOMS)
    shown = [pk for primary in shown_primaries for pk in (primary, *also[primary])]
    signature_texts = dict(
        Signature.objects.filter(pk__in={pk for symptom_id in shown for pk in report.hits[symptom_id].signature_ids})
        .values_list("pk", "text")
    )

    links = list(SymptomSolution.objects.filter(symptom_id__in=shown).select_related("solution"))
    helpful = dict(
        Solution.objects.filter(pk__in={link.solution_id for link in links})
        .annotate(votes=Coalesce(Sum("articles__helpful_count"), 0)).values_list("pk", "votes")
    )
    solutions: dict[int, list[tuple[tuple, SolutionResult]]] = {}
    for link in links:
        votes = helpful.get(link.solution_id, 0)
        key = (-link.solution.resolved_count, -votes, link.rank, link.solution.title.lower())
        solutions.setdefault(link.symptom_id, []).append((key, SolutionResult(link.solution, votes)))

    articles: dict[int, list[Article]] = {}
    through = Symptom.articles.through
    visible = Article.objects.filter(article_visible_q(user))
    article_links = (
        through.objects.filter(symptom_id__in=shown, article__in=visible)
        .select_related("article__system").order_by("-article__helpful_count", "article__title")
    )
    for link in article_links:
        articles.setdefault(link.symptom_id, []).append(link.article)
    solution_articles = (
        Solution.articles.through.objects.filter(solution_id__in={link.solution_id for link in links},
                                                 article__in=visible)
        .select_related("article__system").order_by("-article__helpful_count", "article__title")
    )
    by_solution: dict[int, list[Article]] = {}
    for link in solution_articles:
        by_solution.setdefault(link.solution_id, []).append(link.article)

    trees = decision_trees_for(shown)
    matches = []
    for primary in shown_primaries:
        hits = report.hits[primary]
        for line in hits.lines:
            matcher.highlight(line)
        ranked_solutions: list[SolutionResult] = []
        symptom_articles: list[Article] = []
        seen_solutions: set[int] = set()
        seen: set[int] = set()
        for symptom_id in (primary, *also[primary]):
            for _, item in sorted(solutions.get(symptom_id, []), key=lambda pair: pair[0]):
                if item.solution.pk not in seen_solutions:
                    seen_solutions.add(item.solution.pk)
                    ranked_solutions.append(item)
            for article in articles.get(symptom_id, []):
                if article.pk not in seen:
                    seen.add(article.pk)
                    symptom_articles.append(article)
        for item in ranked_solutions:
            for article in by_solution.get(item.solution.pk, []):
                if article.pk not in seen:
                    seen.add(article.pk)
                    symptom_articles.append(article)
        why = sorted({signature_texts[pk] for symptom_id in (primary, *also[primary])
                      for pk in report.hits[symptom_id].signature_ids if pk in signature_texts})
        matches.append(SymptomMatch(
            symptom=symptoms[primary], line_count=hits.line_count, line_numbers=hits.line_numbers,
            lines=hits.lines, solutions=ranked_solutions, articles=symptom_articles,
            decision_tree=trees.get(primary), score=float(hits.specificity + hits.line_count), why=why[:5],
            also=[symptoms[pk] for pk in also[primary]],
        ))
    return matches, more, hidden
