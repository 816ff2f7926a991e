"""Adapters to the engines other apps own: the log matcher, search and diagnostic checks.

Each adapter feature-detects its engine and falls back to something plain and bounded when it is not
installed yet, so incidents work at every stage of the project. Results come back as small dataclasses
so nothing else in this app depends on another module's return shapes.
"""

import gzip
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.db.models import Q

from kb.models import Article, Signature, System

logger = logging.getLogger(__name__)

FALLBACK_MAX_SIGNATURES = 5000
EXCERPT_CHARS = 240
WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{3,}")


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

def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def matcher_available() -> bool:
    return _engine() is not None


def _fallback_match(text: str) -> list[SymptomHit]:
    """Literal signatures (case-insensitive, whitespace folded) and RE2 patterns, line by line.

    Only used until kb.matching exists; bounded by FALLBACK_MAX_SIGNATURES and TRIAGE_INCIDENT_MATCH_MAX_BYTES.
    """
    import re2

    text = text[: settings.TRIAGE_INCIDENT_MATCH_MAX_BYTES]
    signatures = list(
        Signature.objects.select_related("symptom__system").order_by("id")[:FALLBACK_MAX_SIGNATURES]
    )
    literals: list[tuple[str, Signature]] = []
    patterns: list[tuple[object, Signature]] = []
    for signature in signatures:
        if signature.kind == Signature.Kind.PATTERN:
            try:
                patterns.append((re2.compile(signature.text), signature))
            except Exception:  # a pattern RE2 refuses simply never matches here
                continue
        elif signature.text.strip():
            literals.append((_fold(signature.text), signature))
    found: dict[int, tuple[Signature, list[int], str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        folded = _fold(line)
        if not folded:
            continue
        for needle, signature in literals:
            if needle in folded:
                found.setdefault(signature.symptom_id, (signature, [], line))[1].append(number)
        for pattern, signature in patterns:
            if pattern.search(line):
                found.setdefault(signature.symptom_id, (signature, [], line))[1].append(number)
    hits = [
        SymptomHit(symptom_id=sig.symptom_id, title=sig.symptom.title, system=sig.symptom.system.name,
                   line_numbers=tuple(sorted(set(lines))[:50]), excerpt=first[:EXCERPT_CHARS])
        for sig, lines, first in found.values()
    ]
    return sorted(hits, key=lambda h: (-len(h.line_numbers), h.title))


def _hit_from_engine(match: object) -> SymptomHit | None:
    """Read one kb.matching SymptomMatch (symptom, lines: [LineHit(number, text)], articles)."""
    symptom = getattr(match, "symptom", None)
    if symptom is None or getattr(symptom, "pk", None) is None:
        return None
    lines = list(getattr(match, "lines", None) or [])
    numbers = [line.number for line in lines if isinstance(getattr(line, "number", None), int)]
    excerpt = str(getattr(lines[0], "text", "")) if lines else ""
    articles = tuple(
        {"id": article.pk, "title": article.title, "url": article.get_absolute_url()}
        for article in (getattr(match, "articles", None) or [])[:5]
    )
    system = getattr(symptom, "system", None)
    return SymptomHit(symptom_id=symptom.pk, title=symptom.title, system=getattr(system, "name", ""),
                      line_numbers=tuple(numbers[:50]), excerpt=excerpt[:EXCERPT_CHARS], articles=articles)


def _engine() -> object | None:
    """kb.matching when it offers the stream interface this adapter was written against."""
    try:
        from kb import matching
    except ImportError:
        return None
    return matching if hasattr(matching, "symptom_match_stream") else None


def symptoms_match_stream(stream: IO[bytes]) -> list[SymptomHit]:
    """Known symptoms in a binary stream (plain or gzip log), best first.

    Never raises: input the matcher refuses (binary, empty) and matcher failures match nothing, so a
    bad attachment cannot block the rest of the incident's follow-up work.
    """
    engine = _engine()
    try:
        if engine is None:
            if stream.read(2) == b"\x1f\x8b":
                stream.seek(0)
                stream = gzip.GzipFile(fileobj=stream)
            else:
                stream.seek(0)
            data = stream.read(settings.TRIAGE_INCIDENT_MATCH_MAX_BYTES)
            return _fallback_match(data.decode("utf-8", errors="replace").replace("\x00", ""))
        result = engine.symptom_match_stream(stream=stream)
    except Exception as exc:
        if type(exc).__name__ == "MatchInputError":
            logger.info("Matcher refused the input: %s", exc)
        else:
            logger.exception("Symptom matching failed; continuing without matches.")
        return []
    return [hit for hit in (_hit_from_engine(m) for m in result.matches) if hit is not None]


def symptoms_match_text(text: str) -> list[SymptomHit]:
    if not text.strip():
        return []
    return symptoms_match_stream(io.BytesIO(text.encode("utf-8", errors="replace")))


def symptoms_match_bytes(data: bytes) -> list[SymptomHit]:
    return symptoms_match_stream(io.BytesIO(data))


# --- search -----------------------------------------------------------------------------------

def _fallback_search(query: str, *, system_id: int | None, limit: int) -> list[ArticleHit]:
    words = sorted({w.lower() for w in WORD_RE.findall(query)}, key=len, reverse=True)[:8]
    if not words:
        return []
    condition = Q()
    for word in words:
        condition |= Q(title__icontains=word) | Q(summary__icontains=word)
    candidates = Article.objects.filter(condition, status=Article.Status.PUBLISHED).select_related("system")
    if system_id:
        candidates = candidates.filter(system_id=system_id)

    def score(article: Article) -> int:
        haystack = f"{article.title} {article.summary}".lower()
        return sum(2 if w in article.title.lower() else 1 for w in words if w in haystack)

    ranked = sorted(candidates[:200], key=lambda a: (-score(a), a.title))
    return [ArticleHit(a.pk, a.title, a.get_absolute_url(), a.system.name, a.summary[:200]) for a in ranked[:limit]]


def _engine_search(query: str, *, system_slug: str | None, limit: int) -> list[ArticleHit] | None:
    """kb.search.search(), preferring the incident's system; None when search is not installed."""
    try:
        from kb.search import search
    except ImportError:
        return None
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
    """Articles for the words a user is typing: kb.search when installed, else a plain title scan.

    Search ANDs its terms, so a long description finds nothing; the caller passes a short query
    (title, first words of the description) and we try the incident's system first.
    """
    query = " ".join(query.replace("\x00", "").split()[:16])[:300]
    if not query:
        return []
    system_slug = System.objects.filter(pk=system_id).values_list("slug", flat=True).first() if system_id else None
    try:
        found = _engine_search(query, system_slug=system_slug, limit=limit)
    except Exception:
        logger.exception("Search failed; falling back to a plain title scan.")
        found = None
    if found is None:
        return _fallback_search(query, system_id=system_id, limit=limit)
    return found


# --- diagnostic checks ------------------------------------------------------------------------

def checks_available() -> bool:
    """True once diagnostics has checks and kb.System has its `checks` relation."""
    try:
        from diagnostics.models import Check  # noqa: F401
        from diagnostics.services import check_runs_execute  # noqa: F401
    except ImportError:
        return False
    return hasattr(System, "checks")


def system_check_ids(system: System) -> list[int]:
    """The system's enabled checks, its dependencies' first (kb.checks orders them), without repeats."""
    if not checks_available():
        return []
    try:
        from kb.check_links import system_checks_ordered
    except ImportError:
        return list(system.checks.filter(enabled=True).order_by("name").values_list("pk", flat=True))
    ids: list[int] = []
    for _system, checks in system_checks_ordered(system):
        ids += [c.pk for c in checks if c.pk not in ids]
    return ids


def checks_run(check_ids: Iterable[int], *, requested_by: object = None) -> list[CheckOutcome]:
    """Run these checks now, in this process, and return their results in the order given.

    Runs are recorded in diagnostics as usual (one batch, trigger "manual"), so they also show in each
    check's history. Executed inline rather than queued because the caller (a worker task, or the
    "Verify fix" button) needs the states to put on the incident's timeline. [] without diagnostics.
    """
    ids = list(dict.fromkeys(check_ids))
    if not ids or not checks_available():
        return []
    import uuid

    from diagnostics.models import Check, CheckRun
    from diagnostics.services import check_runs_execute

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


# --- ranking ----------------------------------------------------------------------------------

def ranking_refresh(*, article_ids: Iterable[int]) -> None:
    """Nothing to push today: search and the matcher read Solution.resolved_count when they rank.

    Kept as the one place to notify them should either start caching outcome counts.
    """
    return None
