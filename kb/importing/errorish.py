"""Whether a line of text reads as an error message, or as code or a command."""

from __future__ import annotations

import re

# A 4xx/5xx number is an HTTP status, unless it is a port or part of an address (":443", "10.48.6.108:443").
_ERRORISH_RE = re.compile(
    r"error|exception|fatal|fail(ed|ure|s|ing)?\b|refused|denied|not found|no module|time(d)? ?out|cannot|can't"
    r"|couldn't|could not|unable|invalid|blocked|exited with code|killed|\boom\b|no space|locked|does not exist"
    r"|unauthori[sz]ed|forbidden|errno|traceback|warning|panic|segfault|(?<![:.])\b[45]\d\d\b|enotfound|econnrefused"
    r"|eaddrinuse|expired|exceeded|unavailable|unreachable|disconnect|connection lost|not responding|missing"
    r"|unknown|unrecogni[sz]ed|unsupported|rejected|not allowed|no such|incorrect|closed|too (open|many|long|large)"
    r"|not recogni[sz]ed|no route|reset by peer|malformed|unprotected|no matches|not supported|does(n't| not) support"
    r"|violat|deadlock|conflict|mismatch|out of range|not (valid|empty|connected|reachable|running|ready)|was empty"
    r"|crash|abort|corrupt|broken|stuck|hang|hung|overflow|limit|already (exists|in use|recorded)|unexpected"
    r"|permission|insufficient|exhausted|terminated|evict|back-?off|oops|misconfigur|does(?:n't| not) match"
    r"|incompatib|not compatible|\bfault\b|not permitted|out of memory|unhandled|uncaught|\berr_[a-z_]+"
    r"|\be(?:acces|perm|noent|nospc|mfile|exist|again|busy|pipe|connreset|timedout|hostunreach|notempty)\b"
    r"|outdated|out of date|too old|is not (?:a function|an object|defined|a constructor|iterable)"
    r"|not installed|not available|\bno \w+ (?:available|found|specified|provided|configured)\b|unresponsive|could not be|can ?not be|\bbad (?:interpreter|request|gateway|substitution|file|magic|address)"
    r"|\bhas no (?:\w+ )?(?:attribute|member|property|method|field)"
    r"|not (?:loaded|initiali[sz]ed|trusted)|(?:doesn't|don't|do not) exist|\bdied\b|\billegal\b|\bundefined\b"
    r"|non-zero exit|exit (?:code|status) [1-9]|did(?:n't| not) respond|no response|already allocated|\bambiguous\b"
    r"|disallowed|prohibited",
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
# "--" opens an SQL comment or a command's option line, but not a message about an option ("--skip-update
# cannot be specified with the old DB schema.").
_CODE_LINE_RE = re.compile(
    r"^(#|//|--(?![\w-]+ [a-z]+ [a-z]+ [a-z]+\b)|/\*|\*|\$ |>>> |import |from \S+ import|def |class |async |await |return\b|const |let |var "
    r"|function\b|if\b|for\b|while\b|try\b|except\b|with |print\(|console\.|@\w|[{}\[\]()],?$"
    r"|(SELECT|INSERT|UPDATE|CREATE|ALTER|DROP|EXPLAIN|SHOW)\b)"
)
_ASSIGNMENT_RE = re.compile(r"^[\w.\[\]'\"]+\s*=[^=]")


# What a tool prints after its own name, which a command never has there: "npm ERR! code ERESOLVE",
# "npm WARN deprecated ...".
_TOOL_LEVEL_RE = re.compile(r"^\s+(?:ERR!|ERROR|WARN|error|warn|warning|fatal)(?::|\s|$)")


# A command piped into another ("dmesg | grep -i killed"): a shell line whatever its first word.
_PIPELINE_RE = re.compile(r"\s\|\s*(?:grep|egrep|awk|sed|head|tail|sort|uniq|wc|less|xargs|tee|jq)\b")


def looks_like_code(line: str) -> bool:
    stripped = line.strip()
    if _CODE_LINE_RE.match(stripped) or _ASSIGNMENT_RE.match(stripped) or _PIPELINE_RE.search(stripped):
        return True
    first = re.split(r"[\s(]", stripped, maxsplit=1)[0]
    rest = stripped[len(first):]
    return first.lower() in _SHELL_COMMANDS and not rest.startswith(":") and not _TOOL_LEVEL_RE.match(rest)


def looks_like_error(line: str) -> bool:
    return bool(_ERRORISH_RE.search(line) or _LOG_LINE_RE.match(line.strip()))


def unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.strip()
        if key and key not in seen:
            seen.add(key)
            out.append(key)
    return out
