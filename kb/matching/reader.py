"""Reading the input: blocks of whole lines from a plain or gzip stream, within the size limits.

gzip is detected by its magic bytes and decompressed as it is read; input past ``TRIAGE_MATCH_MAX_BYTES``
is not read and lines past ``TRIAGE_MATCH_MAX_LINE_BYTES`` are cut, each with a notice. Binary files and
UTF-16 text are refused before anything is scanned. Memory stays bounded by the block size.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import IO

from django.conf import settings

READ_BLOCK = 1 << 20

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


def size_label(n: int) -> str:
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



class BlockReader:
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
                refuse_binary(block)
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
                    f"The {what} is larger than {size_label(self.max_bytes)}; only the first "
                    f"{size_label(self.max_bytes)} were checked."
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
            cut = block.rfind(b"\n")
            if cut < 0:
                data = tail + block if tail else block
                if len(data) > self.max_line:
                    cut_count += 1
                    yield data[:self.max_line]
                    tail, skipping = b"", True
                else:
                    tail = data
                continue
            # The held tail and the block up to its last line break, copied once.
            if tail:
                piece = b"".join((tail, memoryview(block)[:cut + 1]))
            else:
                piece = block if cut == len(block) - 1 else block[:cut + 1]
            tail = block[cut + 1:]
            yield piece
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
                f"{cut_count} line{'s were' if cut_count > 1 else ' was'} longer than {size_label(self.max_line)}; "
                "only the start of each was checked."
            )
        if self._nul_bytes:
            self.notices.append(f"{self._nul_bytes} NUL byte{'s were' if self._nul_bytes > 1 else ' was'} ignored.")


def refuse_binary(sample: bytes) -> None:
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


