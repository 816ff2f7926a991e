"""The matcher's prefilter: Hyperscan flags exactly the lines the reference RE2 regex flags, so a scan
reports the same whichever ran; signatures Hyperscan would read differently keep the matcher on RE2."""

import io
import random

import pytest

from kb.matching import Matcher, ScanReport, SignatureSpec
from kb.matching import prefilter as prefilter_module
from kb.matching.reader import READ_BLOCK

pytest.importorskip("hyperscan")

LITERALS = [
    "ConnectionRefusedError: billing db pool: connection refused while loading invoice",
    "java.net.SocketTimeoutException: timed out waiting for response in ledger.cache_layer.batch",
    "panic: scheduler/lockmanager: deadlock detected on shard 12",
    "could not obtain lock on row in relation accounts",
    "FATAL: remaining connection slots are reserved for non-replication superuser connections",
    "Error: connect ECONNREFUSED 10.0.3.7:5432 (payments kafka consumer ticket)",
    "kafka producer: leader not available for partition 7",
    "SSL routines: sslv3 alert bad certificate",
]
PATTERNS = [
    r"checkout (?:rate limiter|smtp relay) gave up after \d+ retries",
    r"\bkube-proxy\b.*\S+ is not ready$",
    r"^worker \d+ exited with (?:signal|status) \d+",
    r"disk (?:quota|space) exceeded on /\S+",
]

# Pieces the generated lines are made of: the signatures themselves, near misses, error words in any
# case, and ordinary traffic.
FRAGMENTS = [
    *LITERALS,
    "ConnectionRefusedError: billing db pool: connection reset while loading invoice",
    "checkout rate limiter gave up after 12 retries",
    "checkout smtp relay gave up after many retries",
    "the kube-proxy on node-3 says pod-7 is not ready",
    "worker 17 exited with signal 9",
    "disk quota exceeded on /var/lib/ledger",
    "request handled in 12ms status=200",
    "cache hit ratio=93% keys=1200",
    "Timed Out", "ERROR", "errno 111", "OUT OF MEMORY", "Segfault", "unable to", "denied",
    "heartbeat ok from db-3:5432",
    "Kafka Producer: Leader Not Available For Partition 9",
    "connection slots are reserved",
]
ORDINARY = ["request handled in 12ms status=200", "cache hit ratio=93% keys=1200", "heartbeat ok from db-3:5432",
            "flushed 120 events to /var/lib/ledger/batch-7.json", "user 42 signed in from 192.168.3.4"]
# Ways text is spaced and spelled in real logs; the last ones are characters Hyperscan and RE2 read
# differently (vertical tab for \S, Kelvin sign and long s for case folding).
SPACES = [" ", " ", "  ", "\t", " \t ", "\x0c", "\r", "\x0b"]
ODD_LETTERS = {"k": "\u212a", "s": "\u017f"}


def _variant(fragment: str, rnd: random.Random) -> str:
    words = fragment.split(" ")
    if len(words) > 1 and rnd.random() < 0.1:
        gap = rnd.randrange(1, len(words))
        words[gap - 1:gap + 1] = [words[gap - 1] + rnd.choice(SPACES) + words[gap]]
    text = " ".join(words)
    if rnd.random() < 0.02:
        odd = rnd.choice("ks")
        text = text.replace(odd, ODD_LETTERS[odd], 1)
    if rnd.random() < 0.2:
        text = text.upper()
    return text


def _log(seed: int, lines: int) -> bytes:
    rnd = random.Random(seed)
    out = []
    for number in range(lines):
        # Mostly ordinary traffic, as in a real log.
        fragments = FRAGMENTS if rnd.random() < 0.2 else ORDINARY
        parts = [_variant(rnd.choice(fragments), rnd) for _ in range(rnd.randint(1, 2))]
        line = f"2025-06-01T12:00:{number % 60:02d}Z INFO [svc-{number % 7}] " + " ".join(parts)
        out.append(line + ("\r\n" if rnd.random() < 0.2 else "\n"))
    return "".join(out).encode()


def _specs() -> list[SignatureSpec]:
    specs = [SignatureSpec(index, index, "literal", text) for index, text in enumerate(LITERALS)]
    return specs + [SignatureSpec(100 + index, 100 + index, "pattern", text) for index, text in enumerate(PATTERNS)]


def _comparable(report: ScanReport) -> tuple:
    hits = {
        symptom: (hits.line_count, hits.specificity, sorted(hits.signature_ids), hits.line_numbers,
                  [(line.number, line.text, line.before, line.after) for line in hits.lines])
        for symptom, hits in report.hits.items()
    }
    unknown = [(group.template, group.count, group.first_line) for group in report.unknown]
    return hits, unknown, report.lines_read, report.notices, report.truncated


def _both(specs: list[SignatureSpec]) -> tuple[Matcher, Matcher]:
    fast, reference = Matcher(specs, hyperscan=True), Matcher(specs, hyperscan=False)
    assert fast.wait_for_hyperscan(timeout=30) and not reference.wait_for_hyperscan(timeout=30)
    return fast, reference


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hyperscan_flags_exactly_the_lines_re2_flags_in_every_block(seed):
    fast, reference = _both(_specs())
    block = _log(seed, 3000)

    found = fast._fast_prefilter.candidate_lines(block)

    assert found is not None  # the block was not left to RE2
    assert found == reference._re2_prefilter.candidate_lines(block)
    assert len(found[0]) > 300  # lines with a signature, a near miss or an error word


def test_a_scan_through_hyperscan_reports_what_a_scan_through_re2_reports():
    fast, reference = _both(_specs())
    data = _log(4, 30_000)
    assert len(data) > 2 * READ_BLOCK  # several blocks, with lines and traces across their edges

    report = fast.scan(io.BytesIO(data))

    assert _comparable(report) == _comparable(reference.scan(io.BytesIO(data)))
    assert len(report.hits) >= len(LITERALS)


def test_a_block_of_tab_separated_lines_is_left_to_re2_and_matches_the_same():
    fast, reference = _both(_specs())
    block = b"".join(b"2025-06-01\tINFO\tsvc\trequest\thandled\tin\t%dms\n" % n for n in range(20_000))
    block += b"kafka\tproducer:\tleader not available for partition 3\n"

    assert fast._fast_prefilter.candidate_lines(block) is None
    assert _comparable(fast.scan(io.BytesIO(block))) == _comparable(reference.scan(io.BytesIO(block)))
    assert list(fast.scan(io.BytesIO(block)).hits) == [6]


def test_a_block_that_is_not_utf8_is_left_to_re2_and_matches_the_same():
    fast, reference = _both(_specs())
    data = b"caf\xe9 \xff kafka producer: leader not available for partition 3\n" + _log(5, 200)

    assert _comparable(fast.scan(io.BytesIO(data))) == _comparable(reference.scan(io.BytesIO(data)))
    assert 6 in fast.scan(io.BytesIO(data)).hits


@pytest.mark.parametrize("signature", [
    SignatureSpec(1, 1, "literal", "Не удалось подключиться к серверу базы данных"),  # no ASCII anchor
    SignatureSpec(1, 1, "pattern", r"\Aboom at the start"),  # where the block starts matters
    SignatureSpec(1, 1, "pattern", r"\p{Greek}+ failed"),  # a Unicode class
    SignatureSpec(1, 1, "pattern", r"caf\x{e9} closed"),  # a non-ASCII character, folded by RE2 only
])
def test_signatures_hyperscan_would_read_differently_keep_the_matcher_on_re2(signature):
    matcher = Matcher([*_specs(), signature], hyperscan=True)

    assert not matcher.wait_for_hyperscan(timeout=30)
    data = _log(6, 300)
    assert _comparable(matcher.scan(io.BytesIO(data))) == _comparable(
        Matcher([*_specs(), signature], hyperscan=False).scan(io.BytesIO(data)))


def test_without_the_hyperscan_package_the_matcher_scans_with_re2(monkeypatch):
    monkeypatch.setattr(prefilter_module, "hyperscan", None)
    matcher = Matcher(_specs(), hyperscan=True)

    assert not matcher.wait_for_hyperscan(timeout=30)
    assert list(matcher.scan(io.BytesIO(b"kafka producer: leader not available for partition 3\n")).hits) == [6]


def test_the_setting_turns_hyperscan_off(settings):
    settings.TRIAGE_MATCH_HYPERSCAN = False

    assert not Matcher(_specs()).wait_for_hyperscan(timeout=30)
    settings.TRIAGE_MATCH_HYPERSCAN = True
    assert Matcher(_specs()).wait_for_hyperscan(timeout=30)


def test_a_new_matcher_answers_through_re2_while_hyperscan_compiles():
    matcher = Matcher(_specs(), hyperscan=True)
    data = _log(7, 500)
    early = _comparable(matcher.scan(io.BytesIO(data)))  # whichever prefilter is ready

    assert matcher.wait_for_hyperscan(timeout=30)
    assert early == _comparable(matcher.scan(io.BytesIO(data)))


@pytest.mark.parametrize("line", [
    "checkout rate limiter gave up after 12 retrie\u017f",  # long s and Kelvin sign: RE2 folds them to s, k
    "chec\u212aout smtp relay gave up after 3 retries",
    "di\u017fk quota exceeded on /var/lib/ledger",
    "worker 7 exited with \u017fignal 9",
    "slot\x0b7 lost by replica 3",  # \S matches a vertical tab in RE2, not in Hyperscan
    "could not obtain lock\ton row in relation accounts",  # a tab inside a literal's anchor
    "could not  obtain lock on row in\x0crelation accounts",
    "kafka producer: leader not\r available for partition 7",
])
def test_lines_hyperscan_reads_differently_are_found_as_re2_finds_them(line):
    specs = [*_specs(), SignatureSpec(200, 200, "pattern", r"slot\S\d+ lost")]
    fast, reference = _both(specs)
    block = (line + "\n").encode() + b"request handled in 12ms status=200\n" * 50

    found = fast._fast_prefilter.candidate_lines(block)

    assert found == reference._re2_prefilter.candidate_lines(block)
    assert found[0][0][0] == 0  # the first line, flagged by the reference too
    assert fast.scan(io.BytesIO(block)).hits
