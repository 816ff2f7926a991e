"""Heuristics on text: which lines are error strings (and not code), how risky a fix is, which tags fit."""

from __future__ import annotations

import re

from ..matching.masking import strip_log_prefix
from ..models import Risk
from .blocks import Block
from .errorish import looks_like_code, looks_like_error, unique
from .forms import heading_message_forms, message_forms, quotable_part

# Blocks of output: plain text, logs, and output by another name (Python tracebacks, captured streams).
OUTPUT_LANGS = frozenset({"text", "txt", "console", "log", "logs", "output", "plaintext", "plain", "error", "pytb",
                          "py3tb", "traceback", "stacktrace", "stderr", "stdout", "ansi", "nohighlight",
                          "no-highlight"})
_PLAIN_FENCE_LANGS = OUTPUT_LANGS | {""}


_TIMESTAMP_RE = re.compile(
    r"^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?\]?\s*([-|:]\s*)?"
)


def signature_text(line: str) -> str:
    """A log line as a literal signature: without its timestamp, which would never match again."""
    return _TIMESTAMP_RE.sub("", line.strip())[:500].strip()


# Prefixes a log line carries before its message: journald/syslog ("Dec 07 00:37:53 host kubelet[688]: "),
# klog ("I1207 00:37:53.229561     688 server.go:616] "), logrus text ("ERRO[08:30:54] "), "!!! [0116 08:30:53]".
_SYSLOG_PREFIX_RE = re.compile(r"^[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \S+ [\w./@-]+(?:\[\d+\])?: ")
_KLOG_PREFIX_RE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.-]+:\d+\] ")
# What is left of a klog header when a guide quotes the line from its source location on: "proxier.go:340] ".
_SOURCE_LOCATION_RE = re.compile(r"^[\w.-]+\.[a-z]{1,5}:\d+\]\s+")
_BRACKET_PREFIX_RE = re.compile(r"^(?:[A-Z]{4,5}|!!!) ?\[[\d:. ]+\] ")
# Tornado's and traitlets' header (Jupyter, JupyterHub and other Tornado servers): a level letter, the time
# and the logger: "[E 2026-03-01 10:22:01.512 ServerApp] ", "[W 260301 10:22:01 web:2246] ".
# Where a compiler or Python's warnings put a diagnostic: "src/tls.c:3:10: fatal error: ...",
# "/usr/lib/python3/x.py:12: DeprecationWarning: ...".
_DIAGNOSTIC_LOCATION_RE = re.compile(
    r"^[\w./\\-]+\.\w{1,5}:\d+(?::\d+)?: (?=(?:fatal )?error: |warning: |[A-Z]\w*(?:Warning|Error): )")
_TORNADO_PREFIX_RE = re.compile(r"^\[[DIWEC] (?:\d{4}-\d\d-\d\d |\d{6} )?\d\d:\d\d:\d\d(?:[.,]\d+)?(?: [\w.:-]+){1,3}\]\s+")
_PROMPT_RE = re.compile(r"^(\$|#|PS [^>]*>|[A-Z]:\\[^>]*>|\w+@[\w.-]+:[^$#]*[$#])\s")
_SHELL_LANGS = {"bash", "sh", "shell", "zsh", "console", "terminal", "powershell", "pwsh", "ps", "ps1", "cmd",
                "bat", "shell-session", "sh-session", "none", "pycon", "ipython", "ipython3", "python-console"}
# A line that only output prints, whatever the block's language tag says: an exception or warning and its
# message ("ModuleNotFoundError: No module named 'x'" in a python block, "Uncaught TypeError: ..." in a js one,
# Java's "Exception in thread "main" ...", a Go or Rust panic, a compiler's "file.c:3:10: fatal error: ...").
_EXCEPTION_LINE_RE = re.compile(
    r"^(?:[\w./-]+:\d+(?::\d+)?: )?(?:Uncaught |Unhandled |Caused by: |Exception in thread \"[^\"\n]*\" )?"
    r"(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*)?(?:Error|Exception|Warning)(?: \[[^\]\n]*\])?: \S+ \S"
    r"|^panic: \S+ \S|^thread '[^'\n]*' panicked at|^[\w./-]+:\d+(?::\d+)?: (?:fatal )?error: \S")


_DEBUG_PREFIX_RE = re.compile(r"^(?:debug|trace|info)\d?: ", re.IGNORECASE)
# A line whose own level says it is an error or warning: klog E/W/F, logrus ERRO/WARN/FATA, level=error.
_ERROR_LEVEL_RE = re.compile(r"(?:^|\s)(?:[EWF]\d{4} \d\d:|(?:ERRO|WARN|FATA)\[|level=(?:error|warn\w*|fatal))")


def without_log_header(line: str) -> str:
    """A log line without its journald, klog, logrus or Tornado header, timestamp or source location; a level
    word stays."""
    line = _SYSLOG_PREFIX_RE.sub("", line.strip())
    line = _DEBUG_PREFIX_RE.sub("", line)
    line = _KLOG_PREFIX_RE.sub("", line)
    line = _SOURCE_LOCATION_RE.sub("", line)
    line = _BRACKET_PREFIX_RE.sub("", line)
    line = _TORNADO_PREFIX_RE.sub("", line)
    line = _DIAGNOSTIC_LOCATION_RE.sub("", line)
    return signature_text(line)


def message_of(line: str) -> str:
    """A log line's message: without journald, klog, logrus or timestamp-and-level prefixes."""
    return strip_log_prefix(without_log_header(line))



_DECORATION_RE = re.compile(r"^[@|*#=]+\s+(?=\w)|(?<=\S)\s+[@|*#=]+$")
INTRODUCES_OUTPUT_RE = re.compile(
    r"\b(errors?|messages?|output|see|seeing|saw|shows?|prints?|says|reports?|following|warns?|like this)\b[^.!?]{0,60}[:.]?\s*$",
    re.IGNORECASE)


# Inline HTML that docs put inside code blocks to style a placeholder: "https://host/<em>user</em>/repo".
_INLINE_TAG_RE = re.compile(r"</?(?:em|strong|b|i|code|span|kbd|var)\b[^<>\n]*>", re.IGNORECASE)
_COLUMN_GAP_RE = re.compile(r" {2,}|\t+")
# A line wrapped with a shell-style continuation (" \" at its end) goes on in the next one.
_CONTINUATION_RE = re.compile(r"[ \t]+\\[ \t]*\n[ \t]*")
# How many lines of one block may give messages: a long log excerpt holds few distinct errors.
MAX_BLOCK_MESSAGES = 24


_CALM_RE = re.compile(r"(?:^|[\s\[(|<])(?:info|debug|trace|notice|normal)(?:[\s\])|>:]|$)", re.IGNORECASE)


def _follow_on_lines(content: str) -> list[str]:
    """Output lines right under an error line, which report the same failure ("Error: The `brew link`
    step did not complete successfully" / "The formula built, but is not symlinked into ..."): at most
    two per error line, never a command, code, a calm log line or a line of its own after a blank."""
    raw = [_DECORATION_RE.sub("", _INLINE_TAG_RE.sub("", line).strip()) for line in content.splitlines()]
    raw = [line[2:].strip() if line.startswith("> ") else line for line in raw]
    found: list[str] = []
    for index, line in enumerate(raw):
        if not line or not looks_like_error(line) or looks_like_code(line) or _PROMPT_RE.match(line):
            continue
        for after in raw[index + 1:index + 3]:
            if (not after or looks_like_error(after) or looks_like_code(after) or _PROMPT_RE.match(after)
                    or _CALM_RE.search(after[:80]) or len(after.split()) < 3):
                break
            found.append(after)
    return found


def _split_messages(lines: list[str]) -> list[str]:
    """Messages a line break splits: a line ending in ':' or ',' goes on in the next one
    ("error: failed to run Kubelet: failed to create kubelet:" / "misconfiguration: ...")."""
    return [f"{first} {second}" for first, second in zip(lines, lines[1:], strict=False)
            if first.endswith((":", ",")) and not _PROMPT_RE.match(second) and not looks_like_code(second)]


def _message_column(line: str) -> str:
    """The last column of aligned output, where tools put the message (kubectl's events:
    "Warning  BackOff  3m2s (x18 over 6m48s)  kubelet  Back-off restarting failed container")."""
    columns = _COLUMN_GAP_RE.split(line)
    return columns[-1].strip() if len(columns) >= 3 else ""


def _line_messages(line: str) -> list[str]:
    """The messages one output line shows: the line without its prefixes, and its message column."""
    message = message_of(line)[:500]
    found = message_forms(message) if looks_like_error(message) or _ERROR_LEVEL_RE.search(line[:120]) else []
    return found + _column_messages(line)


def _column_messages(line: str) -> list[str]:
    column = _message_column(line)
    if column and column != line and looks_like_error(column) and quotable_part(column):
        return message_forms(column)
    return []


def error_block_lines(block: Block, *, is_problem: bool, introduced: bool = False) -> list[str]:
    """The lines of a code block that show error output; [] when the block is code or commands.

    A short block of output under a problem heading is taken whole (what the reader sees): a plain
    block entirely, a shell block from its first error line on (the failing command's output).
    Otherwise, in a plain, console or shell block, each output line that reads as an error (commands and
    code skipped), and each message a line break splits. A block the text introduces as an error ("If
    you're seeing this error:") is output, whatever its language tag says: its lines are taken whole,
    commands skipped.
    """
    lang = block.info.split()[0].lower() if block.info else ""
    # Output the author wrapped ("Error creating: Internal error occurred: \" / "    failed calling admission
    # webhook ..."): one line. In a script the lines stay apart, as the commands they are.
    content = _CONTINUATION_RE.sub(" ", block.content) if lang in _PLAIN_FENCE_LANGS else block.content
    follow_ons = _follow_on_lines(content)
    lines = [_INLINE_TAG_RE.sub("", line).strip() for line in content.splitlines() if line.strip()]
    # "> fatal: HTTP request failed": GitHub Docs mark a command's output with "> ".
    lines = [line[2:].strip() if line.startswith("> ") else line for line in lines]
    # Banner decoration around a message: "@    WARNING: UNPROTECTED PRIVATE KEY FILE!    @".
    lines = [_DECORATION_RE.sub("", line) for line in lines]
    lines = [line for line in lines if re.search(r"\w", line)]
    if not lines:
        return []
    whole: list[str] = []
    if introduced and len(lines) <= 8:
        whole = [line for line in lines if not _PROMPT_RE.match(line) and not looks_like_code(line)]
    if len(lines) <= 8 and not any(looks_like_code(line) for line in lines):
        errors = [line for line in lines if looks_like_error(signature_text(line))]
        if whole:
            pass
        elif lang in _PLAIN_FENCE_LANGS:
            whole = lines if is_problem else errors
        elif len(errors) == len(lines):
            whole = lines
        elif is_problem and errors and lang in _SHELL_LANGS:
            whole = [line for line in lines[lines.index(errors[0]):] if not _PROMPT_RE.match(line)]
    if lang in _PLAIN_FENCE_LANGS or lang in _SHELL_LANGS:
        whole += [line for line in follow_ons if line not in whole]
    found = [without_log_header(line) for line in whole]
    if lang in _PLAIN_FENCE_LANGS or lang in _SHELL_LANGS:
        taken = 0
        for line in [*lines, *_split_messages(lines)]:
            if line in whole or _PROMPT_RE.match(line) or looks_like_code(line):
                continue
            messages = _line_messages(line)
            found += messages
            taken += bool(messages)
            if taken >= MAX_BLOCK_MESSAGES:
                break
    else:
        found += [message for line in lines if line not in whole and _EXCEPTION_LINE_RE.match(line)
                  for message in _line_messages(line)]
    for line in whole:
        found += message_forms(without_log_header(line))[1:] + message_forms(message_of(line))
        found += _column_messages(line)
    return unique(found)


# Up to 600 characters: an error reference quotes a whole message, hints and links included.
_DOUBLE_QUOTED_RE = re.compile(r"[\"“]([^\"“”\n]{4,600})[\"”]")
_SINGLE_QUOTED_RE = re.compile(r"(?<![\w])'([^'\n]{3,300}?)'(?![\w])|‘([^‘’\n]{3,300})’")
_CODE_SPAN_RE = re.compile(r"`([^`\n]{4,300})`")


_HTTP_STATUS_RE = re.compile(r"\b[45]\d\d(?: [A-Z][A-Za-z]+)+")
_ERROR_NAME_RE = re.compile(
    r"\b(?:[A-Z][a-z0-9]+){2,}(?:Error|Exception|BackOff|Killed|Timeout)\b|\bE[A-Z]{5,}\b|\bOOMKilled\b"
)


_UNCLOSED_QUOTE_RE = re.compile(r"[\"“]([^\"“”]{4,400})$")


def unclosed_quote(text: str) -> str:
    """What follows a quote mark that is never closed, which authors leave open around a long message
    ("I'm getting "Module '[...]' has no exported member"), or ""."""
    text = text.strip()
    if text.count('"') % 2 == 0 and text.count("“") <= text.count("”"):
        return ""
    match = _UNCLOSED_QUOTE_RE.search(text)
    return match.group(1).strip() if match else ""


def nested_quotes(text: str) -> list[str]:
    """Quotes that hold quotes of their own, with the same marks: 'a warning about "Unable to get an update
    from the "stable" chart repository"' -> 'Unable to get an update from the "stable" chart repository'.
    A mark after a space (or at the start) and before a word opens a quote; one after a word closes it."""
    found: list[str] = []
    opened: list[int] = []
    nested = False
    for match in re.finditer(r'"', text):
        at = match.start()
        before, after = text[at - 1:at] if at else " ", text[at + 1:at + 2] or " "
        if (before.isspace() or before in "([{:") and not after.isspace():
            opened.append(at)
        elif opened and not before.isspace():
            start = opened.pop()
            if opened:
                nested = True
            elif nested:
                found.append(text[start + 1:at].strip())
                nested = False
    return [quote for quote in found if 4 <= len(quote) <= 600]


def quoted_error_strings(text: str) -> list[str]:
    """Error strings a sentence names: "Connection refused" errors, `uv: command not found`,
    ImagePullBackOff, 429 Too Many Requests."""
    found: list[str] = []
    for m in _DOUBLE_QUOTED_RE.finditer(text):
        found += message_forms(m.group(1)) if looks_like_error(m.group(1)) else [m.group(1).strip()]
    unclosed = unclosed_quote(text)
    if unclosed and looks_like_error(unclosed):
        found += message_forms(unclosed)
    found += [form for quote in nested_quotes(text) if looks_like_error(quote) for form in message_forms(quote)]
    found += [_quoted(m).strip() for m in _SINGLE_QUOTED_RE.finditer(text) if " " in _quoted(m)]
    found += [form for m in _CODE_SPAN_RE.finditer(text) if looks_like_error(m.group(1))
              for form in message_forms(m.group(1))]
    found += [m.group(0).strip() for m in _HTTP_STATUS_RE.finditer(text)]
    found += [m.group(0) for m in _ERROR_NAME_RE.finditer(text)]
    # A lone short word ("Ready") would match far too many log lines to mean anything.
    return unique([s for s in found if re.search(r"[A-Za-z]", s) and (" " in s or len(s) >= 8)])


def _quoted(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group is not None)


# Bold or italic text that reads as an error: "**Cannot connect to the Docker daemon**" on a line of its own
# stands for a heading in many READMEs.
# Bold advice ("**Check file permissions**", "**If the database is corrupted**") is not a message.
_INSTRUCTION_RE = re.compile(
    r"^(?:check|monitor|verify|ensure|make sure|run|use|try|restart|install|update|upgrade|set|add|remove"
    r"|increase|decrease|enable|disable|look|review|see|read|open|clear|delete|reduce|configure|consider"
    r"|confirm|inspect|test|validate|watch|avoid|if|when|for|to|how|why|what|note|tip|important)\b",
    re.IGNORECASE)
_BOLD_RE = re.compile(r"\*\*([^*\n]{6,300}?)\*\*|(?<!\w)__([^_\n]{6,300}?)__(?!\w)")
_ITALIC_RE = re.compile(r"(?<![*\w])[*_]([^*_`\n]{10,300}?)[*_](?![*\w])")
_HEX_CODE_RE = re.compile(r"(?:\b[A-Za-z][\w']*[ \t]+){0,4}(?:error|code|hresult)?:?[ \t]*\b0x[0-9A-Fa-f]{3,16}\b",
                          re.IGNORECASE)


_INTRODUCED_RE = re.compile(r"(error|message|output|see|says|shows|prints|reports|returns|following)\W{0,6}$",
                            re.IGNORECASE)


_NAMED_AFTER_RE = re.compile(r"^\W{0,3}(?:errors?|warnings?|messages?|exceptions?)\b", re.IGNORECASE)


def _introduced(text: str, start: int, end: int | None = None) -> bool:
    """Whether the quote at `start` follows words that introduce a message ("fails with the error: "), or
    the quote ending at `end` is named as one ("the `Module "fs" has been externalized` warning")."""
    return bool(_INTRODUCED_RE.search(text[max(0, start - 40):start])
                or (end is not None and _NAMED_AFTER_RE.match(text[end:end + 20])))


# A line of prose that is the message, as printed ("Error: Bind for 0.0.0.0:8080 failed: port is already
# allocated.") or after a label that says so ("Error message: ...", "The exact error is: ...").
_PRINTED_LINE_RE = re.compile(r"^(?:error|fatal)\s*:\s+\S", re.IGNORECASE)
ERROR_LABEL_RE = re.compile(
    r"^(?:the )?(?:full |exact |complete )?(?:(?:error|exception)(?: message| text| output)?|message)"
    r"(?: is| reads| says| was)?$", re.IGNORECASE)
_LABELLED_LINE_RE = re.compile(r"^(?P<label>[^:]{5,40}):\s+(?P<message>\S.*)$")


def printed_line_messages(plain: str) -> list[str]:
    """The message a line of prose is, or names after an error label; [] for any other line. The full stop
    that ends the sentence is the author's, not the message's."""
    plain = re.sub(r"(?<=\w)\.$", "", plain.strip())
    if len(plain) > 400 or looks_like_code(plain):
        return []
    if _PRINTED_LINE_RE.match(plain) and looks_like_error(plain[plain.index(":") + 1:]):
        return heading_message_forms(plain)
    labelled = _LABELLED_LINE_RE.match(plain)
    if labelled and ERROR_LABEL_RE.match(labelled.group("label").strip()) and looks_like_error(labelled.group("message")):
        return message_forms(labelled.group("message"))
    return []


def prose_error_strings(text: str) -> list[str]:
    """Error messages a sentence quotes: inline code, quotes or emphasis that read as errors, HTTP statuses
    with their reason, exception and errno names, and hex codes with the words before them
    ("you may see `ENOENT: no such file or directory`", "failed with error 0x80070003")."""
    found: list[str] = []
    found += [form for m in _CODE_SPAN_RE.finditer(text)
              if (looks_like_error(m.group(1)) or _introduced(text, m.start(), m.end()))
              and not looks_like_code(m.group(1))
              for form in message_forms(m.group(1))]
    stripped = text.strip()
    if stripped[:1] in "\"“" and unclosed_quote(stripped) == stripped[1:].strip():
        # A paragraph that opens a quote and never closes it: one message, often over several sentences.
        found += message_forms(stripped[1:])
    for m in _DOUBLE_QUOTED_RE.finditer(text):
        # A paragraph that is one quoted message (an error reference) or a quote after "the error:".
        whole = m.start() <= 1 and m.end() >= len(stripped) - 1
        if whole or looks_like_error(m.group(1)) or _introduced(text, m.start(), m.end()):
            found += message_forms(m.group(1))
    found += [form for quote in nested_quotes(text) if looks_like_error(quote) for form in message_forms(quote)]
    found += [_quoted(m).strip() for m in _SINGLE_QUOTED_RE.finditer(text)
              if " " in _quoted(m) and looks_like_error(_quoted(m))]
    found += [m.group(1).strip() for m in _ITALIC_RE.finditer(text) if " " in m.group(1) and looks_like_error(m.group(1))]
    for m in _BOLD_RE.finditer(text):
        bold = _quoted(m).strip()
        if (len(bold.split()) >= 3 and looks_like_error(bold) and not looks_like_code(bold)
                and not _INSTRUCTION_RE.match(bold)):
            found += message_forms(bold)
    found += [m.group(0).strip() for m in _HTTP_STATUS_RE.finditer(text)]
    found += [m.group(0) for m in _ERROR_NAME_RE.finditer(text)]
    found += [m.group(0).strip() for m in _HEX_CODE_RE.finditer(text)]
    return unique([s.strip(" .,;") for s in found if re.search(r"[A-Za-z]", s) and (" " in s or len(s) >= 8)])




# --------------------------------------------------------------------------------------------------
# Risk, tags, summaries
# --------------------------------------------------------------------------------------------------

_HIGH_RISK_RE = re.compile(
    r"rm -rf|drop (table|database)|\bdropdb\b|down -v|volume (rm|prune)|system prune|\bprune\b|flushall|flushdb"
    r"|git clean|reset --hard|\btruncate\b|destructive|delete from|downgrade base",
    re.IGNORECASE,
)
_MEDIUM_RISK_RE = re.compile(
    r"\b(restart|sudo|chmod|chown|kill|pkill|systemctl|migrate|upgrade|rollout|scale|patch|iptables|ufw|reboot"
    r"|replicas|alembic)\b",
    re.IGNORECASE,
)


def risk_for(text: str) -> str:
    if _HIGH_RISK_RE.search(text):
        return Risk.HIGH.value
    if _MEDIUM_RISK_RE.search(text):
        return Risk.MEDIUM.value
    return Risk.LOW.value


_TAG_RULES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern, re.IGNORECASE | re.MULTILINE))
    for name, pattern in [
        ("redis", r"\bredis\b"),
        ("postgres", r"\bpostgres(ql)?\b|\bpsql\b|\bpg_\w+|\bpgbouncer\b"),
        ("sqlite", r"\bsqlite3?\b"),
        ("docker", r"\bdocker(-compose)?\b|\bcontainers?\b"),
        ("kubernetes", r"\bkubectl\b|\bkubernetes\b|\bk8s\b|\bpods?\b"),
        ("websocket", r"\bwebsockets?\b|\bws://"),
        ("cors", r"\bcors\b"),
        ("memory", r"\bmemory\b|\bheap\b|\boom\b|out of memory"),
        ("disk", r"\bdisk\b|no space left"),
        ("auth", r"\bauth(entication|orization)?\b|\bapi[ _-]?keys?\b|\bjwt\b|\b401\b|\bunauthori[sz]ed\b"),
        ("permissions", r"permission denied|\bchmod\b|\bchown\b|\bpermissions?\b"),
        ("network", r"\bnetwork\b|connection refused|\bfirewall\b|\bproxy\b"),
        ("dns", r"\bdns\b|\bnslookup\b|\benotfound\b"),
        ("tls", r"\bssl\b|\btls\b|\bcertificates?\b"),
        ("performance", r"\bslow\b|\blatency\b|\bperformance\b|\bcpu\b|response times?"),
        ("database", r"\bdatabases?\b|\bsql\b|\bquer(y|ies)\b"),
        ("python", r"\bpython3?\b|\bpip\b|\bmodulenotfounderror\b|\bvenv\b"),
        ("node", r"\bnode\.?js\b|\bnpm\b|\bnpx\b|\bpm2\b|\bnvm\b|^\s*node\s"),
        ("dependencies", r"\bdependenc(y|ies)\b|\bmissing (module|package)s?\b"),
        ("timeout", r"\btime(d)?[ -]?outs?\b"),
        ("ports", r"\bports?\b|\baddress already in use\b|\beaddrinuse\b"),
        ("migrations", r"\bmigrations?\b|\balembic\b"),
        ("monitoring", r"\bprometheus\b|\bgrafana\b|\bmetrics\b"),
        ("llm", r"\bllm\b|\bopenai\b|\banthropic\b"),
    ]
]


def tags_for(title: str, body: str) -> list[str]:
    """A few tags from keywords; title hits weigh more, so a passing mention does not tag."""
    scores = []
    for name, pattern in _TAG_RULES:
        score = 3 * len(pattern.findall(title)) + min(sum(1 for _ in pattern.finditer(body)), 5)
        if score >= 3:
            scores.append((-score, name))
    return [name for _, name in sorted(scores)[:5]]


def shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"
