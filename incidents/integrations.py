"""Adapters to the engines other apps own: the log matcher, search and diagnostic checks.

Results come back as small dataclasses so nothing else in this app depends on another module's return
shapes. An engine failure is logged and matches or finds nothing: follow-up work on an incident must
not stop because a matcher or a check broke.
"""

import io
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from diagnostics.models import Check, CheckRun
from diagnostics.services import check_runs_execute
from kb.check_links import system_checks_ordered
from kb.matching import MatchInputError, SymptomMatch, symptom_match_stream
from kb.models import System
from kb.search import search

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 240


@dataclass(frozen=True)
class SymptomHit:
    symptom_id: int
    title: str
    system: str
    line_numbers: tuple[int, ...]
    excerpt: str
    articles: tuple[dict, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    title: str
    url: str
    system: str
    snippet: str = ""


@dataclass(frozen=True)
class CheckOutcome:
    check_id: int
    name: str
    state: str  # "ok", "warning", "critical" or "unknown"
    message: str
    run_id: int | None = None

    @property
    def passing(self) -> bool:
        return self.state == "ok"


# --- matcher ----------------------------------------------------------------------------------

def _article_links(articles: Iterable) -> tuple[dict, ...]:
    return tuple({"id": article.pk, "title": article.title, "url": article.get_absolute_url()}
                 for article in list(articles)[:5])


def _symptom_hits(match: SymptomMatch) -> list[SymptomHit]:
    """One hit per symptom: the matcher shows the same lines matched in several systems as one card, but
    an incident belongs to one system, so each system's symptom is its own hit here."""
    lines = tuple(line.number for line in match.lines[:50])
    excerpt = match.lines[0].text[:EXCERPT_CHARS] if match.lines else ""
    hits = [SymptomHit(symptom_id=match.symptom.pk, title=match.symptom.title, system=match.symptom.system.name,
                       line_numbers=lines, excerpt=excerpt, articles=_article_links(match.articles))]
    for symptom in match.also:
        hits.append(SymptomHit(symptom_id=symptom.pk, title=symptom.title, system=symptom.system.name,
                               line_numbers=lines, excerpt=excerpt, articles=_article_links(symptom.articles.all())))
    return hits


def symptoms_match_stream(stream: IO[bytes]) -> list[SymptomHit]:
    """Known symptoms in a binary stream (plain or gzip log), best first.

    Never raises: input the matcher refuses (binary, empty) and matcher failures match nothing, so a
    bad attachment cannot block the rest of the incident's follow-up work.
    """
    try:
        result = symptom_match_stream(stream=stream, related=False)
    except MatchInputError as exc:
        logger.info("Matcher refused the input: %s", exc)
        return []
    except Exception:
        logger.exception("Symptom matching failed; continuing without matches.")
        return []
    return [hit for match in result.matches for hit in _symptom_hits(match)]


def symptoms_match_text(text: str) -> list[SymptomHit]:
    if not text.strip():
        return []
    return symptoms_match_stream(io.BytesIO(text.encode("utf-8", errors="replace")))


def symptoms_match_bytes(data: bytes) -> list[SymptomHit]:
    return symptoms_match_stream(io.BytesIO(data))


# --- search -----------------------------------------------------------------------------------

def _search_preferring_system(query: str, *, system_slug: str | None, limit: int) -> list[ArticleHit]:
    hits: list[ArticleHit] = []
    seen: set[int] = set()
    scopes = ([system_slug] if system_slug else []) + [None]
    for scope in scopes:
        results = search(query, systems=(scope,) if scope else (), per_page=limit, as_you_type=True)
        for hit in results.hits:
            article = hit.article
            if article.pk in seen:
                continue
            seen.add(article.pk)
            hits.append(ArticleHit(article.pk, article.title, article.get_absolute_url(), article.system.name,
                                   str(hit.highlight)[:400]))
        if len(hits) >= limit:
            break
    return hits[:limit]


def articles_search(query: str, *, system_id: int | None = None, limit: int = 5) -> list[ArticleHit]:
    """Articles for the words a user is typing, the incident's system's first (none if search fails).

    Search ANDs its terms, so a long description finds nothing; the caller passes a short query
    (title, first words of the description) and we try the incident's system first.
    """
    query = " ".join(query.replace("\x00", "").split()[:16])[:300]
    if not query:
        return []
    system_slug = System.objects.filter(pk=system_id).values_list("slug", flat=True).first() if system_id else None
    try:
        return _search_preferring_system(query, system_slug=system_slug, limit=limit)
    except Exception:
        logger.exception("Suggesting articles failed; suggesting none.")
        return []


# --- diagnostic checks ------------------------------------------------------------------------

def system_check_ids(system: System) -> list[int]:
    """The system's enabled checks, its dependencies' first (kb.check_links orders them), without repeats."""
    ids: list[int] = []
    for _system, checks in system_checks_ordered(system):
        ids += [c.pk for c in checks if c.pk not in ids]
    return ids


def checks_run(check_ids: Iterable[int], *, requested_by: object = None) -> list[CheckOutcome]:
    """Run these checks now, in this process, and return their results in the order given.

    Runs are recorded in diagnostics as usual (one batch, trigger "manual"), so they also show in each
    check's history. Executed inline rather than queued because the caller (a worker task, or the
    "Verify fix" button) needs the states to put on the incident's timeline.
    """
    ids = list(dict.fromkeys(check_ids))
    if not ids:
        return []
    checks = {c.pk: c for c in Check.objects.filter(pk__in=ids, enabled=True)}
    if not checks:
        return []
    batch = uuid.uuid4()
    user = requested_by if getattr(requested_by, "pk", None) else None
    CheckRun.objects.bulk_create([
        CheckRun(check_def_id=pk, batch=batch, trigger=CheckRun.Trigger.MANUAL, requested_by=user)
        for pk in ids if pk in checks
    ])
    runs = list(CheckRun.objects.filter(batch=batch).values_list("pk", flat=True))
    try:
        check_runs_execute(run_ids=runs)
    except Exception:
        logger.exception("Running diagnostic checks failed.")
    results = {run.check_def_id: run for run in CheckRun.objects.filter(batch=batch)}
    outcomes = []
    for pk in ids:
        run = results.get(pk)
        if run is None:
            continue
        state = run.state if run.status == CheckRun.Status.DONE and run.state else "unknown"
        message = run.message or ("The check did not finish." if state == "unknown" else "")
        outcomes.append(CheckOutcome(check_id=pk, name=checks[pk].name, state=state, message=message, run_id=run.pk))
    return outcomes
