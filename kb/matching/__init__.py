"""The log matcher: which known symptoms does a text or a log contain, on which lines, and what fixed them.

- ``masking``: reduce a line to its stable shape (numbers, ids, hosts, paths become ``#``);
- ``rules``: how one signature matches one line, and which signatures are refused;
- ``reader``: blocks of whole lines from a plain or gzip stream, within the size limits;
- ``prefilter``: the lines of a block worth a closer look, in one pass (Hyperscan where exact, RE2);
- ``engine``: every signature compiled into one ``Matcher`` (prefilter, Aho-Corasick, RE2 Set);
- ``events``: a stack trace is one event, its frames are context;
- ``clustering``: unknown error lines grouped into templates (drain3);
- ``version``: the knowledge-base fingerprint and this process's matcher, rebuilt when it moves on;
- ``tokens``, ``retrieval``: error-aware tokens and the BM25F index behind the signatures
  (``related_lookup`` for errors no signature knows, ``system_detect``);
- ``detection``: which system a text comes from, by its name or the components only its articles name;
- ``service``: ``symptom_match_text`` / ``symptom_match_stream``, ranked symptoms with solutions, then
  related articles for unknown error events;
- ``signatures``: writes for signatures, each checked against its own examples.
"""

from .clustering import UnknownGroup
from .engine import LineHit, Matcher, ScanReport
from .reader import MatchInputError, max_input_bytes, max_line_bytes
from .rules import SignatureSpec, literal_problem, pattern_problem, signature_matches_line
from .service import (
    MatchResult,
    RelatedMatch,
    SolutionResult,
    SymptomMatch,
    symptom_match_stream,
    symptom_match_text,
)
from .version import knowledge_version, knowledge_version_bump, matcher_build, matcher_current, matcher_reset

__all__ = [
    "LineHit", "MatchInputError", "MatchResult", "Matcher", "RelatedMatch", "ScanReport", "SignatureSpec", "SolutionResult",
    "SymptomMatch", "UnknownGroup", "knowledge_version", "knowledge_version_bump", "literal_problem",
    "matcher_build", "matcher_current", "matcher_reset", "max_input_bytes", "max_line_bytes", "pattern_problem",
    "signature_matches_line", "symptom_match_stream", "symptom_match_text",
]
