"""Retrieval behind the signatures: which articles is an error most likely about, when no signature knows it.

Every article is one document with weighted fields (BM25F): its title and heading path, its symptoms'
titles and signatures, the code blocks of its body, and the rest of its text. Tokens are error-aware
(``kb.matching.tokens``): exception names whole and split, errno names and numbers, HTTP statuses, hex
codes, distinctive identifiers such as ``QueuePool``; quoted fragments count extra. The index lives in
this process's memory and is rebuilt when the knowledge base changes (the matcher's knowledge version
plus the articles' own fingerprint), so PostgreSQL and SQLite give the same results from the same data.

``related_lookup`` is what the match service calls for error events no signature matched and for the
paste as a whole. A query is expanded with the operations vocabulary (``kb.search.synonyms``) at a lower
weight; pairs of neighbouring words (phrases) reorder what its words found. With no system known, each
hit's articles are spread over systems when their scores are close. Work per call is
bounded: at most ``MAX_EVENTS`` distinct events, ``MAX_EVENT_CHARS`` characters and ``MAX_QUERY_TOKENS``
tokens each.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from ..models import Article, Symptom, System, system_aliases
from ..search.synonyms import synonym_expand
from ..selectors import is_staff
from .detection import (
    SystemEvidence,
    component_mentions,
    components_learn,
    pieces,
    system_decide,
    system_evidence,
    system_names,
)
from .tokens import (
    error_tokens,
    identifier_shares,
    phrase_tokens,
    port_services,
    query_tokens,
    quoted_fragments,
    stem,
    words_plain,
)
from .version import knowledge_version, stamp_text

logger = logging.getLogger(__name__)

MAX_EVENTS = 50
MAX_EVENT_CHARS = 2000
MAX_QUERY_TOKENS = 32
MAX_BODY_CHARS = 60_000
# BM25F: field weights and length normalisation.
FIELD_WEIGHTS = {"head": 4.0, "symptoms": 3.0, "code": 1.2, "body": 1.0}
FIELD_B = {"head": 0.5, "symptoms": 0.6, "code": 0.75, "body": 0.75}
K1 = 1.2
SYNONYM_WEIGHT = 0.7
QUOTED_BONUS = 0.5
PHRASE_WEIGHT = 0.5
SYSTEM_BOOST = 3.0
# A hit must explain at least this share of the query's weight (idf) to be shown at all.
MIN_COVERAGE = 0.18
MIN_SCORE = 2.0
UNKNOWN_IDF = 1.0
COMMON_IDF = 0.7
# Each hit names this many articles; with no system known they are spread over systems (``_diverse``)
# among this many candidates whose score is within this share of the best.
HIT_ARTICLES = 3
DIVERSE_CANDIDATES = 12
DIVERSE_RATIO = 0.5

_FENCE_RE = re.compile(r"^(\s*)(```+|~~~+)[^\n]*\n(.*?)^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class RelatedHit:
    article: Article  # best article for this hit
    articles: list[Article]  # up to 3 articles, best first (article is articles[0])
    symptom: Symptom | None  # when the hit maps to one symptom of that article
    score: float  # higher is better; only comparable within one call
    why: list[str]  # the matched tokens/phrases, e.g. ["QueuePool", "overflow", "limit"]
    query: str  # the event text that was looked up (one line or one event summary)


@dataclass
class _Doc:
    article_id: int
    system_id: int
    published: bool
    weights: dict[str, float]  # token -> BM25F pseudo-frequency
    text: str  # lower-cased title, symptoms and code, for quoted fragments
    symptoms: list[tuple[int, frozenset[str]]] = field(default_factory=list)


@dataclass
class RetrievalIndex:
    version: str
    docs: list[_Doc]
    postings: dict[str, list[tuple[int, float]]]
    idf: dict[str, float]
    system_slugs: dict[str, int]
    # What system detection weighs: each system's names and the components only its articles name.
    evidence: SystemEvidence = field(default_factory=SystemEvidence)
    built_ms: float = 0.0

    @property
    def size(self) -> int:
        return len(self.docs)


def _split_code(body: str) -> tuple[str, str]:
    """(code blocks and inline code, prose without the fenced blocks)."""
    code = [m.group(3) for m in _FENCE_RE.finditer(body)]
    prose = _FENCE_RE.sub(" ", body)
    code += _INLINE_CODE_RE.findall(prose)
    return "\n".join(code), prose


def _field_counts(article: Article, symptom_texts: list[str]) -> dict[str, Counter]:
    body = (article.body or "")[:MAX_BODY_CHARS]
    code, prose = _split_code(body)
    head = f"{article.title}\n{article.heading_path.replace(' / ', chr(10))}"
    texts = {"head": head, "symptoms": "\n".join(symptom_texts), "code": code, "body": f"{article.summary}\n{prose}"}
    return {name: Counter(error_tokens(text)) + Counter(_phrases(text)) for name, text in texts.items()}


def _phrases(text: str) -> list[str]:
    """Neighbouring words, line by line (a phrase never runs from one line of code into the next)."""
    return [phrase for line in text.splitlines() for phrase in phrase_tokens(line)]


def retrieval_index_build(*, version: str = "") -> RetrievalIndex:
    """Every article as a BM25F document (one pass over articles, symptoms and signatures)."""
    started = time.perf_counter()
    symptom_texts: dict[int, list[tuple[int, str]]] = {}
    signatures: dict[int, list[str]] = {}
    for symptom_id, text in Symptom.objects.filter(signatures__isnull=False).values_list("id", "signatures__text"):
        signatures.setdefault(symptom_id, []).append(text)
    links = Symptom.articles.through.objects.values_list("article_id", "symptom_id", "symptom__title")
    for article_id, symptom_id, title in links.iterator(chunk_size=2000):
        text = "\n".join([title, *signatures.get(symptom_id, [])])
        symptom_texts.setdefault(article_id, []).append((symptom_id, text))

    raw: list[tuple[_Doc, dict[str, Counter]]] = []
    named: list[tuple[int, Counter, set[str]]] = []
    lengths: dict[str, list[int]] = {name: [] for name in FIELD_WEIGHTS}
    articles = Article.objects.only("id", "system_id", "status", "title", "heading_path", "summary", "body")
    for article in articles.iterator(chunk_size=500):
        own = symptom_texts.get(article.pk, [])
        counts = _field_counts(article, [text for _, text in own])
        for name, counter in counts.items():
            lengths[name].append(sum(counter.values()))
        code, _ = _split_code((article.body or "")[:MAX_BODY_CHARS])
        text = "\n".join([article.title, *[t for _, t in own], code]).lower()
        named.append((article.system_id, component_mentions(f"{article.heading_path}\n{text}"),
                      pieces(f"{article.title}\n{article.summary}\n{article.body or ''}")))
        doc = _Doc(article_id=article.pk, system_id=article.system_id,
                   published=article.status == Article.Status.PUBLISHED, weights={}, text=text,
                   symptoms=[(sid, frozenset(error_tokens(t))) for sid, t in own])
        raw.append((doc, counts))

    average = {name: (sum(values) / len(values) if values else 1.0) or 1.0 for name, values in lengths.items()}
    postings: dict[str, list[tuple[int, float]]] = {}
    for index, (doc, counts) in enumerate(raw):
        weights: dict[str, float] = {}
        for name, counter in counts.items():
            length = sum(counter.values())
            norm = 1 - FIELD_B[name] + FIELD_B[name] * length / average[name]
            for token, tf in counter.items():
                weights[token] = weights.get(token, 0.0) + FIELD_WEIGHTS[name] * tf / norm
        doc.weights = weights
        for token, weight in weights.items():
            postings.setdefault(token, []).append((index, weight))
    total = len(raw)
    idf = {token: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5)) for token, p in postings.items()}
    systems = [(pk, slug, name, system_aliases(aliases))
               for pk, slug, name, aliases in System.objects.values_list("id", "slug", "name", "aliases")]
    evidence = system_names(systems)
    evidence.components = components_learn(named)
    return RetrievalIndex(version=version, docs=[d for d, _ in raw], postings=postings, idf=idf,
                          system_slugs={slug: pk for pk, slug, _, _ in systems}, evidence=evidence,
                          built_ms=(time.perf_counter() - started) * 1000)


_lock = threading.Lock()
_index: RetrievalIndex | None = None


def retrieval_version(*, knowledge: str | None = None) -> str:
    """The matcher's knowledge version (read now unless the caller just read it) plus the articles' and
    systems' fingerprint (an edited body or system aliases move it), in one statement."""
    articles, systems = Article._meta.db_table, System._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(id), MAX(updated_at), (SELECT COUNT(*) FROM {systems}), "
                       f"(SELECT MAX(id) FROM {systems}), (SELECT MAX(updated_at) FROM {systems}) FROM {articles}")
        count, top, newest, system_count, system_top, system_edited = cursor.fetchone()
    knowledge = knowledge_version() if knowledge is None else knowledge
    return (f"{knowledge}|{count}:{top}:{stamp_text(newest)}"
            f"|{system_count}:{system_top}:{stamp_text(system_edited)}")


def retrieval_index_current(*, knowledge: str | None = None) -> RetrievalIndex:
    """This process's index, rebuilt when the knowledge base moved on."""
    global _index
    version = retrieval_version(knowledge=knowledge)
    current = _index
    if current is not None and current.version == version:
        return current
    with _lock:
        if _index is None or _index.version != version:
            _index = retrieval_index_build(version=version)
            logger.info("retrieval: indexed %d articles in %.0f ms", _index.size, _index.built_ms)
        return _index


def retrieval_reset() -> None:
    global _index
    with _lock:
        _index = None


@dataclass
class _Query:
    text: str
    weights: dict[str, float]  # token -> query weight
    fragments: list[str]
    # Neighbouring words as one token -> weight: they reorder what the words found, never find on their own.
    phrases: dict[str, float] = field(default_factory=dict)
    # Where the text says one member of a synonym group: (its own tokens, each other member's tokens).
    # An article with every token of another member explains the words the text used for it.
    synonyms: list[tuple[frozenset[str], list[frozenset[str]]]] = field(default_factory=list)


_SURFACE_WORD_RE = re.compile(r"[A-Za-z0-9_$][\w$.:\-]*")
_SURFACE_PIECE_RE = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")


def _surface_forms(text: str) -> dict[str, str]:
    forms: dict[str, str] = {}
    for word in _SURFACE_WORD_RE.findall(text):
        for token in error_tokens(word):
            forms.setdefault(token, word.strip(".:-"))
        for piece in _SURFACE_PIECE_RE.findall(word):
            forms.setdefault(stem(piece.lower()), piece)
    # A service the paste names only by its port reads as such, not as a stem ("postgr").
    for port, service in port_services(text):
        forms.setdefault(stem(service), f"{service} (port {port})")
    return forms


def query_build(text: str) -> _Query:
    """An event's lookup weights: its tokens, plus its synonyms' tokens at a lower weight."""
    text = text[:MAX_EVENT_CHARS]
    weights: dict[str, float] = {}
    for token in query_tokens(text):
        weights[token] = weights.get(token, 0.0) + 1.0
    # Repetition in one line (a path repeated, say) should not outweigh a rare word: damp it.
    shares = identifier_shares(text)
    weights = {token: (1.0 + math.log(count)) * shares.get(token, 1.0) for token, count in weights.items()}
    synonyms = []
    for expansion in synonym_expand(words_plain(text)):
        others = []
        for alternative in expansion.alternatives[1:]:
            tokens = query_tokens(" ".join(alternative))
            for token in tokens:
                if token not in weights:
                    weights[token] = SYNONYM_WEIGHT
            if tokens:
                others.append(frozenset(tokens))
        said = frozenset(t for t in query_tokens(" ".join(expansion.alternatives[0])) if t in weights)
        if said and others:
            synonyms.append((said, others))
    phrases = dict.fromkeys(_phrases(text), PHRASE_WEIGHT)
    return _Query(text=text, weights=weights, fragments=quoted_fragments(text), phrases=phrases,
                  synonyms=synonyms)


def _covered(index: RetrievalIndex, query: _Query, matched: list[str]) -> float:
    """The query's idf weight this article's matched tokens explain, the words a synonym of theirs
    stands for included ("remaining connection slots are reserved" is explained by "too many connections")."""
    found = set(matched)
    covered = sum(index.idf[t] * query.weights[t] for t in found)
    for said, others in query.synonyms:
        if any(other <= found for other in others):
            covered += sum(index.idf.get(t, UNKNOWN_IDF) * query.weights[t] for t in said - found)
    return covered


def _score(index: RetrievalIndex, query: _Query, *, system_id: int | None, visible_all: bool,
           ) -> tuple[list[tuple[float, int, list[str]]], float]:
    """(score, doc index, matched tokens) best first, and the query's total idf weight."""
    # A token in most articles (idf under COMMON_IDF) only reorders what rarer tokens found: it is
    # scored for those, not walked through its whole posting list.
    known = [(token, weight) for token, weight in query.weights.items() if token in index.idf]
    # Only the rarest tokens of a long event: a stack of common words adds cost, not precision.
    known.sort(key=lambda pair: -index.idf[pair[0]] * pair[1])
    known = known[:MAX_QUERY_TOKENS]
    # Tokens no article has (ids, host names, typos) still make a query less explained, but less so.
    total = sum(index.idf.get(token, UNKNOWN_IDF) * weight for token, weight in query.weights.items()) or 1.0
    scores: dict[int, float] = {}
    matched: dict[int, list[str]] = {}
    common = []
    for token, weight in known:
        idf = index.idf[token]
        if idf < COMMON_IDF:
            common.append((token, weight, idf))
            continue
        for doc_index, tf in index.postings[token]:
            scores[doc_index] = scores.get(doc_index, 0.0) + weight * idf * tf * (K1 + 1) / (tf + K1)
            matched.setdefault(doc_index, []).append(token)
    # Common tokens only add to documents a distinctive token found, except in a knowledge base so small
    # that no token is distinctive (a new install with one guide): then they find documents themselves.
    seeded = bool(scores)
    for token, weight, idf in common:
        postings = ([(d, index.docs[d].weights.get(token)) for d in list(scores)] if seeded
                    else index.postings[token])
        for doc_index, tf in postings:
            if tf:
                scores[doc_index] = scores.get(doc_index, 0.0) + weight * idf * tf * (K1 + 1) / (tf + K1)
                matched.setdefault(doc_index, []).append(token)
    phrase_scores: dict[int, float] = {}
    for phrase, weight in query.phrases.items():
        idf = index.idf.get(phrase)
        if idf is None:
            continue
        for doc_index in scores:
            tf = index.docs[doc_index].weights.get(phrase)
            if tf:
                phrase_scores[doc_index] = phrase_scores.get(doc_index, 0.0) + weight * idf * tf * (K1 + 1) / (tf + K1)
    results = []
    for doc_index, score in scores.items():
        doc = index.docs[doc_index]
        if not (doc.published or visible_all):
            continue
        score += phrase_scores.get(doc_index, 0.0)
        covered = _covered(index, query, matched[doc_index]) / total
        if covered < MIN_COVERAGE:
            continue
        bonus = sum(QUOTED_BONUS * score / max(1, len(matched[doc_index]))
                    for fragment in query.fragments if len(fragment) >= 4 and fragment in doc.text)
        score = (score + bonus) * (0.5 + covered)
        if system_id is not None and doc.system_id == system_id:
            score *= SYSTEM_BOOST
        if score >= MIN_SCORE:
            results.append((score, doc_index, matched[doc_index]))
    results.sort(key=lambda item: (-item[0], index.docs[item[1]].article_id))
    return results, total


def _best_symptom(doc: _Doc, tokens: set[str], excluded: set[int] | frozenset[int]) -> tuple[int | None, bool]:
    """(symptom id, excluded?) of the article's symptom sharing the most tokens with the query."""
    best, best_overlap = None, 0
    for symptom_id, symptom_tokens in doc.symptoms:
        overlap = len(tokens & symptom_tokens)
        if overlap > best_overlap:
            best, best_overlap = symptom_id, overlap
    if best is None or best_overlap < 2:
        return None, False
    return best, best in excluded


def _diverse(index: RetrievalIndex, candidates: list[tuple[float, int, list[str], int | None]], *, spread: bool,
             ) -> list[tuple[float, int, list[str], int | None]]:
    """The ``HIT_ARTICLES`` candidates to show for one event, best first. With no system known, one system's
    articles must not crowd out the others': the same fix is often written down in several systems, and
    only the reader knows which one they run. So after the best, a candidate of a system not shown yet
    goes first while its score is within ``DIVERSE_RATIO`` of the best."""
    if not spread or len(candidates) <= HIT_ARTICLES:
        return candidates[:HIT_ARTICLES]
    kept, rest = candidates[:1], candidates[1:]
    floor = candidates[0][0] * DIVERSE_RATIO
    while rest and len(kept) < HIT_ARTICLES:
        shown = {index.docs[k[1]].system_id for k in kept}
        pick = next((c for c in rest if c[0] >= floor and index.docs[c[1]].system_id not in shown), rest[0])
        kept.append(pick)
        rest.remove(pick)
    return kept


def related_lookup(*, events: list[str], system: str | None = None, exclude_symptom_ids: set[int] = frozenset(),
                   user: Any = None, limit: int = 5, leading: str | None = None, chosen: bool = False,
                   index: RetrievalIndex | None = None, knowledge: str | None = None) -> list[RelatedHit]:
    """Look up each error event (already known NOT to match a signature; INFO/DEBUG lines never passed)
    in the retrieval index; merge, drop symptoms in ``exclude_symptom_ids``, rank, return up to ``limit``.

    ``system`` (slug) boosts that system's articles. With ``chosen`` (the person picked it with the page's
    filter or the API's field; detection did not guess it), its articles come before every other system's,
    in each hit and among the hits; the others still follow, as the same fix is often written down
    elsewhere. A detected system is only boosted: detection can be wrong. One hit per article (the best event for it);
    each hit names up to three articles for its event. The hit of ``leading`` (one of ``events``: a short
    paste as a whole, which says more than any one of its lines) comes first whatever the scores. A caller
    that holds the current ``index``, or has just read the ``knowledge`` version, passes it. Never raises
    on odd input: what cannot be looked up is skipped.
    """
    try:
        return _related_lookup(events=events, system=system, exclude_symptom_ids=set(exclude_symptom_ids or ()),
                               user=user, limit=limit, leading=leading, chosen=chosen, index=index,
                               knowledge=knowledge)
    except Exception:  # retrieval is an extra; a failure here must never fail the match itself
        logger.exception("retrieval: lookup failed")
        return []


def _related_lookup(*, events: list[str], system: str | None, exclude_symptom_ids: set[int], user: Any,
                    limit: int, leading: str | None, chosen: bool, index: RetrievalIndex | None,
                    knowledge: str | None) -> list[RelatedHit]:
    distinct = []
    for event in events or []:
        if isinstance(event, str) and event.strip() and event not in distinct:
            distinct.append(event)
        if len(distinct) >= MAX_EVENTS:
            break
    limit = max(0, min(int(limit or 0), 50))
    if not distinct or not limit:
        return []
    index = index or retrieval_index_current(knowledge=knowledge)
    system_id = index.system_slugs.get(system) if system else None
    visible_all = is_staff(user)

    # article id -> (score, event, article ids shown, symptom id, matched tokens ranked, query text); the
    # reasons are worded only for the hits that are returned.
    found: dict[int, tuple[float, str, list[int], int | None, list[str], str]] = {}
    found_systems: dict[int, int] = {}
    for event in distinct:
        query = query_build(event)
        if not query.weights:
            continue
        ranked, total = _score(index, query, system_id=system_id, visible_all=visible_all)
        if chosen and system_id is not None:
            ranked.sort(key=lambda item: index.docs[item[1]].system_id != system_id)  # stable: scores order within
        tokens = set(query.weights)
        candidates: list[tuple[float, int, list[str], int | None]] = []
        for score, doc_index, matched in ranked:
            symptom_id, excluded = _best_symptom(index.docs[doc_index], tokens, exclude_symptom_ids)
            if excluded:
                continue
            candidates.append((score, doc_index, matched, symptom_id))
            if len(candidates) >= DIVERSE_CANDIDATES:
                break
        kept = _diverse(index, candidates, spread=system_id is None)
        if not kept:
            continue
        score, doc_index, matched, symptom_id = kept[0]
        normalised = score / (total + 1.0)
        article_id = index.docs[doc_index].article_id
        if article_id in found and event != leading and (found[article_id][1] == leading
                                                          or found[article_id][0] >= normalised):
            continue
        found_systems[article_id] = index.docs[doc_index].system_id
        found[article_id] = (normalised, event, [index.docs[k[1]].article_id for k in kept], symptom_id,
                             sorted(matched, key=lambda t: -index.idf[t] * query.weights[t]), query.text)

    def outside(article_id: int) -> bool:
        return chosen and system_id is not None and found_systems[article_id] != system_id

    ranked_hits = sorted(found.items(), key=lambda item: (item[1][1] != leading, outside(item[0]), -item[1][0],
                                                           item[0]))[:limit]
    if not ranked_hits:
        return []
    article_ids = {a for _, (_, _, ids, _, _, _) in ranked_hits for a in ids}
    articles = {a.pk: a for a in Article.objects.filter(pk__in=article_ids).select_related("system")}
    symptom_ids = {s for _, (_, _, _, s, _, _) in ranked_hits if s}
    symptoms = {s.pk: s for s in Symptom.objects.filter(pk__in=symptom_ids).select_related("system")}
    hits = []
    for article_id, (score, event, ids, symptom_id, matched, text) in ranked_hits:
        shown = [articles[a] for a in ids if a in articles]
        if not shown or shown[0].pk != article_id:
            continue
        surface = _surface_forms(text)
        why = list(dict.fromkeys(surface.get(t, t) for t in matched))[:8]
        hits.append(RelatedHit(article=shown[0], articles=shown, symptom=symptoms.get(symptom_id),
                               score=round(score, 4), why=why, query=event[:MAX_EVENT_CHARS]))
    return hits


def system_detect(text: str, *, index: RetrievalIndex | None = None) -> str | None:
    """A system slug when the text names a system's hosts/components/name clearly enough, else None
    (``kb.matching.detection`` says how; the components are learnt with this index). A caller that
    holds the current index passes it, so the knowledge version is checked once per paste."""
    try:
        if not (text or "").strip():
            return None
        evidence = (index or retrieval_index_current()).evidence
        return system_decide(evidence, system_evidence(evidence, text))
    except Exception:
        logger.exception("retrieval: system detection failed")
        return None
