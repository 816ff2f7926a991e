"""The search itself: stages from the strictest match to the loosest, then the ranked page.

A search runs in stages and stops as soon as it has enough: every word (strict); corrected spellings
when a word matches nothing; any word (loose); a quoted line's words without the quotes; and finally
trigram similarity on titles and signatures. Each stage scores at most CANDIDATE_LIMIT matches; when a
common word matches more, the matches in titles, symptoms and tags are fetched as well, so truncation
never drops the articles most about it. Error-looking tokens and quoted log fragments are matched
exactly against symptom signatures and rank those articles first (see kb.search.ranking).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..models import Article, System, Tag
from .engines import LOOSE, STRICT, Candidate, Engine, Filters, engine_for
from .highlight import HIGHLIGHT_START, HIGHLIGHT_STOP, mark_highlight
from .query import MAX_TERMS, STOP_WORDS, ParsedQuery, parse_query, slug_of, words_of
from .ranking import candidates_fuse, candidates_order
from .results import MAX_PAGE_SIZE, PAGE_SIZE, Facet, SearchHit, SearchResults
from .semantic import semantic_candidate_ids, semantic_similarities, semantic_text
from .spelling import apply_corrections, suggest_corrections, suggestion_text, word_similarity
from .synonyms import synonyms_apply

# How many matches are scored at most; keeps a one-word query over a million articles as cheap as a
# rare one. Relevance inside a real knowledge base (thousands of articles) is never truncated by it.
CANDIDATE_LIMIT = 200
# When a stage is truncated, up to this many more matches with the words in a title, symptom or tag.
PRIORITY_LIMIT = 50
PRIORITY_MAX_WORDS = 3
# Fewer strict matches than this and the search widens (any word, then corrected spellings).
FEW_RESULTS = 3
FUZZY_THRESHOLD = 0.6


def _merge(pool: dict[int, Candidate], found: Iterable[Candidate], tier: int) -> None:
    for candidate in found:
        existing = pool.get(candidate.id)
        candidate.tier = tier
        candidate.order = len(pool)
        if existing is None:
            pool[candidate.id] = candidate
        elif (tier, candidate.text_rank) > (existing.tier, existing.text_rank):
            existing.tier, existing.text_rank = tier, candidate.text_rank


def _resolve_filters(query: ParsedQuery, *, systems: Sequence[str], tags: Sequence[str], user: Any,
                     using: str) -> tuple[Filters, str]:
    system_slugs = tuple(dict.fromkeys([*map(slug_of, systems), *query.systems]))
    tag_slugs = tuple(dict.fromkeys([*map(slug_of, tags), *query.tags]))
    filters = Filters(include_drafts=bool(user is not None and getattr(user, "is_staff", False)))
    messages = []
    if system_slugs:
        found = dict(System.objects.using(using).filter(slug__in=system_slugs).values_list("slug", "pk"))
        missing = [s for s in system_slugs if s not in found]
        if missing:
            messages.append(f"No system called “{missing[0]}”.")
        filters.system_ids = tuple(found.values()) or (-1,)
    if tag_slugs:
        found = dict(Tag.objects.using(using).filter(slug__in=tag_slugs).values_list("slug", "pk"))
        missing = [t for t in tag_slugs if t not in found]
        if missing:
            messages.append(f"No tag called “{missing[0]}”.")
        filters.tag_ids = tuple(found.values()) + ((-1,) if missing else ())
    return filters, " ".join(messages)


def _fetch(engine: Engine, query: ParsedQuery, mode: str, filters: Filters, *, sort: str, rank: bool,
           results: SearchResults) -> list[Candidate]:
    """One stage's matches. When they exceed the bound, the matches in titles, symptoms and tags are
    fetched too, so truncating a common word's matches never drops the articles most about it."""
    found = engine.candidates(query, mode, filters, sort=sort, rank=rank, limit=CANDIDATE_LIMIT)
    # Short queries are the ones whose matches get truncated arbitrarily; a long pasted line is specific
    # already, and its signature stage puts the right article first.
    short = 0 < query.word_count <= PRIORITY_MAX_WORDS
    if len(found) >= CANDIDATE_LIMIT and sort == "relevance" and short:
        results.more = True
        seen = {c.id for c in found}
        extra = engine.candidates(query, mode, filters, sort=sort, rank=rank, limit=PRIORITY_LIMIT, priority=True)
        found += [c for c in extra if c.id not in seen]
    elif len(found) >= CANDIDATE_LIMIT:
        results.more = True
    return found


def _collect(engine: Engine, query: ParsedQuery, filters: Filters, *, sort: str, rank: bool,
             pool: dict[int, Candidate], results: SearchResults) -> None:
    """Every word; then, when that finds few, corrected spellings; then any word (of either spelling)."""
    if not query.has_text:
        return
    queries = [query]
    strict = _fetch(engine, query, STRICT, filters, sort=sort, rank=rank, results=results)
    _merge(pool, strict, 2)
    # A strict match means every word is in some article, so there is nothing to correct.
    if not strict:
        corrections = suggest_corrections(engine, query)
        if corrections:
            corrected = apply_corrections(query, corrections)
            queries.append(corrected)
            results.suggestion = suggestion_text(query.raw, corrections)
            results.corrections = corrections
            found = _fetch(engine, corrected, STRICT, filters, sort=sort, rank=rank, results=results)
            results.corrected = not strict and bool(found)
            _merge(pool, found, 2)
    for variant in queries:
        if len(pool) < FEW_RESULTS and variant.word_count > 1:
            _merge(pool, _fetch(engine, variant, LOOSE, filters, sort=sort, rank=rank, results=results), 1)


def search(
    text: str,
    *,
    user: Any = None,
    systems: Sequence[str] = (),
    tags: Sequence[str] = (),
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PAGE_SIZE,
    as_you_type: bool = False,
    highlight: bool = True,
    rank: bool = True,
    using: str = "default",
) -> SearchResults:
    """Search articles visible to ``user``; see the module docstring for the stages.

    Raises ``QueryError`` only for a query too long to use; everything else (empty, punctuation only,
    unknown filters) comes back as results with ``usable``/``message`` set.
    """
    started = time.perf_counter()
    query = synonyms_apply(parse_query(text, as_you_type=as_you_type))
    sort = "recent" if sort == "recent" else "relevance"
    per_page = max(1, min(MAX_PAGE_SIZE, int(per_page)))
    page = max(1, int(page))
    results = SearchResults(query=query, page=page, per_page=per_page, sort=sort)
    filters, filter_message = _resolve_filters(query, systems=systems, tags=tags, user=user, using=using)
    if not query.has_positive and not (filters.system_ids or filters.tag_ids):
        results.usable = False
        results.message = (
            "Nothing searchable in that query: punctuation and very common words (the, is, not) are ignored."
            if query.raw else "Type a few words or paste an error message."
        )
    else:
        _run(engine_for(using), query, filters, results, rank=rank, highlight=highlight,
             semantic=rank and sort == "relevance" and not as_you_type)
    if filter_message:
        results.message = filter_message
    results.took_ms = (time.perf_counter() - started) * 1000
    return results


def _run(engine: Engine, query: ParsedQuery, filters: Filters, results: SearchResults, *, rank: bool,
         highlight: bool, semantic: bool = False) -> None:
    """The stages, candidates to page: fills ``results`` in place."""
    sort, page, per_page = results.sort, results.page, results.per_page
    pool: dict[int, Candidate] = {}
    if not query.has_positive:
        # Filters alone browse: newest first.
        found = engine.browse(filters, CANDIDATE_LIMIT)
        _merge(pool, found, 1)
        results.more = len(found) >= CANDIDATE_LIMIT
        sort = results.sort = "recent"
    else:
        _collect(engine, query, filters, sort=sort, rank=rank, pool=pool, results=results)
        signature_hits = engine.signature_hits(query, filters)
        _merge(pool, engine.rows_for_ids([i for i in signature_hits if i not in pool]), 0)
        for article_id, hits in signature_hits.items():
            pool[article_id].signature_hits = hits
        if not pool and query.phrases:
            # A pasted line in quotes rarely recurs word for word (ids, ports, times differ): try its words.
            words = [w for p in query.phrases for w in p if w not in STOP_WORDS]
            relaxed = replace(query, terms=tuple(dict.fromkeys((*query.terms, *words)))[:MAX_TERMS], phrases=())
            _collect(engine, relaxed, filters, sort=sort, rank=rank, pool=pool, results=results)
        if not pool and query.has_text:
            fuzzy_text = " ".join(query.all_words)
            similar = {}
            for article_id, haystack in engine.fuzzy(fuzzy_text, filters, limit=20):
                similarity = word_similarity(fuzzy_text, haystack)
                if similarity >= FUZZY_THRESHOLD:
                    similar[article_id] = similarity
            _merge(pool, engine.rows_for_ids(list(similar)), 0)
            for article_id, similarity in similar.items():
                pool[article_id].text_rank = similarity / 2

    similarities = _semantic(engine, query, filters, pool) if semantic and query.has_text else {}
    candidates = list(pool.values())
    candidates_order(candidates, sort=sort, rank=rank)
    candidates_fuse(candidates, similarities)

    results.count = len(candidates)
    page_items = candidates[(page - 1) * per_page : page * per_page]
    # Highlight the corrected spellings too: they are what the shown articles matched.
    shown = replace(query, terms=tuple(dict.fromkeys(query.terms + tuple(results.corrections.values()))))
    results.hits = _hits(engine, shown, page_items, highlight=highlight)
    results.systems, results.tags = _facets(engine, candidates)


def _semantic(engine: Engine, query: ParsedQuery, filters: Filters, pool: dict[int, Candidate]) -> dict[int, float]:
    """Similarities of the articles to the query; the closest few that no stage found join the pool
    (tier -1) unless the query excludes words, which only the lexical stages can check."""
    similarities = semantic_similarities(semantic_text(query), system_ids=filters.system_ids,
                                         include_drafts=filters.include_drafts, using=engine.using)
    if similarities and not (query.excluded_terms or query.excluded_phrases):
        extra = semantic_candidate_ids(similarities, exclude=set(pool))
        _merge(pool, engine.rows_for_ids(extra, filters), -1)
    return similarities


def _hits(engine: Engine, query: ParsedQuery, page_items: list[Candidate], *, highlight: bool) -> list[SearchHit]:
    if not page_items:
        return []
    ids = [c.id for c in page_items]
    # Raw SQL on purpose: one statement (two on SQLite) instead of the ORM's compile cost per keystroke.
    articles, excerpts, snippets = {}, {}, {}
    symptoms: dict[int, list[tuple[str, list[str]]]] = {}
    for row in engine.page_rows(query, ids, highlight=highlight):
        articles[row[0]] = Article(id=row[0], title=row[1], slug=row[2], summary=row[3], status=row[5],
                                   helpful_count=row[6], system=System(id=row[7], slug=row[8], name=row[9]))
        excerpts[row[0]], snippets[row[0]] = row[4], row[11] or ""
        grouped: dict[int, tuple[str, list[str]]] = {}
        for symptom_id, title, signature in json.loads(row[10]) if isinstance(row[10], str) else row[10] or []:
            if symptom_id is None:
                continue
            entry = grouped.setdefault(symptom_id, (title, []))
            if signature:
                entry[1].append(signature)
        symptoms[row[0]] = list(grouped.values())

    hits = []
    for candidate in page_items:
        article = articles.get(candidate.id)
        if article is None:  # deleted between the two queries
            continue
        symptom, signature = _matching_symptom(query, symptoms.get(article.pk, []))
        snippet = snippets.get(article.pk, "")
        if HIGHLIGHT_START in snippet:
            highlight_html = mark_highlight(snippet)
        elif signature:
            highlight_html = mark_highlight(f"{HIGHLIGHT_START}{signature[:200]}{HIGHLIGHT_STOP}")
        else:
            summary = article.summary or snippet or excerpts.get(article.pk, "")
            highlight_html = mark_highlight(summary[:240] + ("…" if len(summary) > 240 else ""))
        hits.append(SearchHit(article=article, score=round(candidate.score, 4), highlight=highlight_html,
                              symptom=symptom, signature=signature))
    return hits


def _matching_symptom(query: ParsedQuery, symptoms: list[tuple[str, list[str]]]) -> tuple[str, str]:
    """The symptom this query most likely describes: a signature hit first, else the most shared words."""
    patterns = [re.compile(t.pattern, re.IGNORECASE) for t in query.error_tokens]
    fragments = [f.lower() for f in query.fragments]
    for title, signatures in symptoms:
        for signature in signatures:
            lowered = signature.lower()
            if any(p.search(lowered) for p in patterns) or any(f in lowered for f in fragments):
                return title, signature
    stems = {w[: max(4, len(w) - 2)] for w in query.all_words if len(w) >= 3}
    best, best_score = ("", ""), 0
    for title, signatures in symptoms:
        words = set(words_of(title + " " + " ".join(signatures)))
        score = sum(1 for stem in stems if any(w.startswith(stem) for w in words))
        if score > best_score:
            best, best_score = (title, ""), score
    return best


def _facets(engine: Engine, candidates: list[Candidate]) -> tuple[list[Facet], list[Facet]]:
    if not candidates:
        return [], []
    by_system: dict[int, int] = {}
    for c in candidates:
        by_system[c.system_id] = by_system.get(c.system_id, 0) + 1
    rows = engine.facet_rows(list(by_system), [c.id for c in candidates])
    names = {r[1]: (r[2], r[3]) for r in rows if r[0] == 0}
    systems = sorted(
        (Facet(slug=names[pk][0], name=names[pk][1], count=n) for pk, n in by_system.items() if pk in names),
        key=lambda f: (-f.count, f.name),
    )
    tags = sorted((Facet(slug=r[2], name=r[3], count=int(r[4])) for r in rows if r[0] == 1),
                  key=lambda f: (-f.count, f.name))
    return systems, tags


