"""The log matcher: which known symptoms does this text contain, on which lines, and what fixed them.

How one scan works (memory stays bounded by the block size whatever the input size):

1. The input is read in 1 MiB blocks (gzip is detected by its magic bytes and decompressed as it is
   read); input past ``TRIAGE_MATCH_MAX_BYTES`` is not read and lines past
   ``TRIAGE_MATCH_MAX_LINE_BYTES`` are cut, each with a notice.
2. One RE2 regex, the *prefilter*, runs over each raw block (bytes, case-insensitive, a DFA in C++):
   it is the alternation of every literal signature's anchor (its longest run without a masked part),
   every RE2 pattern signature and a few error words. Only lines it flags go further, which on a
   normal log is a few in a hundred.
3. The flagged lines are masked in one batch (kb.masking) and fed to an Aho-Corasick automaton of
   every masked literal signature; pattern signatures are confirmed line by line with an RE2 Set.
4. Error-looking lines that nothing matched are grouped into templates with Drain (drain3).

All signatures are compiled into one ``Matcher`` per knowledge-base version and kept per process;
``knowledge_version()`` tells a process (web or worker) that its copy is stale.

User-written patterns only ever run in RE2 (linear time), never in Python's ``re``.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import logging
import math
import re
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ahocorasick
import re2
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Coalesce
from drain3.drain import Drain

from .hooks import trees_for_symptoms
from .masking import (
    MASK,
    SEPARATORS,
    distinctive_letters,
    literal_anchor,
    mask_line,
    mask_text,
    signature_pieces,
    strip_log_prefix,
)
from .models import Article, Severity, Signature, Solution, Symptom, SymptomSolution
from .selectors import article_visible_q

logger = logging.getLogger(__name__)

READ_BLOCK = 1 << 20
MAX_SYMPTOMS = 25
# Per symptom: this many line numbers, and the text and context of the first few of them. Together with
# the caps below this bounds memory by the size of the knowledge base, never by the size of the input.
MAX_LINES_PER_SYMPTOM = 50
MAX_SHOWN_LINES_PER_SYMPTOM = 5
MAX_UNKNOWN_GROUPS = 20
# Distinct unknown lines kept for clustering; more would only cost time, not change the picture.
MAX_UNKNOWN_DISTINCT = 2000
CONTEXT_LINES = 2
DISPLAY_LINE_CHARS = 1000
CONTEXT_LINE_CHARS = 300
MIN_SIGNATURE_LETTERS = 6
# The prefilter looks for this much of each anchor: enough to be selective, short enough to compile fast.
ANCHOR_CHARS = 24
# Shorter anchors are common in ordinary text and would flag too many lines for checking.
MIN_ANCHOR_CHARS = 8
# How far apart the pieces of a loosely matching literal may be, in characters of the masked line.
LOOSE_GAP = 80

# Words that make a line look like an error worth showing when no signature knows it.
ERROR_WORDS = (
    "error", "exception", "fatal", "panic", "refused", "denied", "failed", "failure", "timed out",
    "timeout", "unable to", "cannot", "critical", "killed", "errno", "segfault", "out of memory",
)
_ERROR_WORD_SET = frozenset(ERROR_WORDS)
_CALM_LEVEL = re.compile(r"(?:^|[\s\[(|<])(?:info|debug|trace|notice)(?:[\s\])|>:]|$)")
_SPACE_CLASS = r"[\t\x0b\x0c\r ]+"
_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)
_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}

_BINARY_MAGIC = (b"PK\x03\x04", b"\x7fELF", b"%PDF-", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff",
                 b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_GZIP_MAGIC = b"\x1f\x8b"
# Control bytes that never occur in text (tab, newlines, form feed and ESC for colour codes do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"


def max_input_bytes() -> int:
    return int(getattr(settings, "TRIAGE_MATCH_MAX_BYTES", 50 * 1024 * 1024))


def max_line_bytes() -> int:
    return int(getattr(settings, "TRIAGE_MATCH_MAX_LINE_BYTES", 64 * 1024))


def _size_label(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} kB"
    return f"{n} bytes"


class MatchInputError(Exception):
    """Input we will not scan (binary, empty, not really gzip); ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- compiling signatures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureSpec:
    id: int
    symptom_id: int
    kind: str
    text: str


def re2_options(*, max_mem: int | None = None) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    if max_mem:
        options.max_mem = max_mem
    return options


def re2_error_reason(error: Exception) -> str:
    reason = error.args[0] if error.args else str(error)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return str(reason)


def pattern_compile(text: str) -> Any:
    """Compile a user's pattern with RE2 (case-insensitive); raises ``re2.error`` with RE2's reason."""
    return re2.compile(text, re2_options())


def literal_problem(text: str) -> str | None:
    """Why a literal cannot be a signature, or None when it can."""
    masked = mask_line(text)
    if not masked:
        return "A literal signature cannot be empty."
    if "\n" in text.strip():
        return "A signature matches one line; remove the line breaks."
    if distinctive_letters(masked) < MIN_SIGNATURE_LETTERS or not literal_anchor(masked):
        return (
            "Too generic: once numbers, ids, hosts, ports and paths are masked, too little is left "
            f"(“{masked}”). Include more of the message."
        )
    return None


def pattern_problem(text: str) -> str | None:
    """Why a pattern cannot be a signature (RE2 refuses it, or it matches everything), or None."""
    if not text.strip():
        return "A pattern cannot be empty."
    try:
        compiled = pattern_compile(text)
    except re2.error as error:
        return f"RE2 cannot compile this pattern: {re2_error_reason(error)}."
    if compiled.search("") is not None:
        return "This pattern matches an empty line, so it would match every line."
    return None


def signature_matches_line(*, kind: str, text: str, line: str) -> bool:
    """Whether one signature matches one line, exactly as the engine decides it."""
    if kind == Signature.Kind.PATTERN:
        return pattern_compile(text).search(line) is not None
    needle, masked = mask_line(text), mask_line(line)
    if not needle:
        return False
    if needle in masked:
        return True
    pieces = signature_pieces(needle)
    return len(pieces) > 1 and _loose_match(tuple(pieces), masked)


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


def _prefilter_compile(anchors: Iterable[str], patterns: list[str]) -> Any:
    """One RE2 regex over lower-cased raw bytes that flags every line a signature could match."""
    alternatives = []
    for anchor in sorted(set(anchors) | set(ERROR_WORDS)):
        escaped = re.escape(anchor).replace("\\ ", _SPACE_CLASS)
        # Input is lower-cased byte by byte (ASCII only), so non-ASCII letters need RE2's case folding.
        alternatives.append(escaped if anchor.isascii() else f"(?i:{escaped})")
    # (?m) so ^ and $ in a pattern mean a line's ends inside a block, as they do on one line.
    alternatives += [f"(?im:{pattern})" for pattern in patterns]
    source = "|".join(alternatives).encode()
    # RE2's DFA needs room in proportion to the program or it silently falls back to a much slower NFA;
    # the budget is a cap that is used lazily (a 10k-signature set touches a few tens of MB).
    options = re2_options(max_mem=min(max(32 << 20, 640 * len(source)), 1 << 30))
    options.case_sensitive = True
    options.never_capture = True
    # No pattern may run across a line break: "(?s).*x" would otherwise flag every line up to the next
    # "x" and make the scan quadratic. (Anchors cannot cross one anyway.)
    options.never_nl = bool(patterns)
    # The class, not re2.compile(): that keeps the last 128 regexes in an LRU cache, stale matchers too.
    return re2._Regexp(source, options)._regexp


class Matcher:
    """Every signature of the knowledge base compiled once: prefilter, anchor automaton and pattern set.

    Per-signature data is kept in parallel lists of plain strings and ints rather than one object per
    signature: the garbage collector does not track those, so a big matcher does not slow down every
    collection in the process.
    """

    def __init__(self, signatures: Iterable[SignatureSpec], *, version: str = "") -> None:
        with _gc_paused():
            self._build(signatures, version=version)

    def _build(self, signatures: Iterable[SignatureSpec], *, version: str) -> None:
        self.version = version
        self.skipped: list[tuple[int, str]] = []
        self._literal_ids: list[int] = []
        self._literal_symptoms: list[int] = []
        self._literal_masked: list[str] = []
        # For the loose comparison: the pieces of a literal, or None when it has only one.
        self._literal_pieces: list[tuple[tuple[str, bool], ...] | None] = []
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
        if self.skipped:
            logger.warning("matcher: %d signatures skipped, e.g. %s", len(self.skipped), self.skipped[:3])

        # Anchors (and error words) -> the literals that contain them; a hit is confirmed with `in`.
        automaton = ahocorasick.Automaton()
        for anchor, indexes in by_anchor.items():
            automaton.add_word(anchor, (tuple(indexes), anchor in _ERROR_WORD_SET))
        for word in ERROR_WORDS:
            if word not in by_anchor:
                automaton.add_word(word, ((), True))
        automaton.make_automaton()
        self._automaton = automaton

        self._pattern_set = None
        if self._pattern_texts:
            pattern_set = re2.Set.SearchSet(re2_options())
            for text in self._pattern_texts:
                pattern_set.Add(text)
            pattern_set.Compile()
            self._pattern_set = pattern_set
        self._prefilter = _prefilter_compile(by_anchor, self._pattern_texts)

    @property
    def size(self) -> int:
        return len(self._literal_ids) + len(self._pattern_ids)

    # --- scanning ---------------------------------------------------------------------------------

    def scan(self, stream: IO[bytes], *, max_bytes: int | None = None, max_line: int | None = None) -> ScanReport:
        """Scan a binary stream (plain or gzip) and report what matched where; see the module docstring."""
        reader = _BlockReader(stream, max_bytes=max_bytes or max_input_bytes(),
                              max_line=max_line or max_line_bytes())
        state = _ScanState(max_line=reader.max_line)
        with _gc_paused():
            for chunk in reader.chunks():
                state.lines_before += self._scan_chunk(chunk, state)
        if reader.bytes_read == 0:
            raise MatchInputError("There is nothing to match: the input is empty.")
        state.lines_total = state.lines_before + (0 if reader.ended_with_newline else 1)
        notices = reader.notices
        if state.cut_lines:
            notices.append(
                f"{state.cut_lines} line{'s were' if state.cut_lines > 1 else ' was'} longer than "
                f"{_size_label(reader.max_line)}; only the start of each was checked."
            )
        if state.invalid_utf8:
            notices.append("Some bytes were not valid UTF-8; they are shown as �.")
        if state.unknown_overflow:
            notices.append("There were too many different unknown errors to group them all.")
        return ScanReport(
            hits=state.hits, unknown=_cluster_unknown(state.unknown), truncated=reader.truncated,
            notices=notices, bytes_read=reader.bytes_read, lines_read=state.lines_total,
        )

    def _scan_chunk(self, buf: bytes, state: _ScanState) -> int:
        """Scan one block of whole lines; returns how many line breaks it held."""
        if not state.invalid_utf8 and not buf.isascii():
            try:
                buf.decode("utf-8")
            except UnicodeDecodeError:
                state.invalid_utf8 = True
        candidates, newlines = self._candidate_lines(buf)
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
        automaton_iter = self._automaton.iter
        literal_masked, literal_pieces = self._literal_masked, self._literal_pieces
        pattern_set = self._pattern_set
        for position, (offset, start, end) in enumerate(candidates):
            masked = masked_lines[position]
            # literal index -> True for a strict match, False for a loose one
            literal_hits: dict[int, bool] = {}
            tried: set[int] = set()
            error_word = False
            for _, (indexes, is_error_word) in automaton_iter(masked):
                error_word = error_word or is_error_word
                for index in indexes:
                    if index in tried:
                        continue
                    tried.add(index)
                    if literal_masked[index] in masked:
                        literal_hits[index] = True
                    elif literal_pieces[index] is not None and _loose_match(literal_pieces[index], masked):
                        literal_hits[index] = False
            pattern_hits = pattern_set.Match(raw_lines[position]) if pattern_set is not None else None
            number = state.lines_before + offset + 1
            if literal_hits or pattern_hits:
                self._record(state, buf, start, end, number, lines[position], literal_hits, pattern_hits or ())
            elif error_word and not _CALM_LEVEL.search(masked[:80]):
                state.add_unknown(lines[position], masked, number)
        return newlines

    def _candidate_lines(self, buf: bytes) -> tuple[list[tuple[int, int, int]], int]:
        """(line offset in the block, line start, line end) of every line the prefilter flags, and the
        block's count of line breaks (counted on the way, so the block is counted once)."""
        match = self._prefilter.Match
        lowered = buf.lower()
        found = []
        position, end = 0, len(buf)
        line_offset = counted = 0
        while position < end:
            span = match(_UNANCHORED, lowered, position, end)[0]
            if span == _NO_MATCH:
                break
            newline = buf.rfind(b"\n", position, span[0])
            line_start = position if newline < 0 else newline + 1
            line_end = buf.find(b"\n", span[0])
            if line_end < 0:
                line_end = end
            line_offset += buf.count(b"\n", counted, line_start)
            counted = line_start
            found.append((line_offset, line_start, line_end))
            position = line_end + 1
        return found, line_offset + buf.count(b"\n", counted)

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
                    regexes = self._locators[index] = _literal_locators(self._literal_masked[index])
            for regex in regexes:
                found = regex.search(hit.text)
                if found is not None and found.end() > found.start():
                    hit.highlight = (found.start(), found.end())
                    return


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


def _loose_match(pieces: tuple[tuple[str, bool], ...], line: str) -> bool:
    """The pieces in order, at most LOOSE_GAP characters apart; where the signature had a variable part
    (between pieces, before the first or after the last) the line must have one too."""
    first, variable_first = pieces[0]
    start = line.find(first)
    for _ in range(5):  # a few occurrences of the first piece, not all of a pathological line
        if start < 0:
            return False
        if not variable_first or MASK in line[max(0, start - LOOSE_GAP):start]:
            position, matched = start + len(first), True
            for piece, variable in pieces[1:]:
                if not piece:  # the signature ends with a variable part
                    matched = MASK in line[position:position + LOOSE_GAP]
                    break
                found = line.find(piece, position)
                if found < 0 or found - position > LOOSE_GAP or (variable and MASK not in line[position:found]):
                    matched = False
                    break
                position = found + len(piece)
            if matched:
                return True
        start = line.find(first, start + 1)
    return False


def _pattern_specificity(text: str) -> int:
    """How much a pattern pins down, comparable with a literal's length: its plain characters."""
    return sum(1 for char in text if char.isalnum() or char == " ")


def _literal_locators(masked: str) -> tuple[Any, Any]:
    """RE2 regexes that find where a masked literal sits in the raw line, for highlighting: the strict
    shape (each placeholder one variable token) and the loose one (pieces with a few words between)."""
    token = f"[^{SEPARATORS}]+"
    strict = []
    for part in re.split(f"({re.escape(MASK)})", masked):
        if part == MASK:
            strict.append(token)
        elif part:
            strict.append(re.escape(part).replace("\\ ", _SPACE_CLASS))
    pieces = signature_pieces(masked)
    loose = f".{{0,{LOOSE_GAP * 2}}}?".join(
        re.escape(piece).replace("\\ ", _SPACE_CLASS) for piece, _ in pieces if piece)
    if pieces and pieces[0][1]:
        loose = f"{token}[\\t ]*{loose}"
    if pieces and pieces[-1] == ("", True):
        loose = f"{loose}[\\t ]*{token}"
    return re2.compile("".join(strict), re2_options()), re2.compile(loose, re2_options())


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


# --- reading input -----------------------------------------------------------------------------------


class _BlockReader:
    """Blocks of whole lines from a plain or gzip stream, within the byte and line limits."""

    def __init__(self, stream: IO[bytes], *, max_bytes: int, max_line: int) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.max_line = max_line
        self.bytes_read = 0
        self.truncated = False
        self.ended_with_newline = True
        self.notices: list[str] = []
        self._nul_bytes = 0

    def _source(self) -> IO[bytes]:
        head = self.stream.read(2)
        try:
            self.stream.seek(0)
        except (AttributeError, OSError) as error:
            raise MatchInputError("The upload could not be read.") from error
        if head == _GZIP_MAGIC:
            return gzip.GzipFile(fileobj=self.stream, mode="rb")
        return self.stream

    def _blocks(self) -> Iterator[bytes]:
        source = self._source()
        compressed = source is not self.stream
        first = True
        while True:
            remaining = self.max_bytes - self.bytes_read
            try:
                # One byte past the limit tells "exactly at the limit" from "more than the limit".
                block = source.read(min(READ_BLOCK, remaining + 1))
            except (OSError, EOFError, zlib.error) as error:
                if self.bytes_read == 0:
                    raise MatchInputError("This file looks compressed (gzip) but cannot be decompressed.") from error
                self.notices.append("The compressed file is damaged; only the part before the damage was checked.")
                return
            if not block:
                return
            if len(block) > remaining:
                block = block[:remaining]
                self.truncated = True
            if first:
                _refuse_binary(block)
                first = False
            if b"\x00" in block:
                self._nul_bytes += block.count(b"\x00")
                block = block.replace(b"\x00", b"")
            self.bytes_read += len(block)
            if block:
                yield block
            if self.truncated:
                what = "decompressed input" if compressed else "input"
                self.notices.append(
                    f"The {what} is larger than {_size_label(self.max_bytes)}; only the first "
                    f"{_size_label(self.max_bytes)} were checked."
                )
                return

    def chunks(self) -> Iterator[bytes]:
        """Blocks of whole lines, about READ_BLOCK long. Small pieces are joined (so a short input is one
        block and every line of it has its neighbours as context), and so is a cut line with its end."""
        held = b""
        for piece in self._pieces():
            if held and held.endswith(b"\n") and len(held) + len(piece) > READ_BLOCK:
                yield held
                held = piece
            else:
                held += piece
        if held:
            yield held

    def _pieces(self) -> Iterator[bytes]:
        """Blocks ending at a line break; a line longer than max_line is cut and the rest skipped."""
        tail = b""
        skipping = False
        cut_count = 0
        for block in self._blocks():
            if skipping:
                newline = block.find(b"\n")
                if newline < 0:
                    continue
                block = block[newline:]  # the newline ends the line that was cut
                skipping = False
            data = tail + block if tail else block
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > self.max_line:
                    cut_count += 1
                    yield data[:self.max_line]
                    tail, skipping = b"", True
                else:
                    tail = data
                continue
            tail = data[cut + 1:]
            yield data[:cut + 1]
            if len(tail) > self.max_line:
                cut_count += 1
                yield tail[:self.max_line]
                tail, skipping = b"", True
        if tail:
            self.ended_with_newline = False
            yield tail
        elif skipping:
            self.ended_with_newline = False
        if cut_count:
            self.notices.append(
                f"{cut_count} line{'s were' if cut_count > 1 else ' was'} longer than {_size_label(self.max_line)}; "
                "only the start of each was checked."
            )
        if self._nul_bytes:
            self.notices.append(f"{self._nul_bytes} NUL byte{'s were' if self._nul_bytes > 1 else ' was'} ignored.")


def _refuse_binary(sample: bytes) -> None:
    sample = sample[:8192]
    if sample.startswith(_UTF16_BOMS):
        raise MatchInputError("This file is UTF-16 text; save it as UTF-8 and try again.")
    if sample.startswith(_BINARY_MAGIC):
        raise MatchInputError("This looks like a binary file (an archive, image or program), not a log.")
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > len(sample) * 0.1:
        raise MatchInputError("This looks like a binary file, not a log: it is full of control bytes.")
    decoded = sample.decode("utf-8", "replace")
    if decoded.count("\ufffd") > len(decoded) * 0.3:
        raise MatchInputError("This looks like a binary file, not text: most of it is not valid UTF-8.")


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
class UnknownGroup:
    template: str
    count: int
    example: str
    first_line: int
    suggestion: str


@dataclass
class ScanReport:
    hits: dict[int, SymptomHits]
    unknown: list[UnknownGroup]
    truncated: bool
    notices: list[str]
    bytes_read: int
    lines_read: int


@dataclass
class _UnknownLine:
    example: str
    first_line: int
    count: int = 0


@dataclass
class _ScanState:
    max_line: int
    lines_before: int = 0
    lines_total: int = 0
    cut_lines: int = 0
    invalid_utf8: bool = False
    unknown_overflow: bool = False
    hits: dict[int, SymptomHits] = field(default_factory=dict)
    unknown: dict[str, _UnknownLine] = field(default_factory=dict)

    def add_unknown(self, line: str, masked: str, number: int) -> None:
        key = _MASKED_LOG_PREFIX.sub("", masked, count=1).strip()
        if not key:
            return
        entry = self.unknown.get(key)
        if entry is None:
            if len(self.unknown) >= MAX_UNKNOWN_DISTINCT:
                self.unknown_overflow = True
                return
            message = strip_log_prefix(line.rstrip("\r")[:DISPLAY_LINE_CHARS])
            entry = self.unknown[key] = _UnknownLine(example=message, first_line=number)
        entry.count += 1


# The same clutter as kb.masking's log prefix, on an already masked line (timestamps are "#" there).
_MASKED_LOG_PREFIX = re.compile(
    r"^\s*(?:(?:#|-|\||\[[^\] ]*\]:?|[\[(<]?(?:trace|debug|info|notice|warn|warning|error|err|critical|crit|fatal"
    r"|severe)[\])>]?:?)\s+)*"
)


def _cluster_unknown(lines: dict[str, _UnknownLine]) -> list[UnknownGroup]:
    """Group distinct unknown lines into Drain templates, biggest groups first."""
    if not lines:
        return []
    drain = Drain(sim_th=0.5, depth=4, max_children=100, max_clusters=500, param_str="<*>")
    groups: dict[int, dict[str, Any]] = {}
    for key, entry in lines.items():
        cluster, _ = drain.add_log_message(key.replace(MASK, "<*>"))
        group = groups.setdefault(cluster.cluster_id, {"count": 0, "example": entry.example,
                                                       "first_line": entry.first_line, "cluster": cluster})
        group["count"] += entry.count
        if entry.first_line < group["first_line"]:
            group["first_line"], group["example"] = entry.first_line, entry.example
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["first_line"]))[:MAX_UNKNOWN_GROUPS]
    return [
        UnknownGroup(template=g["cluster"].get_template(), count=g["count"], example=g["example"],
                     first_line=g["first_line"], suggestion=g["example"][:500])
        for g in ordered
    ]


# --- the knowledge-base version and the per-process matcher --------------------------------------------

_VERSION_KEY = "kb:matcher:version"
_matcher_lock = threading.Lock()
_matcher: Matcher | None = None


def knowledge_version_bump() -> None:
    """Tell every process that signatures changed (the database fingerprint usually tells it too)."""
    try:
        cache.set(_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # a cache outage must not fail a write; the DB fingerprint still changes
        logger.warning("matcher: could not bump the version key in the cache", exc_info=True)


def knowledge_version() -> str:
    """A short key that changes whenever any signature is added, removed or changed."""
    try:
        token = cache.get(_VERSION_KEY) or "-"
    except Exception:
        token = "?"
    # Adding or deleting a signature (the importer bulk-creates and deletes) moves count, max id or
    # newest timestamp; changing one in place goes through signature_save, which touches its symptom's
    # updated_at (inside the same transaction, so a rollback undoes that too) and moves the cache token.
    facts = Signature.objects.aggregate(
        count=Count("id"), top=Max("id"), newest=Max("created_at"),
        patterns=Count("id", filter=Q(kind=Signature.Kind.PATTERN)),
    )
    touched = Symptom.objects.aggregate(latest=Max("updated_at"))["latest"]
    stamps = "/".join(value.isoformat() if value else "-" for value in (facts["newest"], touched))
    return f"{token}:{facts['count']}:{facts['top']}:{facts['patterns']}:{stamps}"


def matcher_build(*, version: str = "") -> Matcher:
    rows = Signature.objects.values_list("id", "symptom_id", "kind", "text").order_by("id")
    return Matcher((SignatureSpec(*row) for row in rows.iterator(chunk_size=2000)), version=version)


def matcher_current() -> Matcher:
    """This process's matcher, rebuilt when the knowledge-base version moved on."""
    global _matcher
    version = knowledge_version()
    current = _matcher
    if current is not None and current.version == version:
        return current
    with _matcher_lock:
        if _matcher is None or _matcher.version != version:
            started = time.perf_counter()
            _matcher = matcher_build(version=version)
            logger.info("matcher: built %d signatures in %.0f ms", _matcher.size,
                        (time.perf_counter() - started) * 1000)
        return _matcher


def matcher_reset() -> None:
    global _matcher
    with _matcher_lock:
        _matcher = None


# --- matching against the knowledge base -------------------------------------------------------------


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
