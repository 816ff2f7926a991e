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

# A line that is only a frame of a stack trace: never an error of its own.
_FRAME = re.compile(
    r"""^(?:
        \s*File\ "[^"]*",\ line\ \d+                                   # Python
      | \s+at\ \S.*(?:\(.*\)|:\d+(?::\d+)?\)?|\ in\ .*:line\ \d+)\s*$  # Java, Node, .NET
      | \s*at\ [\w$.<>/]+\([^)]*\)\s*$                                 # Java without indent
      | \s*\.\.\.\ \d+\ (?:more|common\ frames\ omitted)\s*$           # Java
      | \s*---\ End\ of\ (?:inner\ exception\ )?stack\ trace.*$        # .NET
      | goroutine\ \d+\ \[[^\]]*\]:\s*$                                # Go
      | \s+\S+\.go:\d+(?:\ \+0x[0-9a-f]+)?\s*$                         # Go
      | created\ by\ \S+.*$                                            # Go
      | [\w./*()%-]+\([^()]*\)\s*$                                     # Go function line: main.main()
    )""",
    re.VERBOSE,
)
# Lines that open a trace or join two parts of one.
_HEADER = re.compile(
    r"^(?:Traceback \(most recent call last\):|Exception in thread |Caused by: |panic: |Unhandled exception\. "
    r"|\s*---> "
    r"|During handling of the above exception|The above exception was the direct cause)"
)
# Under a Python frame comes its source line and sometimes a ``^^^^`` marker, both indented.
_INDENTED = re.compile(r"^(?: {2,}|\t)\S")


def is_frame(line: str) -> bool:
    return bool(_FRAME.match(line))


def is_trace_line(line: str) -> bool:
    """A frame, a trace header, or an indented line (Python's source line under a frame)."""
    return bool(_FRAME.match(line) or _HEADER.match(line) or _INDENTED.match(line))


def starts_trace(line: str) -> bool:
    return bool(_HEADER.match(line))


def _lines_before(buf: bytes, start: int, count: int) -> list[str]:
    """Up to ``count`` lines before buf[start:] (nearest first), decoded, within the block."""
    lines = []
    end = start - 1
    while end >= 0 and len(lines) < count:
        begin = buf.rfind(b"\n", 0, end) + 1
        lines.append(buf[begin:end].decode("utf-8", "replace").rstrip("\r")[:400])
        end = begin - 1
    return lines


def _under_frame(buf: bytes, start: int) -> bool:
    """True when the nearest line before buf[start:] that is not indented source is a frame or a header
    (Python prints a source line, and sometimes a ``^^^`` marker, under each frame)."""
    for line in _lines_before(buf, start, 3):
        if is_frame(line) or starts_trace(line):
            return True
        if not _INDENTED.match(line):
            return False
    return False


def is_context(buf: bytes, start: int, line: str) -> bool:
    """A frame, or the indented source line (and ``^^^`` marker) Python prints under a frame."""
    return is_frame(line) or (bool(_INDENTED.match(line)) and _under_frame(buf, start))


def follows_frame(buf: bytes, start: int) -> bool:
    """True when the line at ``start`` comes right after a frame or a trace header (and the source lines
    under it): it is the exception line of that trace."""
    return _under_frame(buf, start)


def precedes_frame(buf: bytes, end: int) -> bool:
    """True when the line ending at ``end`` is followed by a frame (Java, Node and .NET print the
    exception first, then its frames)."""
    if end >= len(buf) - 1:
        return False
    following = buf.find(b"\n", end + 1)
    line = buf[end + 1:len(buf) if following < 0 else following].decode("utf-8", "replace").rstrip("\r")
    return is_frame(line[:400])


def trace_continues(buf: bytes, start: int, end: int, line: str) -> tuple[bool, int]:
    """Whether ``line`` (at buf[end:]) goes on with the trace that ends before buf[start:]: it is a header
    itself (``Caused by: ...``), or every line between is a trace line (frames, indented source, blank
    lines) and one of them is a header (``During handling ...``, a new ``Traceback ...``). A plain line
    right after the frames is a new event.

    Returns (continues, offset reached): the caller keeps the offset so no line is checked twice.
    """
    if starts_trace(line):
        return True, end
    position, header = start, False
    while position < end:
        newline = buf.find(b"\n", position, end)
        stop = end if newline < 0 else newline
        between = buf[position:stop][:400].decode("utf-8", "replace").rstrip("\r")
        if between.strip():
            if not is_trace_line(between):
                return False, position
            header = header or starts_trace(between)
        position = stop + 1
    return header, end
