"""Error-aware tokens for retrieval: what in an error line is worth looking up, and in which form.

Plain words are lower-cased and stemmed (Snowball English, like PostgreSQL's ``english`` text search), so
"connections" finds "connection". Error-looking pieces keep their whole form next to their parts:

- dotted names (``sqlalchemy.exc.OperationalError``) give the whole name, each part, and each part's
  CamelCase words (``operational``, ``error``); a CamelCase identifier (``QueuePool``,
  ``CrashLoopBackOff``) gives itself and its words;
- errno names (``ECONNREFUSED``), ``errno 111`` / ``[Errno 111]``, HTTP statuses (``404``), hex and
  HRESULT codes (``0x80070003``) and signals are kept as they are;
- what those codes mean is added as words, from the standard library's tables: an errno name or number
  gives its message (``ECONNREFUSED`` and ``[Errno 111]`` both give "connection refused" and the name),
  an exit status above 128 the signal that ended the process (``exited with code 137``: ``sigkill``);
- a Docker Compose container line (``ares-app-1 exited with code 1``, or a log line under the
  ``ares-app-1  | `` prefix compose puts before each container's output) gives ``container``: the line
  rarely says the word, while the guides file it under "container exits" or "containers fail to start";
- a well-known port (``:5432``, ``port 6379``) gives the service that listens there (``postgres``,
  ``redis``): the one word in ``connect ECONNREFUSED 10.0.4.17:5432`` that says what was unreachable;
- other numbers (ports, ids, sizes, times) vary between occurrences of the same error and are dropped.

``phrase_tokens`` gives each pair of neighbouring words as one token, so "connection refused" as a
phrase counts for more than "connection" and "refused" apart.

Quoted fragments (``"features"``, ``'agent_factory'``) are returned separately by ``quoted_fragments``.
"""

from __future__ import annotations

import errno
import os
import re
import signal
from functools import lru_cache

import snowballstemmer

from ..search.query import ERRNO_NAMES, STOP_WORDS

MAX_TOKEN_CHARS = 80
# Words so common in logs that they say nothing about which error it is (the level names, mostly).
LOG_NOISE = frozenset(
    ["error", "errors", "err", "erro", "warn", "warning", "info", "debug", "trace", "fatal", "critical", "crit", "notice", "line", "file", "at", "failed", "fail", "true", "false", "null", "none", "nil"]
)

_PIECE_RE = re.compile(r"[A-Za-z0-9_$][\w$]*(?:[.:\-/][A-Za-z0-9_$][\w$]*)*")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_HEX_RE = re.compile(r"0x[0-9a-f]{4,16}", re.IGNORECASE)
_ERRNO_NUMBER_RE = re.compile(r"\berrno\s*:?\s*(-?\d{1,4})\b|\[errno\s+(\d{1,4})\]", re.IGNORECASE)
_HTTP_STATUS_RE = re.compile(r"(?<![\w.:/-])([1-5]\d\d)(?![\w:/-]|\.\d)")
_QUOTED_RE = re.compile(r"""["'`“‘]([^"'`”’\n]{3,80})["'`”’]""")
_WORD_RE = re.compile(r"[^\W_]+")
_EXIT_STATUS_RE = re.compile(r"\bexit(?:ed)?\s+(?:with\s+)?(?:code|status)\s*:?\s*(1[3-6]\d)\b", re.IGNORECASE)
# What Docker Compose prints for a container: ``<project>-<service>-<replica> exited with code N``, or its
# output under ``<project>-<service>-<replica>  | ``. The replica number keeps ordinary "x | y" text out.
_COMPOSE_CONTAINER_RE = re.compile(r"^\s*[a-z][\w.-]*-\d+\s+(?:exited with code\b|\|)", re.IGNORECASE | re.MULTILINE)
_HOST_PORT_RE = re.compile(r"([A-Za-z][\w.-]*[A-Za-z0-9]):\d{1,5}")
# A replica or pod suffix that varies between runs of the same container: ``-1``, ``-5c7d9f8b6-x2k9q``.
REPLICA_SUFFIX_RE = re.compile(r"(?:-[0-9]+|-[a-z0-9]{8,10}-[a-z0-9]{5})$")
_PORT_RE = re.compile(r"(?:(?<=[\w\]]:)|(?<=\bport )|(?<=\bport=))(\d{4,5})\b", re.IGNORECASE)
# Ports whose service everyone on call knows by number. Data, not rules: extend as needed.
WELL_KNOWN_PORTS = {
    "5432": "postgres", "3306": "mysql", "6379": "redis", "27017": "mongodb", "9200": "elasticsearch",
    "5672": "rabbitmq", "11211": "memcached", "9092": "kafka", "2181": "zookeeper", "2379": "etcd",
}
_SIGNAL_RE = re.compile(r"SIG[A-Z]{3,6}")
_PART_SPLIT_RE = re.compile(r"[.:\-/]")
_IDENTIFIER_RE = re.compile(r"[a-z][A-Z]|[A-Z]{2,}[a-z]|_|\.")

_stemmer = snowballstemmer.stemmer("english")


def port_services(text: str) -> list[tuple[str, str]]:
    """(port, service) for each well-known port the text names (``:5432``, ``port 6379``)."""
    return [(port, WELL_KNOWN_PORTS[port]) for port in _PORT_RE.findall(text) if port in WELL_KNOWN_PORTS]


# What a process ended by a signal usually went through (an exit status of 128 + the signal's number).
# A container or process killed with SIGKILL was, far more often than not, over its memory limit.
SIGNAL_MEANINGS = {
    "sigkill": "killed oom out of memory", "sigsegv": "segmentation fault crash", "sigabrt": "aborted crash",
    "sigterm": "terminated", "sigint": "interrupted", "sigbus": "bus error crash",
}


@lru_cache(maxsize=512)
def _errno_words(name: str) -> tuple[str, ...]:
    """The message the C library gives for an errno name ("ECONNREFUSED" -> "Connection refused")."""
    number = getattr(errno, name, None)
    if not isinstance(number, int):
        return ()
    return tuple(stem(w) for w in _WORD_RE.findall(os.strerror(number).lower()) if w not in STOP_WORDS)


def _signal_name(status: int) -> str:
    try:
        return signal.Signals(status - 128).name.lower()
    except ValueError:
        return ""


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def _camel_words(piece: str) -> list[str]:
    return [w.lower() for w in _CAMEL_RE.findall(piece)]


def _is_identifier(piece: str) -> bool:
    """CamelCase (QueuePool), snake_case constants or dotted names: kept whole as well as split."""
    return bool(_IDENTIFIER_RE.search(piece)) and any(c.isalpha() for c in piece)


def words_plain(text: str) -> list[str]:
    """Lower-case words with stop words left in: the form synonym phrases are matched in."""
    return [w for w in _WORD_RE.findall(text.lower()) if len(w) <= MAX_TOKEN_CHARS]


def error_tokens(text: str) -> list[str]:
    """The lookup tokens of a text, in order of first appearance, repeated as often as they occur."""
    tokens: list[str] = []
    lowered = text.lower()
    for match in _HEX_RE.finditer(lowered):
        tokens.append(match.group(0))
    for first, second in _ERRNO_NUMBER_RE.findall(lowered):
        number = first or second
        tokens.append(f"errno{number}")
        name = errno.errorcode.get(int(number)) if number.isdigit() else None
        if name:
            tokens.append(name.lower())
    for status in _EXIT_STATUS_RE.findall(text):
        name = _signal_name(int(status))
        if name:
            tokens.append(name)
            tokens.extend(stem(word) for word in SIGNAL_MEANINGS.get(name, "").split())
    for _port, service in port_services(text):
        tokens.append(stem(service))
    if _COMPOSE_CONTAINER_RE.search(text):
        tokens.append(stem("container"))
    for status in _HTTP_STATUS_RE.findall(text):
        if status[0] in "45":
            tokens.append(f"http{status}")
    for piece in _PIECE_RE.findall(text):
        if len(piece) > MAX_TOKEN_CHARS * 2:
            piece = piece[: MAX_TOKEN_CHARS * 2]
        if piece in ERRNO_NAMES or _SIGNAL_RE.fullmatch(piece):
            tokens.append(piece.lower())
            tokens.extend(_errno_words(piece))
            continue
        parts = _PART_SPLIT_RE.split(piece)
        if len(parts) > 1 and sum(p[:1].isalpha() for p in parts) >= 2 and len(piece) <= MAX_TOKEN_CHARS:
            tokens.append(piece.lower())  # the whole dotted or hyphenated name
            base = REPLICA_SUFFIX_RE.sub("", piece.lower())
            if base != piece.lower() and "-" in base:
                tokens.append(base)  # ares-app-1 is the container the guides call ares-app
            host = _HOST_PORT_RE.fullmatch(piece)
            if host:
                tokens.append(host.group(1).lower())  # redis-master:6379 names the host redis-master
        for part in parts:
            if not part:
                continue
            if _is_identifier(part) and len(part) <= MAX_TOKEN_CHARS:
                tokens.append(part.lower())
            for word in _camel_words(part) if any(c.isupper() for c in part[1:]) else _WORD_RE.findall(part.lower()):
                if word.isdigit() or len(word) < 2 or word in STOP_WORDS:
                    continue
                tokens.append(stem(word))
    return tokens


def identifier_shares(text: str) -> dict[str, float]:
    """How much of its weight each token of a split identifier keeps: a name such as
    ``sqlalchemy.exc.OperationalError`` or ``api_server.py`` gives four or five tokens, which together
    should count about as much as two words, not five. A token also said on its own keeps it all."""
    shares: dict[str, float] = {}
    for piece in _PIECE_RE.findall(text):
        if piece in ERRNO_NAMES or len(piece) > MAX_TOKEN_CHARS * 2:
            continue
        found = {t for t in error_tokens(piece) if t not in LOG_NOISE}
        share = 1.0 if len(found) <= 2 else (2.0 / len(found)) ** 0.5
        for token in found:
            shares[token] = max(shares.get(token, 0.0), share)
    return shares


def query_tokens(text: str) -> list[str]:
    """``error_tokens`` without log-level noise: what a pasted line is looked up by."""
    return [t for t in error_tokens(text) if t not in LOG_NOISE]


def quoted_fragments(text: str) -> list[str]:
    """Quoted pieces ("features", 'agent_factory'): often the one distinctive name in an error."""
    return [m.group(1).strip().lower() for m in _QUOTED_RE.finditer(text) if m.group(1).strip()]


def phrase_tokens(text: str) -> list[str]:
    """Each pair of neighbouring words (stemmed, stop words and numbers left out) as one token."""
    words = [stem(w) for w in _WORD_RE.findall(text.lower())
             if len(w) <= MAX_TOKEN_CHARS and not w.isdigit() and w not in STOP_WORDS and w not in LOG_NOISE]
    return [f"{first} {second}" for first, second in zip(words, words[1:], strict=False) if first != second]
