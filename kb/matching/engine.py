"""The scanning engine: every signature compiled once into a ``Matcher`` that scans a stream in blocks.

How one scan works (memory stays bounded by the block size whatever the input size):

1. kb.matching.reader yields blocks of whole lines (gzip decompressed as read, size limits applied).
2. The *prefilter* (kb.matching.prefilter) runs over each raw block: it looks for every literal
   signature's anchor (its longest run without a masked part, ASCII-caseless), every RE2 pattern
   signature and a few error words, in one pass of Hyperscan when it can serve them exactly and of one
   RE2 regex otherwise. Only lines it flags go further, which on a normal log is a few in a hundred.
3. The flagged lines are masked in one batch (kb.matching.masking) and fed to an Aho-Corasick automaton
   of every masked literal signature's anchor, each candidate confirmed with ``in`` (or the loose
   comparison); pattern signatures are searched once over the flagged lines joined and confirmed with an
   RE2 Set on the lines that hold a match.
4. Error-looking lines that nothing matched are collected for kb.matching.clustering.

User-written patterns only ever run in RE2 and Hyperscan (both linear time), never in Python's ``re``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ahocorasick
import re2
from django.conf import settings

from ..models import Signature
from . import events
from .clustering import UnknownGroup, UnknownLines
from .masking import distinctive_letters, mask_text, signature_pieces
from .prefilter import ERROR_WORDS, HyperscanBuild, HyperscanPrefilter, Re2Prefilter, lines_matching
from .reader import BlockReader, MatchInputError, max_input_bytes, max_line_bytes, size_label
from .rules import (
    MIN_SIGNATURE_LETTERS,
    SignatureSpec,
    literal_locators,
    loose_match,
    pattern_compile,
    pattern_problem,
    re2_options,
)

logger = logging.getLogger(__name__)

# Per symptom: this many line numbers, and the text and context of the first few of them. Together with
# the caps below this bounds memory by the size of the knowledge base, never by the size of the input.
MAX_LINES_PER_SYMPTOM = 50
MAX_SHOWN_LINES_PER_SYMPTOM = 5
CONTEXT_LINES = 2
DISPLAY_LINE_CHARS = 1000
CONTEXT_LINE_CHARS = 300
# The prefilter looks for this much of each anchor: enough to be selective, short enough to compile fast.
ANCHOR_CHARS = 24
# Shorter anchors are common in ordinary text and would flag too many lines for checking.
MIN_ANCHOR_CHARS = 8

# Tested only on flagged lines that no signature matched.
_ERROR_WORD = re.compile("|".join(re.escape(word) for word in ERROR_WORDS))
_CALM_LEVEL = re.compile(r"(?:^|[\s\[(|<])(?:info|debug|trace|notice)(?:[\s\])|>:]|$)")


def is_calm(line: str) -> bool:
    """True for an INFO/DEBUG/TRACE/NOTICE line: never an error event, whatever words it holds."""
    return bool(_CALM_LEVEL.search(mask_text(line[:200])[:80]))


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic GC while building or scanning.

    Both allocate many small objects that are short-lived or kept for good, and each collection would
    walk the whole heap of a Django process; that costs more than the scan itself. Counted, so
    overlapping scans in threads re-enable it only when the last one ends.
    """
    global _gc_pauses
    with _gc_lock:
        # If someone else turned the GC off, leave it as they want it.
        managed = _gc_pauses > 0 or gc.isenabled()
        if managed:
            _gc_pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if managed:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0:
                    gc.enable()


# A pattern that can tell where its line sits in the text (\A, \z, multi-line mode turned off) must be
# checked on each line by itself.
_POSITION_SENSITIVE = re.compile(r"\\[Az]|\(\?[imsU]*-[imsU]*m")


def _pattern_lines_compile(patterns: list[str]) -> Any:
    """One RE2 regex over candidate lines joined by line breaks that finds every line a pattern signature
    matches (case-insensitive like the pattern set; no match crosses a line break), or None when some
    pattern would not match the same inside the joined text as on its own line."""
    if any(_POSITION_SENSITIVE.search(text) for text in patterns):
        return None
    options = re2_options()
    options.never_capture = True
    options.never_nl = True
    try:
        return re2._Regexp("|".join(f"(?m:{text})" for text in patterns).encode(), options)._regexp
    except re2.error:
        return None


class Matcher:
    """Every signature of the knowledge base compiled once: prefilter, anchor automaton and pattern set.

    Per-signature data is kept in parallel lists of plain strings and ints rather than one object per
    signature: the garbage collector does not track those, so a big matcher does not slow down every
    collection in the process.
    """

    def __init__(self, signatures: Iterable[SignatureSpec], *, version: str = "",
                 hyperscan: bool | None = None) -> None:
        """``hyperscan``: scan with Hyperscan where it is exact (the TRIAGE_MATCH_HYPERSCAN setting when
        None); False keeps every block on the RE2 prefilter."""
        if hyperscan is None:
            hyperscan = bool(getattr(settings, "TRIAGE_MATCH_HYPERSCAN", True))
        with _gc_paused():
            self._build(signatures, version=version, hyperscan=hyperscan)

    def _build(self, signatures: Iterable[SignatureSpec], *, version: str, hyperscan: bool) -> None:
        self.version = version
        self.skipped: list[tuple[int, str]] = []
        self._literal_ids: list[int] = []
        self._literal_symptoms: list[int] = []
        self._literal_masked: list[str] = []
        # For the loose comparison: the pieces of a literal, or None when it has only one; and the longest
        # piece without its anchor, which a loosely matching line must hold too (a cheap test first).
        self._literal_pieces: list[tuple[tuple[str, bool], ...] | None] = []
        self._literal_probes: list[str] = []
        self._pattern_ids: list[int] = []
        self._pattern_symptoms: list[int] = []
        self._pattern_texts: list[str] = []
        self._pattern_regexes: list[Any] = []
        self._locators: dict[int, tuple[Any, Any]] = {}

        literal_specs: list[SignatureSpec] = []
        for spec in signatures:
            if spec.kind != Signature.Kind.PATTERN:
                if "\n" in spec.text.strip():
                    self.skipped.append((spec.id, "spans several lines"))
                else:
                    literal_specs.append(spec)
                continue
            problem = pattern_problem(spec.text)
            if problem:
                self.skipped.append((spec.id, problem))
                continue
            self._pattern_ids.append(spec.id)
            self._pattern_symptoms.append(spec.symptom_id)
            self._pattern_texts.append(spec.text)
            self._pattern_regexes.append(pattern_compile(spec.text))

        self._pattern_set = None
        self._pattern_lines = None
        if self._pattern_texts:
            pattern_set = re2.Set.SearchSet(re2_options())
            for text in self._pattern_texts:
                pattern_set.Add(text)
            pattern_set.Compile()
            self._pattern_set = pattern_set
            self._pattern_lines = _pattern_lines_compile(self._pattern_texts)
        # Mask every literal in one call: one line each, split again afterwards.
        joined = "\n".join(spec.text.strip() for spec in literal_specs)
        masked_all = [masked.strip() for masked in mask_text(joined).split("\n")] if literal_specs else []
        pieces_all = [signature_pieces(masked) for masked in masked_all]
        windows_all = [_anchor_windows(pieces) for pieces in pieces_all]
        # How many signatures share each candidate anchor: the rarest one flags the fewest lines.
        shared = Counter(window for windows in windows_all for window in set(windows))
        by_anchor: dict[str, list[int]] = {}
        for spec, masked, pieces, windows in zip(literal_specs, masked_all, pieces_all, windows_all, strict=True):
            if not windows or distinctive_letters(masked) < MIN_SIGNATURE_LETTERS:
                # Saved through signature_save this cannot happen; imported or hand-made rows can.
                self.skipped.append((spec.id, "nothing distinctive left after masking"))
                continue
            anchor, best = windows[0], None
            for window in windows:
                score = _anchor_score(window, shared[window])
                if best is None or score > best:
                    anchor, best = window, score
            by_anchor.setdefault(anchor, []).append(len(self._literal_ids))
            self._literal_ids.append(spec.id)
            self._literal_symptoms.append(spec.symptom_id)
            self._literal_masked.append(masked)
            self._literal_pieces.append(tuple(pieces) if len(pieces) > 1 else None)
            self._literal_probes.append(max((piece for piece, _ in pieces if anchor not in piece), key=len, default=""))
        if self.skipped:
            logger.warning("matcher: %d signatures skipped, e.g. %s", len(self.skipped), self.skipped[:3])

        # Anchors -> the literals that contain them; a hit is confirmed with `in`.
        automaton = ahocorasick.Automaton()
        for anchor, indexes in by_anchor.items():
            automaton.add_word(anchor, tuple(indexes))
        if by_anchor:
            automaton.make_automaton()
        # An automaton without words cannot be searched: then no line holds an anchor.
        self._anchors_in = automaton.iter if by_anchor else _no_anchors

        self._re2_prefilter = Re2Prefilter(by_anchor, self._pattern_texts)
        self._re2_prefilter.compile()
        # Compiled in the background; until it is ready (or when it cannot be exact) RE2 scans every block.
        self._fast_build = HyperscanBuild(by_anchor, self._pattern_texts, self._pattern_lines) if hyperscan else None

    @property
    def _fast_prefilter(self) -> HyperscanPrefilter | None:
        return self._fast_build.result if self._fast_build is not None else None

    @property
    def uses_hyperscan(self) -> bool:
        """Whether blocks are scanned with Hyperscan now (each falls back to RE2 where that is not exact)."""
        return self._fast_prefilter is not None

    def wait_for_hyperscan(self, timeout: float | None = None) -> bool:
        """Wait until the Hyperscan prefilter is compiled (or known not to apply); whether it is used."""
        if self._fast_build is not None:
            self._fast_build.done.wait(timeout)
        return self.uses_hyperscan

    @property
    def size(self) -> int:
        return len(self._literal_ids) + len(self._pattern_ids)

    # --- scanning ---------------------------------------------------------------------------------

    def scan(self, stream: IO[bytes], *, max_bytes: int | None = None, max_line: int | None = None) -> ScanReport:
        """Scan a binary stream (plain or gzip) and report what matched where; see the module docstring."""
        reader = BlockReader(stream, max_bytes=max_bytes or max_input_bytes(),
                              max_line=max_line or max_line_bytes())
        state = _ScanState(max_line=reader.max_line)
        with _gc_paused():
            for chunk in reader.chunks():
                state.lines_before += self._scan_chunk(chunk, self._prefilter_block(chunk), state)
        if reader.bytes_read == 0:
            raise MatchInputError("There is nothing to match: the input is empty.")
        state.lines_total = state.lines_before + (0 if reader.ended_with_newline else 1)
        notices = reader.notices
        if state.cut_lines:
            notices.append(
                f"{state.cut_lines} line{'s were' if state.cut_lines > 1 else ' was'} longer than "
                f"{size_label(reader.max_line)}; only the start of each was checked."
            )
        if state.invalid_utf8:
            notices.append("Some bytes were not valid UTF-8; they are shown as �.")
        if state.unknown.overflow:
            notices.append("There were too many different unknown errors to group them all.")
        return ScanReport(
            hits=state.hits, unknown=state.unknown.groups(), truncated=reader.truncated,
            notices=notices, bytes_read=reader.bytes_read, lines_read=state.lines_total,
        )

    def _prefilter_block(self, buf: bytes) -> tuple[list[tuple[int, int, int]], int, bool]:
        """The lines of one block the prefilter flags, its count of line breaks, and whether it is valid
        UTF-8."""
        valid = buf.isascii()
        if not valid:
            try:
                buf.decode("utf-8")
                valid = True
            except UnicodeDecodeError:
                pass
        fast = self._fast_prefilter
        found = fast.candidate_lines(buf) if valid and fast is not None else None
        if found is None:
            found = self._re2_prefilter.candidate_lines(buf)
        return found[0], found[1], valid

    def _scan_chunk(self, buf: bytes, prefiltered: tuple[list[tuple[int, int, int]], int, bool],
                    state: _ScanState) -> int:
        """Check the lines the prefilter flagged in one block of whole lines; returns how many line breaks
        the block held."""
        candidates, newlines, valid = prefiltered
        if not valid:
            state.invalid_utf8 = True
        if not candidates:
            return newlines
        max_line = state.max_line
        raw_lines = []
        for _, start, end in candidates:
            if end - start > max_line:
                state.cut_lines += 1
                end = start + max_line
            raw_lines.append(buf[start:end])
        text = b"\n".join(raw_lines).decode("utf-8", "replace")
        lines = text.split("\n")
        masked_lines = mask_text(text).split("\n")
        automaton_iter = self._anchors_in
        literal_masked, literal_pieces, literal_probes = self._literal_masked, self._literal_pieces, self._literal_probes
        pattern_set = self._pattern_set
        pattern_lines = self._pattern_lines_of(raw_lines) if pattern_set is not None else ()
        for position, (offset, start, end) in enumerate(candidates):
            masked = masked_lines[position]
            # literal index -> True for a strict match, False for a loose one
            literal_hits: dict[int, bool] = {}
            tried: set[int] = set()
            for _, indexes in automaton_iter(masked):
                for index in indexes:
                    if index in tried:
                        continue
                    tried.add(index)
                    if literal_masked[index] in masked:
                        literal_hits[index] = True
                    elif (literal_pieces[index] is not None and literal_probes[index] in masked
                          and loose_match(literal_pieces[index], masked)):
                        literal_hits[index] = False
            pattern_hits = pattern_set.Match(raw_lines[position]) if position in pattern_lines else None
            number = state.lines_before + offset + 1
            if literal_hits or pattern_hits:
                self._record(state, buf, start, end, number, lines[position], literal_hits, pattern_hits or ())
                _trace_event(state, buf, start, end)
            elif _ERROR_WORD.search(masked) and not _CALM_LEVEL.search(masked[:80]):
                line = lines[position].rstrip("\r")
                # A stack trace is one event: its frames, and the later parts of a chained trace, are context.
                if not events.near_trace(buf, start, end):
                    state.trace_block = None
                elif events.is_context(buf, start, end) or _trace_event(state, buf, start, end):
                    continue
                state.unknown.add(line[:DISPLAY_LINE_CHARS], masked, number)
        return newlines

    def _pattern_lines_of(self, raw_lines: list[bytes]) -> set[int] | range:
        """Which of these lines a pattern signature may match (checked exactly with the pattern set after):
        one search per such line over all of them joined, instead of the set on every line."""
        if self._pattern_lines is None:
            return range(len(raw_lines))
        return lines_matching(self._pattern_lines, raw_lines)

    def _record(self, state: _ScanState, buf: bytes, start: int, end: int, number: int, line: str,
                literal_hits: dict[int, bool], pattern_hits: Iterable[int]) -> None:
        by_symptom: dict[int, list[tuple[str, int]]] = {}
        for index in literal_hits:
            by_symptom.setdefault(self._literal_symptoms[index], []).append(("literal", index))
        for index in pattern_hits:
            by_symptom.setdefault(self._pattern_symptoms[index], []).append(("pattern", index))
        context = None
        for symptom_id, signatures in by_symptom.items():
            hits = state.hits.get(symptom_id)
            if hits is None:
                hits = state.hits[symptom_id] = SymptomHits(symptom_id=symptom_id)
            hits.line_count += 1
            for kind, index in signatures:
                if kind == "literal":
                    closeness = len(self._literal_masked[index])
                    # A loose match (pieces with words between them) ranks below a strict one of its size.
                    hits.specificity = max(hits.specificity, closeness if literal_hits[index] else closeness // 2)
                    hits.signature_ids.add(self._literal_ids[index])
                else:
                    hits.specificity = max(hits.specificity, _pattern_specificity(self._pattern_texts[index]))
                    hits.signature_ids.add(self._pattern_ids[index])
            if len(hits.line_numbers) < MAX_LINES_PER_SYMPTOM:
                hits.line_numbers.append(number)
            if len(hits.lines) < MAX_SHOWN_LINES_PER_SYMPTOM:
                if context is None:
                    context = _context(buf, start, end)
                hits.lines.append(LineHit(number=number, text=line.rstrip("\r")[:DISPLAY_LINE_CHARS],
                                          before=context[0], after=context[1], signatures=signatures))

    def highlight(self, hit: LineHit) -> None:
        """Find where in the line a signature matched (done only for lines that will be shown)."""
        for kind, index in hit.signatures:
            if kind == "pattern":
                regexes = (self._pattern_regexes[index],)
            else:
                regexes = self._locators.get(index)
                if regexes is None:
                    regexes = self._locators[index] = literal_locators(self._literal_masked[index])
            for regex in regexes:
                found = regex.search(hit.text)
                if found is not None and found.end() > found.start():
                    hit.highlight = (found.start(), found.end())
                    return


def _no_anchors(_text: str) -> tuple[()]:
    return ()


def _trace_event(state: _ScanState, buf: bytes, start: int, end: int) -> bool:
    """True when the line at buf[start:end] continues the stack trace an earlier line opened (only
    trace lines between them); otherwise opens a trace there if the line begins or ends one."""
    if state.trace_block is buf and state.trace_end <= start and events.trace_continues(
            buf, state.trace_end, start, end):
        state.trace_end = end + 1
        return True
    state.trace_block = None
    if events.opens_trace(buf, start, end):
        state.trace_block, state.trace_end = buf, end + 1
    return False


def _anchor_windows(pieces: list[tuple[str, bool]]) -> list[str]:
    """Candidate anchors of a masked literal: the start and end of each piece, cut to ANCHOR_CHARS.

    Each appears verbatim (up to case and whitespace) in any raw line whose masked form matches the
    literal, strictly or loosely, so scanning raw text for one of them finds every line it can match.
    """
    windows = []
    for piece, _ in pieces:
        if not piece:
            continue
        windows.append(piece[:ANCHOR_CHARS].strip())
        if len(piece) > ANCHOR_CHARS:
            windows.append(piece[-ANCHOR_CHARS:].strip())
    return [window for window in windows if window]


def _anchor_score(window: str, shared: int) -> tuple:
    """Higher is better. Long anchors, and phrases more than single words (a lone word is often a
    service or host name that is on every line), are rare in ordinary log text; an anchor many
    signatures share sends each flagged line through many checks. A doubling of sharing costs 4 chars."""
    size = len(window) if " " in window else len(window) - 12
    return len(window) >= MIN_ANCHOR_CHARS, window.isascii(), size - 4 * math.log2(shared)


def _pattern_specificity(text: str) -> int:
    """How much a pattern pins down, comparable with a literal's length: its plain characters."""
    return sum(1 for char in text if char.isalnum() or char == " ")


def _context(buf: bytes, start: int, end: int) -> tuple[list[str], list[str]]:
    """Up to CONTEXT_LINES lines either side of buf[start:end], within the same block."""
    first = start
    for _ in range(CONTEXT_LINES):
        if first <= 0:
            break
        first = buf.rfind(b"\n", 0, first - 1) + 1
    last = end
    for _ in range(CONTEXT_LINES):
        if last >= len(buf) - 1:
            break
        following = buf.find(b"\n", last + 1)
        last = len(buf) if following < 0 else following
    # A neighbour can be a huge line: only its part nearest the match is kept.
    first, last = max(first, start - 8 * CONTEXT_LINE_CHARS), min(last, end + 8 * CONTEXT_LINE_CHARS)
    before = [_display(raw) for raw in buf[first:start].split(b"\n")[:-1]] if start > first else []
    after = [_display(raw) for raw in buf[end + 1:last].split(b"\n")] if last > end + 1 else []
    return before, after


def _display(raw: bytes) -> str:
    return raw[:CONTEXT_LINE_CHARS].decode("utf-8", "replace").rstrip("\r")


# --- scan results ----------------------------------------------------------------------------------------


@dataclass
class LineHit:
    number: int
    text: str
    before: list[str]
    after: list[str]
    highlight: tuple[int, int] | None = None
    signatures: list[tuple[str, int]] = field(default_factory=list, repr=False)

    @property
    def before_numbered(self) -> list[tuple[int, str]]:
        first = self.number - len(self.before)
        return [(first + offset, text) for offset, text in enumerate(self.before)]

    @property
    def after_numbered(self) -> list[tuple[int, str]]:
        return [(self.number + 1 + offset, text) for offset, text in enumerate(self.after)]

    @property
    def parts(self) -> tuple[str, str, str]:
        """(before, highlighted, after) pieces of the line, for templates."""
        if not self.highlight:
            return "", self.text, ""
        start, end = self.highlight
        return self.text[:start], self.text[start:end], self.text[end:]


@dataclass
class SymptomHits:
    symptom_id: int
    line_count: int = 0
    specificity: int = 0
    signature_ids: set[int] = field(default_factory=set)
    line_numbers: list[int] = field(default_factory=list)
    lines: list[LineHit] = field(default_factory=list)


@dataclass
class ScanReport:
    hits: dict[int, SymptomHits]
    unknown: list[UnknownGroup]
    truncated: bool
    notices: list[str]
    bytes_read: int
    lines_read: int


@dataclass
class _ScanState:
    max_line: int
    lines_before: int = 0
    lines_total: int = 0
    cut_lines: int = 0
    invalid_utf8: bool = False
    hits: dict[int, SymptomHits] = field(default_factory=dict)
    unknown: UnknownLines = field(default_factory=UnknownLines)
    # The stack trace being read: its block and where its last known line ends (see _trace_event).
    trace_block: bytes | None = None
    trace_end: int = 0
