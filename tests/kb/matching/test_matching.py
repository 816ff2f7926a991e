"""The log matcher engine (kb.matching): masking, ranking, streaming limits and bad input."""

import gzip
import io
import time

import pytest

from kb import matching
from kb.matching import Matcher, MatchInputError, SignatureSpec
from kb.matching.masking import mask_line, strip_log_prefix
from kb.models import Article, Signature, SymptomSeverity, SymptomSolution
from tests.factories import ArticleFactory, SignatureFactory, SolutionFactory, SymptomFactory, SystemFactory


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matching.matcher_reset()
    yield
    matching.matcher_reset()


def scan(signatures: list[tuple[str, str]], text: str | bytes, **limits) -> matching.ScanReport:
    specs = [SignatureSpec(index, 100 + index, kind, sig) for index, (kind, sig) in enumerate(signatures)]
    data = text.encode() if isinstance(text, str) else text
    return Matcher(specs).scan(io.BytesIO(data), **limits)


# --- masking ---------------------------------------------------------------------------------------


def test_masking_makes_host_port_numbers_and_paths_interchangeable():
    assert mask_line("Error 111 connecting to localhost:6379") == "error # connecting to #"
    assert mask_line("Error 111 connecting to redis-0:6380.") == "error # connecting to #"
    assert mask_line('File "/srv/app/db.py", line 42') == 'file "#", line #'
    assert mask_line("id=550e8400-e29b-41d4-a716-446655440000 at 2025-06-01T12:00:00Z") == "id=# at #"
    assert mask_line("  Connection\tREFUSED   by peer ") == "connection refused by peer"


def test_log_prefix_is_stripped_but_an_error_word_in_the_message_stays():
    assert strip_log_prefix("2025-06-01 12:00:00,123 ERROR [worker-3] Disk full") == "Disk full"
    assert strip_log_prefix("Error: connect ECONNREFUSED 127.0.0.1:5432") == "Error: connect ECONNREFUSED 127.0.0.1:5432"


# --- matching --------------------------------------------------------------------------------------


def test_literal_from_one_host_matches_the_same_error_from_another_host_and_port():
    report = scan([("literal", "Error 111 connecting to localhost:6379")],
                  "boot\n2025-06-01T10:00:00Z ERROR Error 111 connecting to redis-0:6380. Connection refused.\nbye\n")

    assert list(report.hits) == [100]
    assert report.hits[100].line_numbers == [2]


def test_literal_ignores_case_and_spacing_but_not_different_words():
    report = scan([("literal", "database is locked")],
                  "DATABASE  IS\tLOCKED\ndatabase is unlocked\nthe database is locked now\n")

    assert report.hits[100].line_numbers == [1, 3]


def test_pattern_matches_the_raw_line_case_insensitively():
    report = scan([("pattern", r"heap limit \d+ ?MB")], "fatal: Heap LIMIT 4096MB reached\nheap limit unknown\n")

    assert report.hits[100].line_numbers == [1]


def test_matched_line_comes_with_its_neighbours_and_the_matched_part_highlighted():
    specs = [SignatureSpec(1, 7, "literal", "connect ECONNREFUSED 127.0.0.1:5432")]
    matcher = Matcher(specs)
    text = "one\ntwo\nError: connect ECONNREFUSED 10.0.0.9:5433 (pool)\nfour\nfive\nsix\n"
    hit = matcher.scan(io.BytesIO(text.encode())).hits[7].lines[0]
    matcher.highlight(hit)

    assert hit.number == 3
    assert hit.before == ["one", "two"] and hit.after == ["four", "five"]
    before, marked, after = hit.parts
    assert marked == "connect ECONNREFUSED 10.0.0.9:5433"
    assert before == "Error: " and after == " (pool)"


def test_the_last_line_without_a_line_break_is_context_too():
    report = scan([("literal", "database is locked")], "sqlite3.OperationalError: database is locked\n[SQL: UPDATE]")

    assert report.hits[100].lines[0].after == ["[SQL: UPDATE]"]
    assert report.lines_read == 2


def test_error_lines_nothing_knows_are_grouped_into_templates():
    text = "".join(f"2025-06-01T10:00:0{n}Z ERROR [job-{n}] payment batch {n}7 rejected by gateway\n"
                   for n in range(5))
    text += "2025-06-01T10:00:09Z INFO [job-1] all good, 0 errors\n"
    report = scan([("literal", "database is locked")], text)

    assert report.hits == {}
    assert len(report.unknown) == 1
    group = report.unknown[0]
    assert group.count == 5 and group.first_line == 1
    assert group.example == "payment batch 07 rejected by gateway"
    assert "<*>" in group.template


def test_a_ten_thousand_line_info_log_has_no_matches_and_no_unknown_errors():
    lines = [f"2025-06-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z INFO [web-{n % 4}] GET /api/items/{n} 200 in {n % 90}ms"
             for n in range(10_000)]
    report = scan([("literal", "Error 111 connecting to localhost:6379"), ("pattern", r"heap limit \d+")],
                  "\n".join(lines))

    assert report.hits == {} and report.unknown == []
    assert report.lines_read == 10_000



def test_a_pattern_anchored_at_both_ends_matches_a_line_in_the_middle_of_a_log():
    text = ("2025-06-01 INFO [api] started\n" * 50 + "payment batch 7 rejected\n"
            + "2025-06-01 ERROR [api] payment service unavailable\n" + "2025-06-01 INFO [api] ok\n" * 50)
    report = scan([("pattern", r"^payment batch \d+ rejected$")], text)

    assert report.hits[100].line_numbers == [51]


def test_a_log_read_in_many_blocks_matches_the_same_lines_as_in_one(monkeypatch):
    lines = []
    for n in range(3000):
        if n % 97 == 5:
            lines.append(f"2025-06-01T10:00:00Z ERROR [db-{n}] sqlite3.OperationalError: DATABASE is locked (try {n})")
        elif n % 89 == 7:
            lines.append(f"2025-06-01T10:00:00Z ERROR [job-{n}] heap limit {n} reached")
        elif n % 131 == 3:
            lines.append(f"2025-06-01T10:00:00Z ERROR [job-{n}] payment batch {n} rejected by gateway")
        else:
            lines.append(f"2025-06-01T10:00:00Z INFO [web-{n % 4}] GET /api/items/{n} 200 in {n % 90}ms")
    text = "\n".join(lines) + "\n"
    signatures = [("literal", "database is locked"), ("pattern", r"heap limit \d+ reached")]
    whole = scan(signatures, text)
    monkeypatch.setattr("kb.matching.reader.READ_BLOCK", 512)
    blocks = scan(signatures, text)

    assert whole.lines_read == blocks.lines_read == 3000
    for symptom_id in (100, 101):
        assert blocks.hits[symptom_id].line_numbers == whole.hits[symptom_id].line_numbers
        assert [hit.text for hit in blocks.hits[symptom_id].lines] == [hit.text for hit in whole.hits[symptom_id].lines]
    assert whole.hits[100].line_numbers[:2] == [6, 103]
    assert [(group.count, group.first_line) for group in blocks.unknown] == [
        (group.count, group.first_line) for group in whole.unknown]


# --- streaming limits and bad input ----------------------------------------------------------------


def test_gzip_input_is_read_as_text():
    data = gzip.compress(b"all fine\nsqlite3.OperationalError: database is locked\n")

    assert scan([("literal", "database is locked")], data).hits[100].line_numbers == [2]


def test_input_over_the_limit_is_cut_with_a_notice():
    text = "filler line\n" * 2000 + "database is locked\n"
    report = scan([("literal", "database is locked")], text, max_bytes=10_000)

    assert report.truncated
    assert report.hits == {}
    assert report.bytes_read == 10_000
    assert any("only the first" in notice for notice in report.notices)


def test_a_ten_megabyte_single_line_is_cut_not_loaded_and_later_lines_still_match():
    data = b"x" * (10 * 1024 * 1024) + b"\ndatabase is locked\n"
    started = time.perf_counter()
    report = scan([("literal", "database is locked")], data, max_bytes=20 * 1024 * 1024)

    assert time.perf_counter() - started < 5
    assert report.hits[100].line_numbers == [2]
    assert any("longer than 64 kB" in notice for notice in report.notices)


def test_a_gzip_bomb_is_decompressed_only_up_to_the_limit():
    bomb = gzip.compress(b"the same harmless line again\n" * 400_000)  # ~11 MB unpacked from ~30 kB
    started = time.perf_counter()
    report = scan([("literal", "database is locked")], bomb, max_bytes=1024 * 1024)

    assert time.perf_counter() - started < 5
    assert report.truncated and report.bytes_read == 1024 * 1024
    assert any("decompressed input is larger" in notice for notice in report.notices)


def test_a_gzip_bomb_of_zeros_is_refused_as_binary():
    with pytest.raises(MatchInputError, match="binary"):
        scan([("literal", "database is locked")], gzip.compress(bytes(5 * 1024 * 1024)))


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    bytes(range(256)) * 64,
    b"\x7fELF\x02\x01\x01" + bytes(500),
])
def test_binary_input_is_refused_with_a_clear_message(data):
    with pytest.raises(MatchInputError, match="binary") as caught:
        scan([("literal", "database is locked")], data)
    assert caught.value.status == 400


def test_utf16_input_is_refused_with_advice():
    with pytest.raises(MatchInputError, match="UTF-16"):
        scan([("literal", "database is locked")], "database is locked\n".encode("utf-16"))


def test_damaged_gzip_is_refused():
    with pytest.raises(MatchInputError, match="cannot be decompressed"):
        scan([("literal", "database is locked")], b"\x1f\x8b\x08\x00garbage-not-deflate")


def test_nul_bytes_are_dropped_with_a_notice_and_the_line_still_matches():
    # A log preallocated with zeros and cut off mid-write, as a crash leaves it.
    data = b"starting worker pool\n" * 5 + b"data\x00base is locked\n\x00\x00\n"
    report = scan([("literal", "database is locked")], data)

    assert report.hits[100].line_numbers == [6]
    assert "3 NUL bytes were ignored." in report.notices


def test_invalid_utf8_is_replaced_with_a_notice():
    report = scan([("literal", "database is locked")], b"caf\xe9 \xff\xfe says: database is locked\n")

    assert report.hits[100].line_numbers == [1]
    assert any("not valid UTF-8" in notice for notice in report.notices)


def test_empty_input_is_refused():
    with pytest.raises(MatchInputError, match="empty"):
        scan([("literal", "database is locked")], b"")


def test_a_catastrophic_backtracking_pattern_runs_in_linear_time():
    line = "a" * 200_000 + "!"
    started = time.perf_counter()
    report = scan([("pattern", "(a+)+$"), ("pattern", "^(a|aa)+$")], line + "\n", max_line=1024 * 1024)

    assert time.perf_counter() - started < 2
    assert report.hits == {}


def test_a_pattern_that_could_span_lines_still_matches_line_by_line_in_linear_time():
    text = "an ordinary line\n" * 100_000 + "the end: boom\n"
    started = time.perf_counter()
    report = scan([("pattern", r"(?s)ordinary.*boom"), ("pattern", r"line\s+an")], text, max_bytes=10 * 1024 * 1024)

    assert time.perf_counter() - started < 5
    assert report.hits == {}


def test_invalid_or_everything_matching_patterns_in_the_database_are_skipped_not_fatal():
    specs = [SignatureSpec(1, 1, "pattern", "(unclosed"), SignatureSpec(2, 2, "pattern", ".*"),
             SignatureSpec(3, 3, "literal", "404"), SignatureSpec(4, 4, "literal", "database is locked")]
    matcher = Matcher(specs)

    assert {signature_id for signature_id, _ in matcher.skipped} == {1, 2, 3}
    assert list(matcher.scan(io.BytesIO(b"database is locked\n")).hits) == [4]


# --- against the knowledge base --------------------------------------------------------------------


@pytest.mark.django_db
def test_matches_rank_by_lines_then_closeness_and_bring_ranked_solutions_and_visible_articles():
    system = SystemFactory(name="Orchestrator", slug="orchestrator")
    locked = SymptomFactory(system=system, title="SQLite is locked", severity=SymptomSeverity.LOW)
    port = SymptomFactory(system=system, title="Port in use", severity=SymptomSeverity.HIGH)
    disk = SymptomFactory(system=system, title="Disk full", severity=SymptomSeverity.CRITICAL)
    SignatureFactory(symptom=locked, text="database is locked")
    SignatureFactory(symptom=port, text="[Errno 48] Address already in use")
    SignatureFactory(symptom=disk, text="No space left on device")
    rarely = SolutionFactory(system=system, title="Restart", resolved_count=1)
    often = SolutionFactory(system=system, title="Enable WAL", resolved_count=9)
    SymptomSolution.objects.create(symptom=locked, solution=rarely, rank=0)
    SymptomSolution.objects.create(symptom=locked, solution=often, rank=1)
    published = ArticleFactory(system=system, title="SQLite database is locked")
    draft = ArticleFactory(system=system, title="Draft notes", status=Article.Status.DRAFT)
    locked.articles.add(published, draft)

    text = ("sqlite3.OperationalError: database is locked\n" * 2
            + "OSError: [Errno 98] Address already in use\nwrite failed: No space left on device\n")
    result = matching.symptom_match_text(text=text, user=None)

    # Two lines beat one; between one-liners the longer (more specific) signature wins.
    assert [m.symptom.title for m in result.matches] == ["SQLite is locked", "Port in use", "Disk full"]
    first = result.matches[0]
    assert first.line_count == 2 and first.line_numbers == [1, 2]
    assert [s.solution.title for s in first.solutions] == ["Enable WAL", "Restart"]
    assert [a.title for a in first.articles] == ["SQLite database is locked"]
    assert first.lines[0].highlight is not None


@pytest.mark.django_db
def test_equally_close_matches_rank_by_severity_then_by_incidents_their_solutions_resolved():
    titles = {}
    system = SystemFactory()  # in one system: the same lines in several systems would be one grouped card
    for title, severity, resolved in [("Minor", SymptomSeverity.LOW, 50), ("Proven", SymptomSeverity.HIGH, 7),
                                      ("Untried", SymptomSeverity.HIGH, 0), ("Critical", SymptomSeverity.CRITICAL, 0)]:
        symptom = SymptomFactory(title=title, severity=severity, system=system)
        SignatureFactory(symptom=symptom, text="upstream connect error or disconnect/reset before headers")
        solution = SolutionFactory(system=symptom.system, resolved_count=resolved)
        SymptomSolution.objects.create(symptom=symptom, solution=solution)
        titles[title] = symptom

    result = matching.symptom_match_text(
        text="[envoy] upstream connect error or disconnect/reset before headers. reset reason: overflow", user=None)

    assert [m.symptom.title for m in result.matches] == ["Critical", "Proven", "Untried", "Minor"]


@pytest.mark.django_db
def test_the_matcher_is_rebuilt_when_a_signature_is_added_or_removed():
    symptom = SymptomFactory(title="Locked")
    assert matching.symptom_match_text(text="database is locked", user=None).matches == []

    signature = SignatureFactory(symptom=symptom, text="database is locked")
    assert [m.symptom for m in matching.symptom_match_text(text="database is locked", user=None).matches] == [symptom]

    Signature.objects.filter(pk=signature.pk).delete()
    assert matching.symptom_match_text(text="database is locked", user=None).matches == []


@pytest.mark.django_db
def test_matching_stores_nothing():
    SignatureFactory(text="database is locked")
    before = {model: model.objects.count() for model in (Signature, Article)}

    matching.symptom_match_text(text="database is locked\nERROR something new broke\n", user=None)

    assert {model: model.objects.count() for model in (Signature, Article)} == before


@pytest.mark.django_db
def test_whitespace_only_text_is_refused():
    with pytest.raises(MatchInputError, match="nothing to match"):
        matching.symptom_match_text(text=" \n\t ", user=None)
