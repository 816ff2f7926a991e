"""Heuristics on text: which lines are error strings (and not code), how risky a fix is, which tags fit."""

from __future__ import annotations

import re

from ..matching.masking import strip_log_prefix
from ..models import Risk
from .blocks import Block

_ERRORISH_RE = re.compile(
    r"error|exception|fatal|fail(ed|ure|s|ing)?\b|refused|denied|not found|no module|time(d)? ?out|cannot|can't"
    r"|couldn't|could not|unable|invalid|blocked|exited with code|killed|\boom\b|no space|locked|does not exist"
    r"|unauthori[sz]ed|forbidden|errno|traceback|warning|panic|segfault|\b[45]\d\d\b|enotfound|econnrefused"
    r"|eaddrinuse|expired|exceeded|unavailable|unreachable|disconnect|connection lost|not responding|missing"
    r"|unknown|unrecogni[sz]ed|unsupported|rejected|not allowed|no such|incorrect|closed|too (open|many|long|large)"
    r"|not recogni[sz]ed|no route|reset by peer|malformed|unprotected|no matches|not supported|does(n't| not) support"
    r"|violat|deadlock|conflict|mismatch|out of range|not (valid|empty|connected|reachable|running|ready)|was empty"
    r"|crash|abort|corrupt|broken|stuck|hang|hung|overflow|limit|already (exists|in use|recorded)|unexpected"
    r"|permission|insufficient|exhausted|terminated|evict|back-?off|oops",
    re.IGNORECASE,
)
_LOG_LINE_RE = re.compile(r"^\[?(ERROR|WARN(ING)?|FATAL|CRITICAL|INFO|DEBUG|E|W)\b[\]:]", re.IGNORECASE)
_SHELL_COMMANDS = frozenset([
    "alembic", "apt", "apt-get", "brew", "cat", "cd", "chmod", "chown", "cp", "curl", "df", "dig", "docker",
    "docker-compose", "du", "echo", "env", "export", "find", "free", "git", "grep", "helm", "htop", "iostat",
    "iptables", "journalctl", "kill", "kubectl", "ln", "ls", "lsof", "make", "mkdir", "mv", "nc", "netstat",
    "nslookup", "node", "npm", "npx", "nvm", "openssl", "pg_isready", "ping", "pip", "pip3", "pkill", "pm2",
    "printenv", "ps", "psql", "py-spy", "pytest", "python", "python3", "redis-cli", "rm", "sed", "source", "ss",
    "strace", "sudo", "systemctl", "tail", "tar", "telnet", "top", "touch", "ufw", "uv", "uvicorn", "watch",
    "wget", "wscat", "yarn",
])
_CODE_LINE_RE = re.compile(
    r"^(#|//|--|/\*|\*|\$ |>>> |import |from \S+ import|def |class |async |await |return\b|const |let |var "
    r"|function\b|if\b|for\b|while\b|try\b|except\b|with |print\(|console\.|@\w|[{}\[\]()],?$"
    r"|(SELECT|INSERT|UPDATE|CREATE|ALTER|DROP|EXPLAIN|SHOW)\b)"
)
_ASSIGNMENT_RE = re.compile(r"^[\w.\[\]'\"]+\s*=[^=]")
_PLAIN_FENCE_LANGS = {"", "text", "txt", "console", "log", "logs", "output", "plaintext", "plain", "error"}


def looks_like_code(line: str) -> bool:
    stripped = line.strip()
    if _CODE_LINE_RE.match(stripped) or _ASSIGNMENT_RE.match(stripped):
        return True
    first = re.split(r"[\s(]", stripped, maxsplit=1)[0]
    return first.lower() in _SHELL_COMMANDS and not stripped[len(first):].startswith(":")


def looks_like_error(line: str) -> bool:
    return bool(_ERRORISH_RE.search(line) or _LOG_LINE_RE.match(line.strip()))


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
_BRACKET_PREFIX_RE = re.compile(r"^(?:[A-Z]{4,5}|!!!) ?\[[\d:. ]+\] ")
_PROMPT_RE = re.compile(r"^(\$|#|PS [^>]*>|[A-Z]:\\[^>]*>|\w+@[\w.-]+:[^$#]*[$#])\s")
_SHELL_LANGS = {"bash", "sh", "shell", "zsh", "console", "terminal", "powershell", "pwsh", "ps", "ps1", "cmd",
                "bat", "shell-session", "sh-session", "none"}


_DEBUG_PREFIX_RE = re.compile(r"^(?:debug|trace|info)\d?: ", re.IGNORECASE)
# A line whose own level says it is an error or warning: klog E/W/F, logrus ERRO/WARN/FATA, level=error.
_ERROR_LEVEL_RE = re.compile(r"(?:^|\s)(?:[EWF]\d{4} \d\d:|(?:ERRO|WARN|FATA)\[|level=(?:error|warn\w*|fatal))")


def without_log_header(line: str) -> str:
    """A log line without its journald, klog or logrus header and timestamp; a level word stays."""
    line = _SYSLOG_PREFIX_RE.sub("", line.strip())
    line = _DEBUG_PREFIX_RE.sub("", line)
    line = _KLOG_PREFIX_RE.sub("", line)
    line = _BRACKET_PREFIX_RE.sub("", line)
    return signature_text(line)


def message_of(line: str) -> str:
    """A log line's message: without journald, klog, logrus or timestamp-and-level prefixes."""
    return strip_log_prefix(without_log_header(line))


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


_DECORATION_RE = re.compile(r"^[@|*#=]+\s+(?=\w)|(?<=\S)\s+[@|*#=]+$")
INTRODUCES_OUTPUT_RE = re.compile(
    r"\b(errors?|messages?|output|see|seeing|saw|shows?|prints?|says|reports?|following|warns?|like this)\b[^.!?]{0,60}[:.]?\s*$",
    re.IGNORECASE)


def error_block_lines(block: Block, *, is_problem: bool, introduced: bool = False) -> list[str]:
    """The lines of a code block that show error output; [] when the block is code or commands.

    A short block of output under a problem heading is taken whole (what the reader sees); otherwise, in a
    plain, console or shell block, each output line that reads as an error (commands and code skipped).
    A block the text introduces as an error ("If you're seeing this error:") is output, whatever its
    language tag says: its lines are taken whole, commands skipped.
    """
    lang = block.info.split()[0].lower() if block.info else ""
    lines = [line.strip() for line in block.content.splitlines() if line.strip()]
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
    found = [without_log_header(line) for line in whole]
    if lang in _PLAIN_FENCE_LANGS or lang in _SHELL_LANGS:
        for line in lines:
            if line in whole or _PROMPT_RE.match(line) or looks_like_code(line):
                continue
            message = message_of(line)[:500]
            if looks_like_error(message) or _ERROR_LEVEL_RE.search(line[:120]):
                found += message_forms(message)
            if len(found) >= 24:
                break
    for line in whole:
        found += message_forms(without_log_header(line))[1:]
    return unique(found)


_SENTENCE_END_RE = re.compile(r"(?<=[a-z)\]`'\"}])[.!]\s+(?=[A-Z])")


_PLACEHOLDER_RUN_RE = re.compile(r"[`'\"]?\\?\{\{?[^{}\n]{0,60}\}?\}[`'\"]?")


_SEVERITY_PREFIX_RE = re.compile(r"^(?:error|fatal|warning|err|warn)\s*:\s*", re.IGNORECASE)


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


def message_forms(message: str) -> list[str]:
    """A message and the parts a reader may quote alone: its first sentence and its innermost cause."""
    message = message.strip()
    forms = [message]
    sentences = _SENTENCE_END_RE.split(message, maxsplit=1)
    if len(sentences) > 1 and len(sentences[0].split()) >= 3:
        forms.append(sentences[0] + message[len(sentences[0])])
    # "... (possibly because of ...)": what a program adds in parentheses is often left out when quoted.
    trimmed = re.sub(r"\s*\([^()]{20,}\)?$", "", message)
    if trimmed != message and len(trimmed.split()) >= 3:
        forms.append(trimmed)
    for base in unique([message, trimmed]):
        forms += cause_tails(base)
    # A template ("Missing the required argument `{argument_name}` for field `{field_name}`"): the runs of
    # words between placeholders are what every rendering of it prints verbatim.
    if "{" in message:
        for run in _PLACEHOLDER_RUN_RE.split(message):
            run = run.strip(" `'\"")
            if len(run.split()) >= 3 and run != message:
                forms.append(run)
    return forms


_DOUBLE_QUOTED_RE = re.compile(r"[\"“]([^\"“”\n]{4,300})[\"”]")
_SINGLE_QUOTED_RE = re.compile(r"(?<![\w])'([^'\n]{3,300}?)'(?![\w])")
_CODE_SPAN_RE = re.compile(r"`([^`\n]{4,300})`")


_HTTP_STATUS_RE = re.compile(r"\b[45]\d\d(?: [A-Z][A-Za-z]+)+")
_ERROR_NAME_RE = re.compile(
    r"\b(?:[A-Z][a-z0-9]+){2,}(?:Error|Exception|BackOff|Killed|Timeout)\b|\bE[A-Z]{5,}\b|\bOOMKilled\b"
)


def quoted_error_strings(text: str) -> list[str]:
    """Error strings a sentence names: "Connection refused" errors, `uv: command not found`,
    ImagePullBackOff, 429 Too Many Requests."""
    found: list[str] = []
    found += [m.group(1).strip() for m in _DOUBLE_QUOTED_RE.finditer(text)]
    found += [m.group(1).strip() for m in _SINGLE_QUOTED_RE.finditer(text) if " " in m.group(1)]
    found += [m.group(1).strip() for m in _CODE_SPAN_RE.finditer(text) if looks_like_error(m.group(1))]
    found += [m.group(0).strip() for m in _HTTP_STATUS_RE.finditer(text)]
    found += [m.group(0) for m in _ERROR_NAME_RE.finditer(text)]
    # A lone short word ("Ready") would match far too many log lines to mean anything.
    return unique([s for s in found if re.search(r"[A-Za-z]", s) and (" " in s or len(s) >= 8)])


_ITALIC_RE = re.compile(r"(?<![*\w])[*_]([^*_`\n]{10,300}?)[*_](?![*\w])")
_HEX_CODE_RE = re.compile(r"(?:\b[A-Za-z][\w']*[ \t]+){0,4}(?:error|code|hresult)?:?[ \t]*\b0x[0-9A-Fa-f]{3,16}\b",
                          re.IGNORECASE)


_INTRODUCED_RE = re.compile(r"(error|message|output|see|says|shows|prints|reports|returns|following)\W{0,6}$",
                            re.IGNORECASE)


def _introduced(text: str, start: int) -> bool:
    """Whether the quote at `start` follows words that introduce a message ("fails with the error: ")."""
    return bool(_INTRODUCED_RE.search(text[max(0, start - 40):start]))


def prose_error_strings(text: str) -> list[str]:
    """Error messages a sentence quotes: inline code, quotes or emphasis that read as errors, HTTP statuses
    with their reason, exception and errno names, and hex codes with the words before them
    ("you may see `ENOENT: no such file or directory`", "failed with error 0x80070003")."""
    found: list[str] = []
    found += [m.group(1).strip() for m in _CODE_SPAN_RE.finditer(text)
              if (looks_like_error(m.group(1)) or _introduced(text, m.start())) and not looks_like_code(m.group(1))]
    stripped = text.strip()
    for m in _DOUBLE_QUOTED_RE.finditer(text):
        # A paragraph that is one quoted message (an error reference) or a quote after "the error:".
        whole = m.start() <= 1 and m.end() >= len(stripped) - 1
        if whole or looks_like_error(m.group(1)) or _introduced(text, m.start()):
            found += message_forms(m.group(1))
    found += [m.group(1).strip() for m in _SINGLE_QUOTED_RE.finditer(text)
              if " " in m.group(1) and looks_like_error(m.group(1))]
    found += [m.group(1).strip() for m in _ITALIC_RE.finditer(text) if " " in m.group(1) and looks_like_error(m.group(1))]
    found += [m.group(0).strip() for m in _HTTP_STATUS_RE.finditer(text)]
    found += [m.group(0) for m in _ERROR_NAME_RE.finditer(text)]
    found += [m.group(0).strip() for m in _HEX_CODE_RE.finditer(text)]
    return unique([s.strip(" .,;") for s in found if re.search(r"[A-Za-z]", s) and (" " in s or len(s) >= 8)])


def unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.strip()
        if key and key not in seen:
            seen.add(key)
            out.append(key)
    return out


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
