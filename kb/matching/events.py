"""Events: a traceback or stack trace is one event, its frame lines are context.

The engine only looks closely at lines its prefilter flags, so these checks run on a few lines of a
block and their neighbours, never on every line. Recognised shapes:

- Python: ``Traceback (most recent call last):``, ``  File "x.py", line 3, in f`` and the code under
  it, chained with ``During handling of the above exception ...``, ending in ``ValueError: ...``;
- Java: ``Exception in thread "main" ...``, ``\\tat a.b.C.m(C.java:10)``, ``Caused by: ...``, ``... 3 more``;
- Node: ``    at fn (/app/x.js:10:5)`` under ``TypeError: ...``;
- Go: ``panic: ...``, ``goroutine 1 [running]:``, ``main.main()``, ``\\t/app/main.go:12 +0x1d``;
- .NET: ``   at Name.Space.Type.Method() in C:\\x.cs:line 12``, ``--- End of inner exception stack trace ---``.
"""

from __future__ import annotations

import re

# Only this much of a line is looked at: enough for any frame, and no regex runs over a huge line.
LOOK_BYTES = 400

# A line that is only a frame of a stack trace: never an error of its own. (Bytes patterns, matched in
# place in the block with pos/endpos: nothing is decoded or copied.)
_FRAME = re.compile(
    rb"""(?:
        \s*File\ "[^"]*",\ line\ \d+                                   # Python
      | \s+at\ \S[^\n]*(?:\([^\n]*\)|:\d+(?::\d+)?\)?|\ in\ [^\n]*:line\ \d+)\s*$  # Java, Node, .NET
      | \s*at\ [\w$.<>/]+\([^)\n]*\)\s*$                               # Java without indent
      | \s*\.\.\.\ \d+\ (?:more|common\ frames\ omitted)\s*$           # Java
      | \s*---\ End\ of\ (?:inner\ exception\ )?stack\ trace           # .NET
      | goroutine\ \d+\ \[[^\]\n]*\]:\s*$                              # Go
      | \s+\S+\.go:\d+(?:\ \+0x[0-9a-f]+)?\s*$                         # Go
      | created\ by\ \S                                                # Go
      | [\w./*()%-]+\([^()\n]*\)\s*$                                   # Go function line: main.main()
    )""",
    re.VERBOSE,
)
# Lines that open a trace or join two parts of one.
_HEADER = re.compile(
    rb"(?:Traceback \(most recent call last\):|Exception in thread |Caused by: |panic: |Unhandled exception\. "
    rb"|\s*---> |During handling of the above exception|The above exception was the direct cause)"
)
# Trace headers that say nothing of the error itself.
_BARE_HEADER = re.compile(
    r"(?:Traceback \(most recent call last\):|During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:|goroutine \d+ \[[^\]]*\]:)\s*$"
)
# Under a Python frame comes its source line and sometimes a ``^^^^`` marker, both indented.
_INDENTED = re.compile(rb"(?: {2,}|\t)\S")
# The three kinds in one regex, tried in this order, so one match tells what a neighbouring line is.
_KIND = re.compile(
    b"(?P<frame>" + _FRAME.pattern + b")|(?P<header>(?-x:" + _HEADER.pattern + b"))|(?P<indented>(?-x:"
    + _INDENTED.pattern + b"))", re.VERBOSE)


# How every line of a trace begins (a Go function line follows "goroutine ..." or a "\t/x.go" line, and
# is followed by one): the quick test that lets ordinary lines skip the checks below.
_TRACE_STARTS = (b" ", b"\t", b"Traceback", b"Exception in thread", b"Caused by", b"panic:", b"Unhandled exception",
                 b"During handling", b"The above exception", b"goroutine ", b"created by", b"at ")


def near_trace(buf: bytes, start: int, end: int) -> bool:
    """False when neither the line buf[start:end] nor the lines either side of it can be part of a stack
    trace: then it is an event of its own and no trace goes on through it (the usual case)."""
    if buf.startswith(_TRACE_STARTS, start):
        return True
    if start > 0 and buf.startswith(_TRACE_STARTS, buf.rfind(b"\n", 0, start - 1) + 1):
        return True
    return end < len(buf) - 1 and buf.startswith(_TRACE_STARTS, end + 1)


def _match(pattern: re.Pattern, buf: bytes, begin: int, end: int) -> bool:
    if end > 0 and buf[end - 1:end] == b"\r":
        end -= 1
    return pattern.match(buf, begin, min(end, begin + LOOK_BYTES)) is not None


def _kind(buf: bytes, begin: int, end: int) -> str | None:
    """"frame", "header" or "indented" for the line buf[begin:end] (the first that applies), else None."""
    if end > 0 and buf[end - 1:end] == b"\r":
        end -= 1
    found = _KIND.match(buf, begin, end if end < begin + LOOK_BYTES else begin + LOOK_BYTES)
    return None if found is None else found.lastgroup


def is_frame(buf: bytes, begin: int, end: int) -> bool:
    return _match(_FRAME, buf, begin, end)


def is_bare_header(line: str) -> bool:
    """A header line such as ``Traceback (most recent call last):`` that names no error."""
    return _BARE_HEADER.match(line.strip()[:LOOK_BYTES]) is not None


def starts_trace(buf: bytes, begin: int, end: int) -> bool:
    return _match(_HEADER, buf, begin, end)


def _is_trace_line(buf: bytes, begin: int, end: int) -> bool:
    """A frame, a trace header, or an indented line (Python's source line under a frame)."""
    return _kind(buf, begin, end) is not None


def _under_frame(buf: bytes, start: int) -> bool:
    """True when the nearest line before buf[start:] that is not indented source is a frame or a header
    (Python prints a source line, and sometimes a ``^^^`` marker, under each frame)."""
    end = start - 1
    for _ in range(3):
        if end < 0:
            return False
        begin = buf.rfind(b"\n", 0, end) + 1
        kind = _kind(buf, begin, end)
        if kind != "indented":
            return kind is not None
        end = begin - 1
    return False


def is_context(buf: bytes, start: int, end: int) -> bool:
    """A frame, or the indented source line (and ``^^^`` marker) Python prints under a frame."""
    return is_frame(buf, start, end) or (_match(_INDENTED, buf, start, end) and _under_frame(buf, start))


def opens_trace(buf: bytes, start: int, end: int) -> bool:
    """True when the line buf[start:end] begins a trace (a header, or an exception line its frames
    follow: Java, Node, .NET) or ends one (the exception line under Python's frames)."""
    if starts_trace(buf, start, end) or _under_frame(buf, start):
        return True
    if end >= len(buf) - 1:
        return False
    following = buf.find(b"\n", end + 1)
    return is_frame(buf, end + 1, len(buf) if following < 0 else following)


def trace_continues(buf: bytes, start: int, end: int, line_end: int) -> bool:
    """Whether the line buf[end:line_end] goes on with the trace that ends before buf[start:]: it is a
    header itself (``Caused by: ...``), or every line between is a trace line (frames, indented source,
    blank lines) and one of them is a header (``During handling ...``, a new ``Traceback ...``). A plain
    line right after the frames is a new event."""
    if starts_trace(buf, end, line_end):
        return True
    position, header = start, False
    while position < end:
        newline = buf.find(b"\n", position, end)
        stop = end if newline < 0 else newline
        if buf[position:min(stop, position + LOOK_BYTES)].strip():
            if not _is_trace_line(buf, position, stop):
                return False
            header = header or starts_trace(buf, position, stop)
        position = stop + 1
    return header
