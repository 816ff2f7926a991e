"""Read the log files inside a diagnostic bundle (`.tar.gz`, `.tgz`, `.tar`, `.zip`) without trusting it.

Nothing is ever written to disk, so a member named `../../etc/passwd` cannot land anywhere; such members
are still reported as skipped so the person reading the timeline knows the bundle was odd. Links, devices,
nested archives and encrypted members are skipped. Work is bounded by what is actually decompressed (not
by what headers claim): a file-count limit, a per-member limit and a total limit stop zip and tar bombs.
A gzip-compressed member (``app.log.gz``, or gzip bytes under any name) is decompressed here, inside the
same budget, and handed on as plain text, so the matcher never inflates it again; a member compressed
twice is skipped. Tar headers that carry data (PAX, GNU long names) are refused past a few KiB, before
tarfile reads or parses them.
"""

import bz2
import gzip
import io
import lzma
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

BUNDLE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tar.xz")
# Members worth matching: logs and the text/JSON dumps collect-diagnostics scripts write.
TEXT_SUFFIXES = (".log", ".txt", ".out", ".err", ".json", ".jsonl", ".trace")
CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# PAX extended headers and GNU long names/links: real ones hold a path or a few attributes.
MAX_HEADER_DATA_BYTES = 16 * 1024
_HEADER_DATA_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                      tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)


class BundleError(Exception):
    """The bundle cannot be read at all (not an archive, corrupt)."""


class BundleLimitExceeded(Exception):
    """Decompressed data went past the total budget: stop reading, keep what was scanned."""


class _HeaderTooLarge(Exception):
    """A tar header announces more header data than any real archive needs."""


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile's member header, refusing oversized PAX/GNU header data before reading or parsing it."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _HEADER_DATA_TYPES and self.size > MAX_HEADER_DATA_BYTES:
            raise _HeaderTooLarge(f"a tar header carries {self.size} bytes of extended data "
                                  f"(at most {MAX_HEADER_DATA_BYTES} are accepted)")
        return super()._proc_member(tarfile_)


@dataclass(frozen=True)
class BundleLimits:
    max_files: int = 500
    max_total_bytes: int = 200 * 1024 * 1024
    max_member_bytes: int = 50 * 1024 * 1024


@dataclass
class BundleReport:
    scanned: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    total_bytes: int = 0
    members_seen: int = 0

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append({"name": safe_display_name(name), "reason": reason})

    def as_dict(self) -> dict:
        return {"scanned": self.scanned, "skipped": self.skipped, "notices": self.notices,
                "total_bytes": self.total_bytes, "members_seen": self.members_seen}


def is_bundle_name(filename: str) -> bool:
    return filename.lower().endswith(BUNDLE_SUFFIXES)


def safe_display_name(name: str) -> str:
    """Printable, bounded version of a member name for the timeline (never used as a path)."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in name)
    return cleaned[:200]


def unsafe_path_reason(name: str) -> str | None:
    """Why a member name is refused, or None when it is a plain relative path."""
    if not name or "\x00" in name:
        return "empty or NUL in name"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute path"
    if ".." in normalised.split("/"):
        return "path traversal"
    return None


def is_text_member(name: str) -> bool:
    base = posixpath.basename(name.replace("\\", "/")).lower().removesuffix(".gz")
    if base.endswith(TEXT_SUFFIXES):
        return True
    # Rotated logs (app.log.1) and extension-less files under a logs/ folder.
    if ".log." in base and base.rsplit(".", 1)[-1].isdigit():
        return True
    return "." not in base and "/logs/" in f"/{name.lower()}"


class _CountingReader(io.RawIOBase):
    """Counts decompressed bytes as tarfile reads them, so skipping a huge member still costs budget."""

    def __init__(self, inner: BinaryIO, report: BundleReport, limits: BundleLimits) -> None:
        self.inner, self.report, self.limits = inner, report, limits

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:
        data = self.inner.read(len(buffer))
        self.report.total_bytes += len(data)
        if self.report.total_bytes > self.limits.max_total_bytes:
            raise BundleLimitExceeded
        buffer[: len(data)] = data
        return len(data)


def _read_bounded(stream: BinaryIO, report: BundleReport, limits: BundleLimits, *, counted: bool) -> tuple[bytes, bool]:
    """Read a member up to the per-member limit; return (data, truncated)."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(parts), False
        if not counted:
            report.total_bytes += len(chunk)
            if report.total_bytes > limits.max_total_bytes:
                raise BundleLimitExceeded
        keep = min(len(chunk), limits.max_member_bytes - size)
        if keep > 0:
            parts.append(chunk[:keep])
            size += keep
        if size >= limits.max_member_bytes:
            return b"".join(parts), True


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def _decompressor_for(raw: BinaryIO) -> BinaryIO:
    magic = raw.read(6)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic[:3] == b"BZh":
        return bz2.BZ2File(raw, mode="rb")
    if magic == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw, mode="rb")
    return raw


def _iter_tar(raw: BinaryIO, report: BundleReport, limits: BundleLimits) -> Iterator[tuple[str, bytes]]:
    counting = io.BufferedReader(_CountingReader(_decompressor_for(raw), report, limits), buffer_size=CHUNK)
    try:
        # Stream mode ("r|"): no seeking, members are read once in order.
        with tarfile.open(fileobj=counting, mode="r|", tarinfo=_BoundedTarInfo) as archive:
            for member in archive:
                report.members_seen += 1
                if report.members_seen > limits.max_files:
                    report.notices.append(f"Stopped after {limits.max_files} members (file-count limit).")
                    return
                reason = unsafe_path_reason(member.name)
                if reason:
                    report.skip(member.name, reason)
                    continue
                if member.isdir():
                    continue
                if member.issym() or member.islnk():
                    report.skip(member.name, "link")
                    continue
                if not member.isfile():
                    report.skip(member.name, "special file")
                    continue
                if not is_text_member(member.name):
                    report.skip(member.name, "not a log or text file")
                    continue
                stream = archive.extractfile(member)
                if stream is None:
                    report.skip(member.name, "unreadable")
                    continue
                data, truncated = _read_bounded(stream, report, limits, counted=True)
                yield member.name, data
                if truncated:
                    report.notices.append(f"{safe_display_name(member.name)}: only the first "
                                          f"{limits.max_member_bytes} bytes were scanned.")
    except _HeaderTooLarge as exc:
        report.notices.append(f"Stopped: {exc}.")
    except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as exc:
        if report.members_seen == 0:
            raise BundleError(f"Not a readable tar archive: {exc}") from exc
        report.notices.append(f"The archive is damaged after {report.members_seen} members: {exc}")


def _iter_zip(raw: BinaryIO, report: BundleReport, limits: BundleLimits) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"Not a readable zip archive: {exc}") from exc
    with archive:
        for info in archive.infolist():
            report.members_seen += 1
            if report.members_seen > limits.max_files:
                report.notices.append(f"Stopped after {limits.max_files} members (file-count limit).")
                return
            reason = unsafe_path_reason(info.filename)
            if reason:
                report.skip(info.filename, reason)
                continue
            if info.is_dir():
                continue
            # Unix mode in the high bits; archivers that set no file type (mode 0o600) mean a plain file.
            file_type = stat.S_IFMT(info.external_attr >> 16)
            if file_type == stat.S_IFLNK:
                report.skip(info.filename, "link")
                continue
            if file_type and file_type != stat.S_IFREG:
                report.skip(info.filename, "special file")
                continue
            if info.flag_bits & 0x1:
                report.skip(info.filename, "encrypted")
                continue
            if not is_text_member(info.filename):
                report.skip(info.filename, "not a log or text file")
                continue
            try:
                with archive.open(info) as stream:
                    data, truncated = _read_bounded(stream, report, limits, counted=False)
            except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as exc:
                report.skip(info.filename, f"unreadable: {exc}")
                continue
            yield info.filename, data
            if truncated:
                report.notices.append(f"{safe_display_name(info.filename)}: only the first "
                                      f"{limits.max_member_bytes} bytes were scanned.")


def bundle_iter_text_members(
    raw: BinaryIO, *, filename: str, limits: BundleLimits, report: BundleReport
) -> Iterator[tuple[str, bytes]]:
    """Yield (member name, bytes) for each text member worth matching; fill `report` as it goes.

    `raw` must be seekable (a stored attachment). Raises BundleError if the file is not an archive.
    """
    is_zip = filename.lower().endswith(".zip") or zipfile.is_zipfile(raw)
    raw.seek(0)
    iterator = _iter_zip(raw, report, limits) if is_zip else _iter_tar(raw, report, limits)
    try:
        for name, data in iterator:
            if data[:2] == GZIP_MAGIC:
                data = _gunzip_member(name, data, report, limits)
                if data is None:
                    continue
            if _looks_binary(data):
                report.skip(name, "binary content")
                continue
            report.scanned.append(safe_display_name(name))
            yield name, data
    except BundleLimitExceeded:
        report.notices.append(f"Stopped: more than {limits.max_total_bytes} bytes once decompressed (size limit).")


def _gunzip_member(name: str, data: bytes, report: BundleReport, limits: BundleLimits) -> bytes | None:
    """A gzip member's text, its decompressed bytes counted against the bundle's budget; None when skipped."""
    try:
        text, truncated = _read_bounded(gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb"), report, limits,
                                        counted=False)
    except (OSError, EOFError, zlib.error):
        report.skip(name, "damaged gzip data")
        return None
    if text[:2] == GZIP_MAGIC:
        report.skip(name, "compressed more than once")
        return None
    if truncated:
        report.notices.append(f"{safe_display_name(name)}: only the first {limits.max_member_bytes} bytes "
                              "were scanned.")
    return text
