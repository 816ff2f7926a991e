"""Matching against the knowledge base: scan the input, then rank the symptoms found and gather their
solutions, articles and decision trees. The entry points every caller (views, API, incidents) uses."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import Sum
from django.db.models.functions import Coalesce

from ..hooks import trees_for_symptoms
from ..models import Article, Solution, Symptom, SymptomSeverity, SymptomSolution
from ..selectors import article_visible_q
from .clustering import UnknownGroup
from .engine import LineHit, Matcher, ScanReport
from .reader import MatchInputError
from .version import matcher_current

MAX_SYMPTOMS = 25
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


def symptom_match_text(*, text: str, user: Any = None) -> MatchResult:
    """Match pasted text; raises MatchInputError for empty input."""
    if not text or not text.strip():
        raise MatchInputError("There is nothing to match: paste an error or a log first.")
    data = text.encode("utf-8", "replace")
    return symptom_match_stream(stream=io.BytesIO(data), user=user)


def symptom_match_stream(*, stream: IO[bytes], user: Any = None) -> MatchResult:
    """Match an uploaded file or any binary stream (plain text or gzip)."""
    started = time.perf_counter()
    matcher = matcher_current()
    report = matcher.scan(stream)
    matches, more = _symptom_matches(report, matcher=matcher, user=user)
    return MatchResult(
        matches=matches, unknown=report.unknown, truncated=report.truncated, notices=report.notices,
        bytes_read=report.bytes_read, lines_read=report.lines_read,
        elapsed_ms=(time.perf_counter() - started) * 1000, more_symptoms=more,
    )


def decision_trees_for(symptom_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The published decision tree to start for each symptom that has one: {"id", "title", "url"}."""
    return {
        symptom_id: {"id": tree.pk, "title": tree.title, "url": tree.get_absolute_url()}
        for symptom_id, tree in trees_for_symptoms(symptom_ids).items()
    }


def _symptom_matches(report: ScanReport, *, matcher: Matcher, user: Any) -> tuple[list[SymptomMatch], int]:
    if not report.hits:
        return [], 0
    symptoms = {
        symptom.pk: symptom
        for symptom in Symptom.objects.filter(pk__in=list(report.hits)).select_related("system").annotate(
            resolved=Coalesce(Sum("solutions__resolved_count"), 0)
        )
    }

    def rank(symptom_id: int) -> tuple:
        hits, symptom = report.hits[symptom_id], symptoms[symptom_id]
        return (-hits.line_count, -hits.specificity, -_SEVERITY_RANK.get(symptom.severity, 0),
                -symptom.resolved, symptom.title.lower(), symptom_id)

    ranked = sorted((pk for pk in report.hits if pk in symptoms), key=rank)
    shown, more = ranked[:MAX_SYMPTOMS], max(0, len(ranked) - MAX_SYMPTOMS)

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
    for symptom_id in shown:
        hits = report.hits[symptom_id]
        for line in hits.lines:
            matcher.highlight(line)
        ranked_solutions = [item for _, item in sorted(solutions.get(symptom_id, []), key=lambda pair: pair[0])]
        symptom_articles = list(articles.get(symptom_id, []))
        seen = {article.pk for article in symptom_articles}
        for item in ranked_solutions:
            for article in by_solution.get(item.solution.pk, []):
                if article.pk not in seen:
                    seen.add(article.pk)
                    symptom_articles.append(article)
        matches.append(SymptomMatch(
            symptom=symptoms[symptom_id], line_count=hits.line_count, line_numbers=hits.line_numbers,
            lines=hits.lines,
            solutions=ranked_solutions, articles=symptom_articles, decision_tree=trees.get(symptom_id),
        ))
    return matches, more

