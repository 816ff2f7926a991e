"""What a person sees after pasting text into the matcher: exact signature matches first, then retrieval's
related hits for the error events no signature knew and for the paste as a whole (never INFO/DEBUG lines).

``paste_lookup`` calls the match service, so the benchmark measures what the API returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..matching import MatchInputError, symptom_match_text
from ..matching.service import RelatedMatch
from ..models import Article

# The engine's own rule for a calm log line (kb.matching.engine): these are never looked up.
CALM_LINE_RE = re.compile(r"(?:^|[\s\[(|<])(?:info|debug|trace|notice)(?:[\s\])|>:]|$)", re.IGNORECASE)


@dataclass
class PasteResult:
    signature_articles: list[Article] = field(default_factory=list)
    signature_symptoms: int = 0
    related: list[RelatedMatch] = field(default_factory=list)

    @property
    def articles(self) -> list[Article]:
        """Every article in the order a person sees them: signature matches, then related hits."""
        seen, ordered = set(), []
        for article in [*self.signature_articles, *(a for hit in self.related for a in hit.articles)]:
            if article.pk not in seen:
                seen.add(article.pk)
                ordered.append(article)
        return ordered


def is_calm_line(line: str) -> bool:
    return bool(CALM_LINE_RE.search(line[:80]))


def paste_lookup(*, text: str, user: Any = None, system: str | None = None) -> PasteResult:
    """What the match API returns for ``text``: exact signature matches, then related hits (the service
    detects the system the text names; ``system`` narrows as the API's field does)."""
    result = PasteResult()
    try:
        matched = symptom_match_text(text=text, user=user, system=system)
    except MatchInputError:
        return result
    for match in matched.matches:
        result.signature_articles.extend(match.articles)
    result.signature_symptoms = len(matched.matches)
    result.related = list(matched.related)
    return result
