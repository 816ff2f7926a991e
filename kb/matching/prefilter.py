"""The prefilter: which lines of a raw block could hold a signature's anchor, a pattern or an error word.

Two implementations decide the same set of lines:

- ``Re2Prefilter``: one RE2 regex, the alternation of every anchor (ASCII-caseless, a run of spaces,
  tabs and the like where the anchor has a space), every pattern (multi-line, case-insensitive) and the
  error words. It is exact by definition and can run on anything; it is the reference.
- ``HyperscanPrefilter``: the same anchors and words as plain literals and the patterns in Hyperscan's
  prefilter mode, all found in one pass over the block, then checked so the lines are exactly those RE2
  would flag. With 10,000 signatures (``manage.py bench_match``) its pass over a block costs about two
  thirds of the CPU time of RE2's warm DFA. It is compiled in a thread after the matcher is built (the
  matcher answers through RE2 meanwhile) and used when the ``hyperscan`` package imports, the CPU
  supports it, every anchor is ASCII and every pattern is one it can take (see ``_hyperscan_pattern``);
  otherwise, and for any block where it would not be exact cheaply (invalid UTF-8, many lines with
  unusual whitespace or pattern reports), the RE2 one runs. Both only look, in linear time: neither backtracks.

Why the Hyperscan lines equal the RE2 lines:

- An anchor is a literal with single spaces. On a line whose whitespace runs are all one plain space, the
  literal matches exactly where RE2's ``[tT]...[\\t\\x0b\\x0c\\r ]+...`` does. A line with any other run
  (a tab, two spaces, a form feed, a carriage return inside the line) is flagged by a detector, its runs
  are reduced to one space and the literals are searched again in that copy: the same equivalence.
- A pattern runs in Hyperscan's prefilter mode (it may report more, never less, than the pattern on text
  where the two engines read the pattern the same way); every line it reports is checked with RE2, so
  what remains is exact. Hyperscan reads ``\\S`` without the vertical tab, and whether it folds ``k``
  to the Kelvin sign and ``s`` to the long s as RE2 does is not documented: lines holding those three
  characters are checked with RE2 whatever Hyperscan said.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
import re2

from .rules import SPACE_CLASS, re2_options

logger = logging.getLogger(__name__)

try:  # an optional accelerator: x86-64 wheels bundle the library
    import hyperscan
except ImportError:  # pragma: no cover - depends on the platform
    hyperscan = None

# Words that make a line look like an error worth showing when no signature knows it.
ERROR_WORDS = (
    "error", "exception", "fatal", "panic", "refused", "denied", "failed", "failure", "timed out",
    "timeout", "unable to", "cannot", "critical", "killed", "errno", "segfault", "out of memory",
)

_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)

Candidates = list[tuple[int, int, int]]


def _ascii_caseless(anchor: str) -> str:
    """A lower-case ASCII anchor as RE2 source that matches it in any ASCII case: ``[eE][rR]...``.

    Lower-casing each block (ASCII only) before the search matched the same and cost a copy of the
    input; RE2's own case folding would also fold k and s to the Kelvin and long-s signs, which makes
    the DFA of thousands of anchors far larger and slower.
    """
    return "".join(f"[{char}{char.upper()}]" if "a" <= char <= "z" else SPACE_CLASS if char == " "
                   else re.escape(char) for char in anchor)


# Line breaks are counted this many bytes at a time, so counting allocates little whatever the block size.
_COUNT_WINDOW = 1 << 16


def line_offsets(buf: bytes, starts: list[int]) -> tuple[list[int], int]:
    """For each line start (ascending), how many line breaks come before it; and the block's count.

    numpy compares each gap between starts in place (a view of the block, no copy) and counts; this runs
    over every byte of the input, and ``bytes.count`` over the same gaps took twice as long."""
    data = np.frombuffer(buf, np.uint8)
    count_nonzero = np.count_nonzero
    offsets = []
    counted = previous = 0
    for start in [*starts, len(buf)]:
        while previous < start:
            step = min(start, previous + _COUNT_WINDOW)
            counted += int(count_nonzero(data[previous:step] == 10))
            previous = step
        offsets.append(counted)
    return offsets[:-1], offsets[-1]


def _joined_offsets(parts: list[bytes]) -> list[int]:
    """Where each part starts in ``b"\\n".join(parts)``."""
    offsets, position = [], 0
    for part in parts:
        offsets.append(position)
        position += len(part) + 1
    return offsets


def lines_matching(regex: Any, raw_lines: list[bytes]) -> set[int]:
    """Which of these lines the RE2 regex matches inside (no match may cross a line break): one search per
    matching line over all of them joined, instead of one call per line."""
    joined = b"\n".join(raw_lines)
    starts = _joined_offsets(raw_lines)
    match = regex.Match
    found: set[int] = set()
    position, end = 0, len(joined)
    while position <= end:
        span = match(_UNANCHORED, joined, position, end)[0]
        if span == _NO_MATCH:
            break
        line = bisect.bisect_right(starts, span[0]) - 1
        found.add(line)
        if line + 1 >= len(starts):
            break
        position = starts[line + 1]
    return found


class Re2Prefilter:
    """The reference prefilter: one RE2 regex over raw bytes that flags every line a signature could match.

    The engine compiles it with the matcher: it scans while Hyperscan compiles, and every block Hyperscan
    leaves to it."""

    def __init__(self, anchors: Iterable[str], patterns: list[str]) -> None:
        self._anchors = sorted(set(anchors) | set(ERROR_WORDS))
        self._patterns = patterns
        self._regex: Any = None
        self._lock = threading.Lock()

    def compile(self) -> Any:
        if self._regex is None:
            with self._lock:
                if self._regex is None:
                    self._regex = self._compile()
        return self._regex

    def _compile(self) -> Any:
        alternatives = []
        for anchor in self._anchors:
            if anchor.isascii():
                alternatives.append(_ascii_caseless(anchor))
            else:
                # Masking lower-cased the anchor with Unicode rules; RE2's case folding finds it as written.
                escaped = re.escape(anchor).replace("\\ ", SPACE_CLASS)
                alternatives.append(f"(?i:{escaped})")
        # (?m) so ^ and $ in a pattern mean a line's ends inside a block, as they do on one line.
        alternatives += [f"(?im:{pattern})" for pattern in self._patterns]
        source = "|".join(alternatives).encode()
        # RE2's DFA needs room in proportion to the program or it silently falls back to a much slower NFA;
        # the budget is a cap that is used lazily (a 10k-signature set touches a few tens of MB).
        options = re2_options(max_mem=min(max(32 << 20, 640 * len(source)), 1 << 30))
        options.case_sensitive = True
        options.never_capture = True
        # No pattern may run across a line break: "(?s).*x" would otherwise flag every line up to the next
        # "x" and make the scan quadratic. (Anchors cannot cross one anyway.)
        options.never_nl = bool(self._patterns)
        # The class, not re2.compile(): that keeps the last 128 regexes in an LRU cache, stale matchers too.
        return re2._Regexp(source, options)._regexp

    def candidate_lines(self, buf: bytes) -> tuple[Candidates, int]:
        """(line offset in the block, line start, line end) of every line the prefilter flags, and the
        block's count of line breaks."""
        match = self.compile().Match
        spans = []
        position, end = 0, len(buf)
        while position < end:
            span = match(_UNANCHORED, buf, position, end)[0]
            if span == _NO_MATCH:
                break
            newline = buf.rfind(b"\n", position, span[0])
            line_start = position if newline < 0 else newline + 1
            line_end = buf.find(b"\n", span[0])
            if line_end < 0:
                line_end = end
            spans.append((line_start, line_end))
            position = line_end + 1
        offsets, newlines = line_offsets(buf, [start for start, _ in spans])
        return [(offset, start, end) for offset, (start, end) in zip(offsets, spans, strict=True)], newlines


# --- Hyperscan ------------------------------------------------------------------------------------------

# A pattern is given to Hyperscan only when both engines read it alike on the lines it is trusted with:
# ASCII text (Hyperscan folds only ASCII case here), no escape that names a non-ASCII character or a
# Unicode class (\x.., \p, \P, octal), no single-byte \C, no construct whose position in the block
# matters (\A, \z, multi-line mode turned off), and nothing RE2 reads differently from PCRE.
_NOT_FOR_HYPERSCAN = re.compile(r"\\[xpPC0-7AzZ]|\(\?[imsU]*-[imsU]*m|\(\?[ims]*U")

# Detectors, by kind: a whitespace run other than one plain space (anchors must be searched again on a
# copy with single spaces); characters Hyperscan and RE2 may read differently in a pattern (the vertical
# tab for \S, the Kelvin sign and the long s for case folding).
_ODD_SPACE = (rb"[\t\x0c]", rb" [\t\x0b\x0c\r ]", rb"\r[^\n]")
_VERTICAL_TAB = rb"\x0b"
_ODD_FOR_PATTERNS = (rb"\xe2\x84\xaa", rb"\xc5\xbf")
_SPACE_RUN = re.compile(rb"[\t\x0b\x0c\r ]+")

_LITERAL, _PATTERN, _ODD_SPACE_KIND, _ODD_PATTERN_KIND = 1, 2, 4, 8


def _hyperscan_pattern(text: str) -> bool:
    return text.isascii() and not _NOT_FOR_HYPERSCAN.search(text)


class _FallBack(Exception):
    """This block is scanned by the RE2 prefilter instead."""


class HyperscanBuild:
    """A HyperscanPrefilter compiled in a thread (Hyperscan lets go of the GIL while it compiles), so a
    new matcher answers at once through RE2 and moves to Hyperscan when it is ready."""

    def __init__(self, anchors: Iterable[str], patterns: list[str], pattern_check: Any) -> None:
        """``pattern_check``: an RE2 regex of every pattern that finds the lines one matches in lines
        joined by line breaks (None when there are no patterns, or when it cannot be built)."""
        self._anchors = sorted(set(anchors) | set(ERROR_WORDS))
        self._patterns = patterns
        self._pattern_check = pattern_check
        self.result: HyperscanPrefilter | None = None
        self.done = threading.Event()
        usable = hyperscan is not None and all(anchor.isascii() for anchor in self._anchors) and (not patterns or (
            pattern_check is not None and all(_hyperscan_pattern(text) for text in patterns)))
        if usable:
            threading.Thread(target=self._compile, name="hyperscan-compile", daemon=True).start()
        else:
            self.done.set()

    def _compile(self) -> None:
        try:
            self.result = self._build()
        except Exception as error:  # a pattern Hyperscan refuses, no memory, an unsupported CPU
            logger.info("matcher: Hyperscan cannot take these signatures (%s); RE2 scans instead", error)
        finally:
            self.done.set()

    def _build(self) -> HyperscanPrefilter:
        """One database: the literals first, then the patterns and the detectors (one pass over a block
        costs less than two over two smaller databases)."""
        pattern_flags = (hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_UTF8
                         | hyperscan.HS_FLAG_PREFILTER)
        expressions = [(_literal_source(anchor), hyperscan.HS_FLAG_CASELESS, _LITERAL) for anchor in self._anchors]
        expressions += [(text.encode(), pattern_flags, _PATTERN) for text in self._patterns]
        expressions += [(source, 0, _ODD_SPACE_KIND) for source in _ODD_SPACE]
        if self._patterns:
            expressions.append((_VERTICAL_TAB, 0, _ODD_SPACE_KIND | _ODD_PATTERN_KIND))
            expressions += [(source, 0, _ODD_PATTERN_KIND) for source in _ODD_FOR_PATTERNS]
        else:
            expressions.append((_VERTICAL_TAB, 0, _ODD_SPACE_KIND))
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(expressions=[source for source, _, _ in expressions], ids=list(range(len(expressions))),
                         elements=len(expressions), flags=[flag for _, flag, _ in expressions])
        return HyperscanPrefilter(database, [kind for _, _, kind in expressions], len(self._anchors),
                                  self._pattern_check)


def _literal_source(anchor: str) -> bytes:
    """An ASCII anchor as a Hyperscan regex of exactly its characters (case comes from the flags)."""
    return "".join(char if char.isalnum() else f"\\x{ord(char):02x}" for char in anchor).encode()


class HyperscanPrefilter:
    """Every anchor, error word, pattern and detector in one Hyperscan database; see the module
    docstring."""

    def __init__(self, database: Any, kinds: list[int], literal_count: int, pattern_check: Any) -> None:
        self._database = database
        self._kinds = kinds
        self._literal_count = literal_count
        self._pattern_check = pattern_check
        self._local = threading.local()

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch

    def candidate_lines(self, buf: bytes) -> tuple[Candidates, int] | None:
        """As Re2Prefilter.candidate_lines, or None when this block is better left to it."""
        try:
            lines = self._lines(buf)
        except _FallBack:
            return None
        starts = sorted(lines)
        offsets, newlines = line_offsets(buf, starts)
        return [(offset, start, lines[start]) for offset, start in zip(offsets, starts, strict=True)], newlines

    def _lines(self, buf: bytes) -> dict[int, int]:
        """Start -> end of every line the RE2 prefilter would flag."""
        ends: list[int] = []
        ids: list[int] = []
        literal_count = self._literal_count
        # Past about one pattern or detector report per 256 bytes (a pattern reports every place a match
        # may end: each byte of a trailing \S+), the lines to look at again would cost more than RE2 over
        # the whole block: the block is left to it.
        budget = [max(64, len(buf) >> 8)]

        def on_match(expression: int, _start: int, end: int, _flags: int, _context: Any) -> bool | None:
            ends.append(end)
            ids.append(expression)
            if expression >= literal_count:
                budget[0] -= 1
                if budget[0] < 0:
                    return True
            return None

        try:
            self._database.scan(buf, match_event_handler=on_match, scratch=self._scratch())
        except hyperscan.ScanTerminated as stopped:
            raise _FallBack from stopped
        flagged: dict[int, int] = {}
        # Start -> [end, kinds] of each line a pattern or a detector reported.
        reported: dict[int, list[int]] = {}
        kinds = self._kinds
        line_start = line_end = -1
        for end, expression in zip(ends, ids, strict=True):
            last = end - 1
            if not line_start <= last <= line_end:
                line_start = buf.rfind(b"\n", 0, last) + 1
                line_end = buf.find(b"\n", last)
                if line_end < 0:
                    line_end = len(buf)
            if expression < literal_count:
                flagged[line_start] = line_end
            else:
                reported.setdefault(line_start, [line_end, 0])[1] |= kinds[expression]
        if not reported:
            return flagged
        recheck_space = [start for start, (_, kind) in reported.items() if kind & _ODD_SPACE_KIND and start not in flagged]
        if recheck_space:
            self._literals_in_single_spaced(buf, recheck_space, reported, flagged)
        if self._pattern_check is not None:
            check = [start for start, (_, kind) in reported.items()
                     if kind & (_PATTERN | _ODD_PATTERN_KIND) and start not in flagged]
            if check:
                raw = [buf[start:reported[start][0]] for start in check]
                for index in lines_matching(self._pattern_check, raw):
                    flagged[check[index]] = reported[check[index]][0]
        return flagged

    def _literals_in_single_spaced(self, buf: bytes, starts: list[int], reported: dict[int, list[int]],
                                   flagged: dict[int, int]) -> None:
        """Flag those of these lines whose copy with every whitespace run made one space holds an anchor
        or an error word."""
        copies = [_SPACE_RUN.sub(b" ", buf[start:reported[start][0]]) for start in starts]
        offsets = _joined_offsets(copies)
        literal_count = self._literal_count
        found: set[int] = set()

        def on_match(expression: int, _start: int, end: int, _flags: int, _context: Any) -> None:
            if expression < literal_count:
                found.add(bisect.bisect_right(offsets, end - 1) - 1)

        self._database.scan(b"\n".join(copies), match_event_handler=on_match, scratch=self._scratch())
        for index in found:
            flagged[starts[index]] = reported[starts[index]][0]
