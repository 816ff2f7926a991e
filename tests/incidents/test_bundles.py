"""Diagnostic bundles are read without trusting them: traversal, links and bombs get nowhere."""

import dataclasses
import gzip
import io
import tarfile
import zipfile

import pytest

from incidents.bundles import BundleError, BundleLimits, BundleReport, bundle_iter_text_members

LIMITS = BundleLimits(max_files=50, max_total_bytes=1024 * 1024, max_member_bytes=256 * 1024)


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> io.BytesIO:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    raw.seek(0)
    return raw


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def read(raw: io.BytesIO, filename: str = "bundle.tar.gz", limits: BundleLimits = LIMITS):
    report = BundleReport()
    members = dict(bundle_iter_text_members(raw, filename=filename, limits=limits, report=report))
    return members, report


def test_reads_the_log_and_text_files_of_a_collect_diagnostics_bundle():
    raw = tar_gz([
        file_member("diagnostics_1/logs/orchestrator.log", b"ERROR database is locked\n"),
        file_member("diagnostics_1/system_info.txt", b"Linux host 6.1\n"),
        file_member("diagnostics_1/api_health.json", b'{"status": "degraded"}'),
        file_member("diagnostics_1/requirements.pdf", b"%PDF-1.4"),
    ])
    members, report = read(raw)
    assert set(members) == {"diagnostics_1/logs/orchestrator.log", "diagnostics_1/system_info.txt",
                            "diagnostics_1/api_health.json"}
    assert members["diagnostics_1/logs/orchestrator.log"] == b"ERROR database is locked\n"
    assert report.skipped == [{"name": "diagnostics_1/requirements.pdf", "reason": "not a log or text file"}]


def test_path_traversal_and_absolute_members_are_skipped_and_never_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = tar_gz([
        file_member("../../evil.log", b"owned\n"),
        file_member("/etc/cron.d/evil.log", b"owned\n"),
        file_member("ok/app.log", b"fine\n"),
    ])
    members, report = read(raw)
    assert list(members) == ["ok/app.log"]
    assert {s["reason"] for s in report.skipped} == {"path traversal", "absolute path"}
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent.parent / "evil.log").exists()


def test_zip_traversal_is_skipped_too():
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("..\\..\\evil.log", "owned")
        archive.writestr("logs/app.log", "fine")
    raw.seek(0)
    members, report = read(raw, "bundle.zip")
    assert list(members) == ["logs/app.log"]
    assert report.skipped[0]["reason"] == "path traversal"


def test_symlinks_and_hard_links_are_skipped():
    link = tarfile.TarInfo("logs/passwd.log")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("logs/hard.log")
    hard.type, hard.linkname = tarfile.LNKTYPE, "logs/app.log"
    raw = tar_gz([file_member("logs/app.log", b"fine\n"), (link, None), (hard, None)])
    members, report = read(raw)
    assert list(members) == ["logs/app.log"]
    assert [s["reason"] for s in report.skipped] == ["link", "link"]


def test_zip_symlink_member_is_skipped():
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        info = zipfile.ZipInfo("logs/secret.log")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/shadow")
    raw.seek(0)
    members, report = read(raw, "bundle.zip")
    assert members == {} and report.skipped[0]["reason"] == "link"


def test_gzip_bomb_stops_at_the_total_limit_without_inflating_it_all():
    # 64 MB of zeros compresses to ~64 kB; the limit is 1 MB of decompressed data.
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as archive:
        info = tarfile.TarInfo("logs/huge.log")
        info.size = 64 * 1024 * 1024
        archive.addfile(info, io.BytesIO(b"\n" * info.size))
    assert bomb.tell() < 1024 * 1024
    bomb.seek(0)
    members, report = read(bomb)
    assert report.total_bytes <= LIMITS.max_total_bytes + 128 * 1024
    assert any("size limit" in n for n in report.notices)


def test_zip_bomb_member_is_truncated_and_total_is_bounded():
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n in range(8):
            archive.writestr(f"logs/{n}.log", b"A" * (2 * 1024 * 1024))
    raw.seek(0)
    members, report = read(raw, "bundle.zip")
    assert all(len(data) <= LIMITS.max_member_bytes for data in members.values())
    assert report.total_bytes <= LIMITS.max_total_bytes + 64 * 1024
    assert any("size limit" in n for n in report.notices)


def test_too_many_files_stops_at_the_file_count_limit():
    raw = tar_gz([file_member(f"logs/{n}.log", b"x\n") for n in range(200)])
    members, report = read(raw)
    assert len(members) == LIMITS.max_files
    assert any("file-count limit" in n for n in report.notices)


def test_not_an_archive_is_a_clear_error():
    with pytest.raises(BundleError, match="Not a readable"):
        read(io.BytesIO(b"just some text, not a tar"))
    with pytest.raises(BundleError, match="zip"):
        read(io.BytesIO(b"PK\x03\x04garbage"), "bundle.zip")


def test_binary_members_are_skipped():
    raw = tar_gz([file_member("logs/core.log", b"\x00\x01\x02" * 100)])
    members, report = read(raw)
    assert members == {} and report.skipped[0]["reason"] == "binary content"


def test_plain_gzip_of_a_tar_with_devices_skips_them():
    fifo = tarfile.TarInfo("logs/pipe.log")
    fifo.type = tarfile.FIFOTYPE
    members, report = read(tar_gz([(fifo, None)]))
    assert members == {} and report.skipped[0]["reason"] == "special file"
    assert gzip  # gzip is what tar_gz writes


def test_gzip_members_are_decompressed_inside_the_bundle_budget():
    text = b"ERROR database is locked\n" * 8000  # 200 KB each, a few hundred bytes compressed
    raw = tar_gz([file_member(f"logs/app-{n}.log.gz", gzip.compress(text)) for n in range(20)])
    assert len(raw.getvalue()) < 20 * 1024
    report = BundleReport()
    yielded = 0
    members = []
    for name, data in bundle_iter_text_members(raw, filename="bundle.tar.gz", limits=LIMITS, report=report):
        assert data[:2] != b"\x1f\x8b"  # the matcher gets text, never something to inflate again
        yielded += len(data)
        members.append(name)
    assert members and members[0] == "logs/app-0.log.gz"
    assert yielded <= LIMITS.max_total_bytes
    assert report.total_bytes <= LIMITS.max_total_bytes + 64 * 1024
    assert any("size limit" in notice for notice in report.notices)


def test_a_member_compressed_twice_is_skipped():
    raw = tar_gz([file_member("app.log.gz", gzip.compress(gzip.compress(b"ERROR x\n")))])
    members, report = read(raw)
    assert members == {}
    assert report.skipped == [{"name": "app.log.gz", "reason": "compressed more than once"}]


def test_an_oversized_pax_header_is_refused_before_it_is_parsed():
    import time

    info = tarfile.TarInfo("app.log")
    info.pax_headers = {"comment": "x" * 2_000_000}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        data = b"ERROR x\n"
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    raw.seek(0)
    big = dataclasses.replace(LIMITS, max_total_bytes=50 * 1024 * 1024)
    started = time.perf_counter()
    members, report = read(raw, limits=big)
    assert time.perf_counter() - started < 1
    assert members == {}
    assert any("tar header carries" in notice for notice in report.notices)
