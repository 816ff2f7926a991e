"""Which system does a pasted text come from: by the system's name, or by the components its own articles name.

A log rarely says "ARES"; it says ``ares-app-1``, ``redis-master:6379``, ``/srv/orchestrator/api_server.py``
or ``ANTHROPIC_API_KEY``. Each system's imported articles name such components in their code blocks, inline
code and headings: container and service names, hosts, file names, environment variables. A component is
*distinctive* for a system when that system's articles name it at least ``MIN_MENTIONS`` times and no other
system's articles contain it anywhere. ``components_learn`` finds them when the retrieval index is built
(so they follow the knowledge version), ``system_detect`` weighs what a text names:

- each distinct distinctive component found is one point for its system;
- a system's name, slug or one of the aliases staff gave it (hosts, containers, services: ``System.aliases``)
  standing as a word of its own (``ares-api-1`` names ``ares``) is ``NAME_POINTS`` per mention;
- the best system wins when it has at least ``MIN_EVIDENCE`` points and at least ``MARGIN`` times as many
  as the next one; otherwise no system is detected.

A detected system boosts its articles (``kb.matching.retrieval``); it never hides the others'.
One regular-expression pass over the first ``DETECT_CHARS`` characters and set look-ups, whatever the
number of systems and articles.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .tokens import REPLICA_SUFFIX_RE

DETECT_CHARS = 20_000
MIN_MENTIONS = 2
NAME_POINTS = 2.0
MIN_EVIDENCE = 1.0
MARGIN = 2.0
MIN_COMPONENT_CHARS = 4
MAX_COMPONENT_CHARS = 60

# A piece of text between separators that never occur inside a component name (``/`` splits a path into
# its directories and file, ``:`` a host from its port).
_PIECE_RE = re.compile(r"[A-Za-z0-9_$][\w.$-]*")
# Where a bare word is a host: after ``//`` or ``@``, before ``:port``, or as a ``host=``/``-h`` value.
_HOST_RE = re.compile(
    r"(?:(?<=//)|(?<=@))([a-z][\w.-]{2,})|\b([a-z][\w.-]{2,}):\d{2,5}\b|\bhost\s*=\s*['\"]?([a-z][\w.-]{2,})",
    re.IGNORECASE,
)
_EXCEPTION_ENDINGS = ("error", "exception", "warning")
# Names every system's documentation uses for itself; never evidence, however the guides happen to spell them.
_GENERIC = frozenset(["localhost", "127.0.0.1", "0.0.0.0", "example.com", "docker-compose.yml", ".env"])


@dataclass
class SystemEvidence:
    """What the index learnt for detection: component -> system id, and each system's names."""

    components: dict[str, int] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)  # lower-case name, slug or slug with spaces -> id
    slugs: dict[int, str] = field(default_factory=dict)
    _names_re: re.Pattern[str] | None = None

    def names_pattern(self) -> re.Pattern[str] | None:
        if self._names_re is None and self.names:
            ordered = sorted(self.names, key=len, reverse=True)
            alternation = "|".join(re.escape(n).replace(r"\ ", r"[\s_-]+") for n in ordered)
            self._names_re = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")
        return self._names_re


def _is_component(piece: str) -> bool:
    """An identifier-looking piece: something with ``-``, ``_`` or ``.`` inside and at least two letters,
    that is not an exception's name (``psycopg2.OperationalError`` names a library, not this system)."""
    if not MIN_COMPONENT_CHARS <= len(piece) <= MAX_COMPONENT_CHARS or piece in _GENERIC:
        return False
    if piece[0].isdigit() or piece.endswith(_EXCEPTION_ENDINGS):
        return False
    inner = piece[1:-1]
    return any(mark in inner for mark in "-_.") and sum(c.isalpha() for c in piece) >= 2


def pieces(text: str) -> set[str]:
    """Every lower-case piece of a text (what "another system's articles contain it" is checked against)."""
    return {p.strip(".-").lower() for p in _PIECE_RE.findall(text)}


def component_mentions(text: str) -> Counter:
    """The components a text (an article's code, inline code and headings) names, with how often."""
    found: Counter = Counter()
    for piece in _PIECE_RE.findall(text):
        piece = piece.strip(".-").lower()
        if _is_component(piece):
            found[piece] += 1
    for match in _HOST_RE.finditer(text):
        host = next(g for g in match.groups() if g).strip(".-").lower()
        if len(host) >= 3 and host not in _GENERIC:
            found[host] += 1
    return found


def components_learn(articles: Iterable[tuple[int, Counter, set[str]]]) -> dict[str, int]:
    """Component -> the one system whose articles name it (``MIN_MENTIONS`` times or more) while no other
    system's articles contain it. ``articles`` gives (system id, component mentions, all pieces)."""
    mentions: dict[str, Counter] = {}
    present: dict[str, set[int]] = {}
    for system_id, named, everything in articles:
        for component, count in named.items():
            mentions.setdefault(component, Counter())[system_id] += count
        for piece in everything:
            present.setdefault(piece, set()).add(system_id)
        for component in named:
            present.setdefault(component, set()).add(system_id)
    learnt = {}
    for component, by_system in mentions.items():
        if len(present.get(component, ())) != 1:
            continue
        (system_id, count), = by_system.items()
        if count >= MIN_MENTIONS:
            learnt[component] = system_id
    return learnt


def _candidates(piece: str) -> list[str]:
    """The forms a guide would write a pasted hyphenated name in: without its replica or pod suffix, and
    each leading run of its parts (``agent-factory-api-1`` -> ``agent-factory-api``, ``agent-factory``)."""
    base = REPLICA_SUFFIX_RE.sub("", piece)
    forms = [base] if base != piece else []
    parts = base.split("-")
    forms.extend("-".join(parts[:n]) for n in range(len(parts) - 1, 1, -1))
    return forms


def system_evidence(evidence: SystemEvidence, text: str) -> Counter:
    """Points per system id for what ``text`` names (see the module docstring)."""
    text = (text or "")[:DETECT_CHARS]
    points: Counter = Counter()
    if not text.strip():
        return points
    components = evidence.components
    if components:
        found: set[str] = set()
        # Each distinct piece once: a log repeats its names on every line.
        for piece in {p.strip(".-").lower() for p in _PIECE_RE.findall(text)}:
            if piece in components:
                found.add(piece)
            elif "-" in piece:
                form = next((form for form in _candidates(piece) if form in components), None)
                if form is not None:
                    found.add(form)
        for component in found:
            points[components[component]] += 1.0
    pattern = evidence.names_pattern()
    if pattern is not None:
        for found in pattern.findall(text.lower()):
            owner = evidence.names.get(re.sub(r"[\s_-]+", " ", found))
            if owner is not None:
                points[owner] += NAME_POINTS
    return points


def system_decide(evidence: SystemEvidence, points: Counter) -> str | None:
    """The slug of the system with clearly the most evidence, else None."""
    ranked = sorted(points.items(), key=lambda item: (-item[1], item[0]))
    if not ranked or ranked[0][1] < MIN_EVIDENCE:
        return None
    if len(ranked) > 1 and ranked[0][1] < MARGIN * ranked[1][1]:
        return None
    return evidence.slugs.get(ranked[0][0])


def system_names(systems: Iterable[tuple[int, str, str, list[str]]]) -> SystemEvidence:
    """The names half of the evidence from (id, slug, name, aliases) rows."""
    evidence = SystemEvidence()
    for system_id, slug, name, aliases in systems:
        evidence.slugs[system_id] = slug
        for candidate in (slug, slug.replace("-", " "), " ".join(name.lower().split()),
                          *(" ".join(alias.lower().split()) for alias in aliases)):
            if len(candidate) >= 3:
                evidence.names.setdefault(re.sub(r"[\s_-]+", " ", candidate), system_id)
    return evidence
