"""The forms of one error message that a reader may quote alone.

A guide shows a message whole; people quote, and programs print, only part of it: its first or a later
sentence, its innermost cause ("a: b: c" -> "c"), the runs of words between its variable parts (a path,
an id, a template placeholder), the message without its variable tail or without what it adds in
parentheses, or a message it quotes inside itself. Each form is stored as a signature of its own, so a
form must stay strict: parts other than the long-standing ones (first sentence, trailing parenthesis,
causes, template runs) need four words and must read as an error themselves; the signature writer then
refuses any that masking leaves too generic (kb.matching.rules.literal_problem).
"""

from __future__ import annotations

import re

from ..matching.masking import MASK, mask_line
from ..matching.rules import distinctive_words
from .errorish import looks_like_error, unique

# At most this many forms per message: a long chained message has many parts, few worth a signature.
MAX_FORMS = 16
MIN_PART_WORDS = 4

_SENTENCE_END_RE = re.compile(r"(?<=[a-z)\]`'\"}])[.!]\s+(?=[A-Z(])")
# "<br />" inside a quoted message (MDX error references) separates lines of the message.
_LINE_BREAK_RE = re.compile(r"\s*<br\s*/?>\s*", re.IGNORECASE)
# Template placeholders ("{name}", "\{constraint}", "{{ .Values.x }}") and the stand-ins authors write
# for a value ('xxx', '[...]', "...", <name>): what lies between them is printed verbatim every time.
_PLACEHOLDER_RUN_RE = re.compile(
    r"[`'\"]?\\?\{\{?[^{}\n]{0,60}\}?\}[`'\"]?"
    r"|[`'\"]?(?:\b[xX]{3,}\b|\[\.\.\.\]|\.\.\.|<[A-Za-z][\w .-]{0,40}>)[`'\"]?"
)
_SEVERITY_PREFIX_RE = re.compile(r"^(?:error|fatal|warning|err|warn)\s*:\s*", re.IGNORECASE)
# Where a chained message joins its links: Go and Rust wrap causes with ": ", gRPC with "desc = ".
_LINK_SPLIT_RE = re.compile(r":\s+|\s+desc = ")
_TRAILING_PAREN_RE = re.compile(r"\s*\([^()]{20,}\)?$")
# A message quoted inside a message, with its quotes escaped or not: caused "...\"read parent: ...\"".
_INNER_QUOTE_RE = re.compile(r"\\\"([^\"\\]{4,300})\\\"|(?<!\\)\"([^\"\\]{4,300})(?<!\\)\"")
# What the C library, the network stack and shells print for a thousand different problems: a part of a
# message that says no more than these ("Address already in use (port 7070)", "dial tcp: connect:
# connection refused") would tie every such error to one section.
_COMMON_CAUSES = (
    "no such file or directory", "permission denied", "connection refused", "connection reset by peer",
    "connection timed out", "address already in use", "operation not permitted", "too many open files",
    "no space left on device", "broken pipe", "resource temporarily unavailable", "network is unreachable",
    "no route to host", "is a directory", "not a directory", "file exists", "directory not empty",
    "input/output error", "read-only file system", "device or resource busy", "cannot allocate memory",
    "invalid argument", "bad file descriptor", "operation timed out", "host is down", "command not found",
    "exec format error", "text file busy", "i/o timeout", "context deadline exceeded", "unexpected eof",
    "dial tcp", "dial udp", "read tcp", "write tcp", "connect:", "lookup",
)
_WORD_RE = re.compile(r"[^\W\d_][\w'.-]*")
_UNCLOSED_RE = re.compile(r"\s*[(\[][^()\[\]]*$")
_EDGE_PUNCTUATION = " \t,;:([{"
_CUT_PUNCTUATION = " \t,;:"
_QUOTES = "`'\""


def cause_tails(message: str) -> list[str]:
    """The causes inside a long chained message ("a: b: c" -> "b: c", "c"), as guides quote them alone:
    Go and Rust errors wrap their cause, kubectl prefixes it with what it was doing."""
    if len(message) < 70:
        return []
    tails: list[str] = []
    for match in re.finditer(r": ", message):
        tail = message[match.end():].strip()
        if len(tail.split()) >= 4 and len(tail) >= 25 and looks_like_error(tail):
            tails.append(tail)
    return tails[:4]


def heading_message_forms(message: str) -> list[str]:
    """A heading's message and its forms; "Error: Remote HEAD refers to nonexistent ref, unable to
    checkout" also as git prints it elsewhere ("warning: remote HEAD refers ...") and as its first clause."""
    forms = message_forms(message)
    bare = _SEVERITY_PREFIX_RE.sub("", message)
    if bare != message and len(bare.split()) >= 3:
        forms.append(bare)
    clause = re.split(r"[,;] ", bare, maxsplit=1)[0]
    if clause != bare and len(clause.split()) >= 4:
        forms.append(clause)
    return forms


def sentences_of(text: str) -> list[str]:
    """The sentences of a message, each with its closing punctuation."""
    found, start = [], 0
    for match in _SENTENCE_END_RE.finditer(text):
        found.append(text[start:match.start() + 1].strip())
        start = match.end()
    found.append(text[start:].strip())
    return [sentence for sentence in found if sentence]


def _is_variable(token: str) -> bool:
    """Whether masking turns this whitespace-separated token (or part of it) into a variable part."""
    return MASK in mask_line(token) or bool(_PLACEHOLDER_RUN_RE.fullmatch(token.strip(".,;:")))


def trim_edges(text: str) -> str:
    """A part without the punctuation a cut left at its ends; a quote goes only when its pair is gone."""
    for _ in range(2):
        # An opening bracket at the start belongs to the part ("(sqlite3.OperationalError) ..."); at the
        # end it is what the cut left.
        text = text.strip(_CUT_PUNCTUATION).rstrip(_EDGE_PUNCTUATION)
        for quote in _QUOTES:
            if text.count(quote) % 2:
                text = text[1:] if text.startswith(quote) else text[:-1] if text.endswith(quote) else text
    return text.strip(_CUT_PUNCTUATION).rstrip(_EDGE_PUNCTUATION)


def without_variable_tail(text: str) -> str:
    """The message without the variable parts that end it: 'resolve module "x" from file "/a/b.js"' ->
    'resolve module "x" from file'."""
    tokens = text.split()
    while tokens and (_is_variable(tokens[-1]) or not re.search(r"\w", tokens[-1])):
        tokens.pop()
    # "... in use (port 7070)" -> "... in use": a bracket whose variable content went goes with it.
    return trim_edges(_UNCLOSED_RE.sub("", " ".join(tokens)))


def constant_runs(text: str) -> list[str]:
    """The runs of words between a message's variable parts: 'Error: https://h/x.git/info/refs not found:
    did you run git' -> 'Error:', 'not found: did you run git'."""
    runs: list[list[str]] = [[]]
    for token in text.split():
        if _is_variable(token):
            runs.append([])
        else:
            runs[-1].append(token)
    return [trim_edges(_UNCLOSED_RE.sub("", " ".join(run))) for run in runs if run]


def chain_links(text: str) -> list[str]:
    """The links of a chained message, alone and with the next one: 'rpc error: code = 2 desc = oci
    runtime error: exec failed: ...' -> 'oci runtime error', 'oci runtime error: exec failed', ..."""
    links = [trim_edges(link) for link in _LINK_SPLIT_RE.split(text)]
    links = [link for link in links if link]
    if len(links) < 2:
        return []
    pairs = [f"{first}: {second}" for first, second in zip(links, links[1:], strict=False)]
    return links + pairs


def inner_quotes(text: str) -> list[str]:
    """Messages quoted inside a message: 'caused "...: \\"read parent: connection reset by peer\\""'."""
    return [(match.group(1) or match.group(2)).strip() for match in _INNER_QUOTE_RE.finditer(text)]


def quotable_part(part: str, *, min_words: int = MIN_PART_WORDS, errorish: bool = True) -> bool:
    """Whether a part of a message is specific enough to be a signature of its own."""
    return (len(_WORD_RE.findall(part)) >= min_words and (not errorish or looks_like_error(part))
            and not too_common(part))


def too_common(part: str) -> bool:
    """Whether a part says little besides what countless unrelated errors print: fewer than two words
    that are neither generic ("error", "failed") nor part of a common cause ("connection refused")."""
    masked = mask_line(part)
    for phrase in _COMMON_CAUSES:
        masked = masked.replace(phrase, " ")
    return len(distinctive_words(masked)) < 2


def _placeholder_runs(message: str) -> list[str]:
    runs = [run.strip(" `'\"") for run in _PLACEHOLDER_RUN_RE.split(message)]
    runs = [run.rstrip(",;:([").strip() for run in runs if len(run.split()) >= 3 and run != message]
    if "{" not in message:
        # Only an author's stand-ins ('xxx', [...]): the runs around them may be the author's own words.
        runs = [run for run in runs if looks_like_error(run)]
    return [run for run in runs if not too_common(run)]


def _parts(text: str) -> list[str]:
    """The parts of one sentence (or line) of a message worth trying as forms."""
    trimmed = _TRAILING_PAREN_RE.sub("", text)
    clause = re.split(r"[,;] ", trimmed, maxsplit=1)[0]
    parts = [trimmed, clause]
    for base in unique([text, trimmed, clause]):
        parts.append(without_variable_tail(base))
    parts += constant_runs(trimmed) + chain_links(trimmed) + inner_quotes(text)
    return parts


def message_forms(message: str) -> list[str]:
    """A message and the parts a reader may quote alone (see the module docstring), at most MAX_FORMS."""
    message = message.strip()
    forms = [message]
    sentences = sentences_of(message)
    if len(sentences) > 1 and len(sentences[0].split()) >= 3:
        forms.append(sentences[0])
    # "... (possibly because of ...)": what a program adds in parentheses is often left out when quoted.
    trimmed = _TRAILING_PAREN_RE.sub("", message)
    if trimmed != message and len(trimmed.split()) >= 3:
        forms.append(trimmed)
    for base in unique([message, trimmed]):
        forms += cause_tails(base)
    # A template ("Missing the required argument `{argument_name}` for field `{field_name}`"): the runs of
    # words between placeholders are what every rendering of it prints verbatim.
    placeholder_runs = _placeholder_runs(message) if _PLACEHOLDER_RUN_RE.search(message) else []
    forms += placeholder_runs
    lines = [line for line in _LINE_BREAK_RE.split(message) if line.strip()]
    pieces = [sentence for line in lines[:4] for sentence in sentences_of(line)[:4]]
    for run in placeholder_runs:
        pieces += sentences_of(run)[:4]
    parts: list[str] = []
    for piece in unique(pieces):
        parts.append(piece)
        parts += _parts(piece)
    forms += [part for part in unique(parts) if quotable_part(part)]
    # A template's sentences are parts of a known message: they need no error word of their own
    # ("The `{database_name}` database is a system database, it should not be altered ...").
    forms += [sentence for run in placeholder_runs for sentence in sentences_of(run)
              if quotable_part(sentence, errorish=False)]
    return unique(forms)[:MAX_FORMS]
