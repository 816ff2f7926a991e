"""Import Markdown troubleshooting guides, and the starter content, into the knowledge base.

A guide becomes one article per problem section. Headings are found with markdown-it tokens (so a
`# comment` inside a code block is never a heading), label headings and bold labels such as
"Symptoms", "Diagnosis" or "Solution" stay inside their section, and each section's symptoms
(error strings) and solutions (fix blocks with their commands) are extracted into kb rows.

Guides that are mostly code (one big block per heading) are split further into the scenarios their
code describes: records with a `symptoms` list, branches on a named issue that carry remediation
actions, and YAML runbook procedures with steps.

Re-importing is idempotent: every parsed section carries a hash, stored on Article.source_hash; only
sections whose hash changed are rewritten (with a new revision through kb.services.article_update).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import textwrap
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import Any

import ftfy
import yaml
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .models import Article, Risk, Severity, Signature, Solution, Symptom, SymptomSolution, System
from .search import index_articles
from .services import article_create, article_update, solution_render, system_upsert

# --------------------------------------------------------------------------------------------------
# Public data shapes
# --------------------------------------------------------------------------------------------------


class GuideRejected(Exception):
    """The file cannot be imported; str(exc) is a one-line reason fit to show a person."""


@dataclass
class ParsedSymptom:
    title: str
    signatures: list[str] = field(default_factory=list)
    description: str = ""
    severity: str = Severity.MEDIUM.value


@dataclass
class ParsedSolution:
    title: str
    steps_markdown: str
    risk: str = Risk.LOW.value
    # Titles of the symptoms this fixes; empty means every symptom of the article.
    symptom_titles: list[str] = field(default_factory=list)


@dataclass
class ParsedSection:
    title: str
    heading_path: str
    anchor: str
    body_markdown: str
    summary: str
    symptoms: list[ParsedSymptom] = field(default_factory=list)
    solutions: list[ParsedSolution] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        """A digest of everything the import would store, so an unchanged section is skipped."""
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False
    source: str = ""
    system: str = ""
    # Sections that left the guide but were kept because prune was not asked for.
    stale: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def summary_line(self) -> str:
        where = " → ".join(part for part in (self.source, self.system) if part)
        prefix = f"{where}: " if where else ""
        if not self.changed:
            line = f"{prefix}no changes ({len(self.unchanged)} unchanged)"
        else:
            verb = "would be " if self.dry_run else ""
            line = (
                f"{prefix}{len(self.created)} {verb}created, {len(self.updated)} {verb}updated, "
                f"{len(self.removed)} {verb}removed, {len(self.unchanged)} unchanged"
            )
        if self.stale:
            line += f"; {len(self.stale)} no longer in the source (kept; prune to remove)"
        if self.dry_run:
            line += " [dry run: nothing written]"
        return line


# --------------------------------------------------------------------------------------------------
# Bytes to clean text
# --------------------------------------------------------------------------------------------------


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def decode_guide(data: bytes) -> str:
    """Check the raw upload and return its text; raise GuideRejected with the reason otherwise."""
    limit = settings.TRIAGE_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise GuideRejected(f"guide is too large ({_human_size(len(data))}; the limit is {_human_size(limit)})")
    if not data.strip():
        raise GuideRejected("guide is empty")
    if b"\x00" in data:
        raise GuideRejected("guide looks binary (it contains NUL bytes), not Markdown text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GuideRejected(f"guide is not valid UTF-8 (undecodable byte at offset {exc.start})") from None
    return text


# Emoji whose UTF-8 form contains a byte Windows-1252 cannot show (0x81, 0x8D, 0x8F, 0x90, 0x9D).
# A UTF-8 -> cp1252 round trip silently drops that byte, which ftfy cannot undo: "ðŸ”" + space was
# "🔍 ", "âŒ" + space was "❌ ". Earlier entries win when two emoji lose to the same mojibake.
_CP1252_UNSHOWABLE = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_LOSSY_EMOJI_CANDIDATES = "🔍❌❓❗❎❤❄❇⏰⏳⏱⏸⏹⏺⏩⏪⏭⏮🔐🔁📁"


def _lossy_emoji_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for emoji in _LOSSY_EMOJI_CANDIDATES:
        raw = emoji.encode("utf-8")
        kept = bytes(b for b in raw if b not in _CP1252_UNSHOWABLE)
        # Only one lost byte is recoverable with confidence.
        if len(kept) == len(raw) - 1 and len(kept) >= 2:
            table.setdefault(kept.decode("cp1252"), emoji)
    return table


_LOSSY_EMOJI = _lossy_emoji_table()
# A following UTF-8 continuation byte means the sequence is complete; ftfy repairs those itself.
_CP1252_CONTINUATION = "".join(
    sorted({bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0xC0)} - {""})
) + "".join(map(chr, _CP1252_UNSHOWABLE))
_LOSSY_EMOJI_RE = re.compile(
    "(" + "|".join(map(re.escape, sorted(_LOSSY_EMOJI, key=len, reverse=True))) + ")"
    + "(?![" + re.escape(_CP1252_CONTINUATION) + "])"
)
# Mac Roman mojibake ("\uf8ffüö®" for 🚨): ftfy only knows a few of these, so runs of Mac Roman's
# upper half are re-encoded and any 3/4-byte UTF-8 symbol inside them is restored.
_MAC_ROMAN_UPPER = bytes(range(0x80, 0x100)).decode("mac_roman")
_MAC_ROMAN_RUN_RE = re.compile("[" + re.escape(_MAC_ROMAN_UPPER) + "]{3,}")
_SYMBOL_CATEGORIES = {"So", "Sm", "Sk", "Sc", "Po", "Pd", "Ps", "Pe", "Pi", "Pf", "Mn", "Cf"}
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False, uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False,
    explain=False,
)


def _repair_mac_roman_run(match: re.Match[str]) -> str:
    raw = match.group(0).encode("mac_roman")
    out: list[str] = []
    i = 0
    while i < len(raw):
        width = 4 if raw[i] >= 0xF0 else 3 if raw[i] >= 0xE0 else 0
        if width and i + width <= len(raw):
            try:
                char = raw[i:i + width].decode("utf-8")
            except UnicodeDecodeError:
                char = ""
            # Only symbols: a letter here is more likely genuine Mac Roman text than mojibake.
            if char and unicodedata.category(char) in _SYMBOL_CATEGORIES:
                out.append(char)
                i += width
                continue
        out.append(raw[i:i + 1].decode("mac_roman"))
        i += 1
    return "".join(out)


def repair_text(text: str) -> str:
    """Undo mojibake (cp1252 with lost bytes, Mac Roman, then everything ftfy knows)."""
    text = _LOSSY_EMOJI_RE.sub(lambda m: _LOSSY_EMOJI[m.group(1)], text)
    text = _MAC_ROMAN_RUN_RE.sub(_repair_mac_roman_run, text)
    return ftfy.fix_text(text, _FTFY_CONFIG)


# --------------------------------------------------------------------------------------------------
# Markdown blocks
# --------------------------------------------------------------------------------------------------

_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
# Block structure only (no inline parsing): enough to find headings and code blocks, at half the cost.
_MD_BLOCKS = MarkdownIt("commonmark", {"html": True}).enable("table").disable("inline")


@dataclass
class _Line:
    """One line of a paragraph, split at soft breaks so "**Status**: x" lines act on their own."""

    plain: str
    source: str
    label: str | None = None  # the bold label, e.g. "Solution"
    rest: str = ""  # plain text after the label
    rest_source: str = ""


@dataclass
class _Block:
    kind: str  # heading, paragraph, fence, list, table, other
    source: str
    level: int = 0
    plain: str = ""
    lines: list[_Line] = field(default_factory=list)
    info: str = ""
    content: str = ""
    ordered: bool = False
    items: list[_Item] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class _Item:
    source: str  # the item's Markdown, marker removed and dedented
    plain: str  # plain text of its first paragraph
    bold: str = ""  # bold text the item starts with, if any
    after_bold_source: str = ""


def _inline_plain(children: list[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_plain(child.children or []))
        # html_inline is dropped on purpose: titles and summaries are plain text.
    return " ".join("".join(parts).split())


def _split_inline_lines(children: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            lines.append([])
        else:
            lines[-1].append(child)
    return lines


_BOLD_PREFIX_RE = re.compile(r"^\s*(\*\*|__)(.+?)\1\s*:?\s*")


def _label_of(children: list[Token]) -> tuple[str, str] | None:
    """(label, rest) when the line starts with bold text that is followed by a colon or nothing."""
    meaningful = [c for c in children if not (c.type == "text" and not c.content.strip())]
    if not meaningful or meaningful[0].type != "strong_open":
        return None
    depth, label_parts, close = 0, [], len(meaningful)
    for position, child in enumerate(meaningful):
        if child.type == "strong_open":
            depth += 1
        elif child.type == "strong_close":
            depth -= 1
            if depth == 0:
                close = position
                break
        elif child.type in ("text", "code_inline"):
            label_parts.append(child.content)
    label = "".join(label_parts).strip()
    rest = _inline_plain(meaningful[close + 1:])
    if label.endswith(":"):
        return label.rstrip(":").strip(), rest
    if rest.startswith(":"):
        return label, rest[1:].strip()
    if not rest:
        return label, ""
    return None


def _item_of(tokens: list[Token], start: int, end: int, lines: list[str]) -> _Item:
    item_open = tokens[start]
    first, last = item_open.map or (0, 0)
    raw = lines[first:last]
    marker = re.match(r"^(\s*)([-*+]|\d+[.)])(\s+|$)", raw[0]) if raw else None
    width = len(marker.group(0)) if marker else 0
    body = [raw[0][width:]] + [line[width:] if line[:width].strip() == "" else line.lstrip() for line in raw[1:]]
    source = "\n".join(body).strip("\n")
    plain, bold, after_bold = "", "", ""
    for j in range(start + 1, end):
        token = tokens[j]
        if token.type == "inline" and token.level == item_open.level + 2:
            plain = _inline_plain(token.children or [])
            label = _label_of(_split_inline_lines(token.children or [])[0])
            if label:
                bold = label[0]
                first_line = source.split("\n", 1)
                stripped = _BOLD_PREFIX_RE.sub("", first_line[0], count=1)
                after_bold = "\n".join([stripped] + first_line[1:]).strip("\n")
            break
    return _Item(source=source, plain=plain, bold=bold, after_bold_source=after_bold)


def _table_rows(tokens: list[Token], start: int, end: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for j in range(start, end):
        token = tokens[j]
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(_inline_plain(token.children or []))
    return rows


def _blocks(text: str) -> list[_Block]:
    """The top-level blocks of a Markdown fragment, with their source lines."""
    lines = text.split("\n")
    tokens = _MD.parse(text)
    blocks: list[_Block] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0:
            i += 1
            continue
        end = i
        if token.nesting == 1:
            end = i + 1
            while end < len(tokens) and not (tokens[end].level == 0 and tokens[end].nesting == -1):
                end += 1
        first, last = token.map or (0, 0)
        source = "\n".join(lines[first:last])
        if token.type == "heading_open":
            inline = tokens[i + 1]
            blocks.append(_Block("heading", source, level=int(token.tag[1:]),
                                 plain=_inline_plain(inline.children or [])))
        elif token.type == "paragraph_open":
            inline = tokens[i + 1]
            para_lines: list[_Line] = []
            for k, children in enumerate(_split_inline_lines(inline.children or [])):
                line_source = lines[first + k] if first + k < last else ""
                line = _Line(plain=_inline_plain(children), source=line_source)
                label = _label_of(children)
                if label:
                    line.label, line.rest = label
                    line.rest_source = _BOLD_PREFIX_RE.sub("", line_source, count=1).strip()
                para_lines.append(line)
            blocks.append(_Block("paragraph", source, plain=_inline_plain(inline.children or []),
                                 lines=para_lines))
        elif token.type in ("fence", "code_block"):
            blocks.append(_Block("fence", source, info=(token.info or "").strip(), content=token.content))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            items = []
            for j in range(i + 1, end):
                if tokens[j].type == "list_item_open" and tokens[j].level == 1:
                    k = j + 1
                    while not (tokens[k].type == "list_item_close" and tokens[k].level == 1):
                        k += 1
                    items.append(_item_of(tokens, j, k, lines))
            blocks.append(_Block("list", source, ordered=token.type == "ordered_list_open", items=items))
        elif token.type == "table_open":
            blocks.append(_Block("table", source, rows=_table_rows(tokens, i, end)))
        else:
            blocks.append(_Block("other", source))
        i = end + 1
    return blocks


# --------------------------------------------------------------------------------------------------
# Classifying headings and labels
# --------------------------------------------------------------------------------------------------

_LABELS: list[tuple[str, re.Pattern[str]]] = [
    ("symptoms", re.compile(r"^(symptoms?|signs?|what you see|error messages?|observed behaviou?r)$")),
    ("workaround", re.compile(r"^(temporary )?workarounds?$")),
    ("solution", re.compile(
        r"^((common|possible|quick|recommended|suggested) )?(solutions?|fix(es)?|resolutions?|remedies)$"
        r"|^(how to (fix|resolve)( it)?|remediation|fix it|steps to (fix|resolve))$"
    )),
    ("diagnosis", re.compile(
        r"^(diagnos(is|tics?)|diagnostic( steps)?|investigation|how to (confirm|diagnose|check)"
        r"|troubleshooting steps|verification|verify)$"
    )),
    ("cause", re.compile(r"^((likely|possible|probable|root|common) )?causes?$|^why( it happens)?$")),
    ("info", re.compile(r"^(status|impact|notes?|expected( behaviou?r| result)?|prevention|prevent it|tips?)$")),
]

_SKIP_SECTION_RE = re.compile(
    r"^(table of contents|contents|toc|index|related (documentation|docs|guides|links|resources)|see also"
    r"|further reading|references?|(additional )?resources|(getting|get|need|more) (additional |more |further )?help"
    r"|contact( support| us)?|support( contacts?| checklist| channels)?|how to report( issues)?|issue template"
    r"|reporting (issues|bugs)|getting community help|community( support| forums)?|license|changelog"
    r"|acknowledge?ments?)$"
)
_PROBLEM_PREFIX_RE = re.compile(r"^(issue|problem|error|bug)\s*[:\-–—]\s*", re.IGNORECASE)
_QUESTION_RE = re.compile(r"^(?:q|question)\s*[:.]\s*(.+)$", re.IGNORECASE)
_NUMBERING_RE = re.compile(r"^(\d+(\.\d+)*[.)]|[A-Za-z][.)])\s+")


def _strip_symbols(text: str) -> tuple[str, str]:
    """Split leading emoji/decoration off a heading: (decoration, text)."""
    i = 0
    while i < len(text) and (
        unicodedata.category(text[i]) in ("So", "Sk", "Mn", "Cf", "Co", "Cn") or text[i] in " \u200d"
    ):
        i += 1
    return text[:i].strip(), text[i:].strip()


def _normalise_label(text: str) -> str:
    return _strip_symbols(text)[1].strip().rstrip(":").strip().lower()


def _label_kind(text: str) -> str | None:
    normal = _normalise_label(text)
    for kind, pattern in _LABELS:
        if pattern.match(normal):
            return kind
    return None


def _heading_label_kind(text: str) -> str | None:
    """Label headings stay inside the section above them; a heading ending in ':' is one too."""
    kind = _label_kind(text)
    if kind is None and text.strip().endswith(":"):
        return "info"
    return kind


def _clean_heading(text: str) -> tuple[str, str, bool]:
    """(path segment, title, is_problem) for a heading's plain text."""
    decoration, rest = _strip_symbols(" ".join(text.split()))
    rest = _NUMBERING_RE.sub("", rest, count=1)
    is_problem = bool(_PROBLEM_PREFIX_RE.match(rest))
    rest = _PROBLEM_PREFIX_RE.sub("", rest, count=1).strip().rstrip(":").strip()
    more, rest = _strip_symbols(rest)  # "Issue: 🔍 Search broken"
    decoration = f"{decoration} {more}".strip()
    # Trailing emoji are decoration too.
    while rest and unicodedata.category(rest[-1]) in ("So", "Mn", "Cf"):
        rest = rest[:-1].rstrip()
    title = rest or decoration or "Untitled"
    segment = f"{decoration} {title}".strip() if decoration and rest else title
    return segment[:200], title[:255], is_problem


def _anchor(text: str) -> str:
    return slugify(text)[:255] or "section"


# --------------------------------------------------------------------------------------------------
# Error strings
# --------------------------------------------------------------------------------------------------

_ERRORISH_RE = re.compile(
    r"error|exception|fatal|fail(ed|ure|s|ing)?\b|refused|denied|not found|no module|time(d)? ?out|cannot|can't"
    r"|couldn't|could not|unable|invalid|blocked|exited with code|killed|\boom\b|no space|locked|does not exist"
    r"|unauthori[sz]ed|forbidden|errno|traceback|warning|panic|segfault|\b[45]\d\d\b|enotfound|econnrefused"
    r"|eaddrinuse|expired|exceeded|unavailable|unreachable|disconnect|connection lost|not responding|missing"
    r"|unknown|unrecogni[sz]ed|unsupported|rejected|not allowed",
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


def _looks_like_code(line: str) -> bool:
    stripped = line.strip()
    if _CODE_LINE_RE.match(stripped) or _ASSIGNMENT_RE.match(stripped):
        return True
    first = re.split(r"[\s(]", stripped, maxsplit=1)[0]
    return first.lower() in _SHELL_COMMANDS and not stripped[len(first):].startswith(":")


def _looks_like_error(line: str) -> bool:
    return bool(_ERRORISH_RE.search(line) or _LOG_LINE_RE.match(line.strip()))


_TIMESTAMP_RE = re.compile(
    r"^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?\]?\s*([-|:]\s*)?"
)


def _signature_text(line: str) -> str:
    """A log line as a literal signature: without its timestamp, which would never match again."""
    return _TIMESTAMP_RE.sub("", line.strip())[:500].strip()


def _error_block_lines(block: _Block, *, is_problem: bool) -> list[str]:
    """The lines of a code block that shows error output; [] when the block is code or commands."""
    lang = block.info.split()[0].lower() if block.info else ""
    lines = [line.strip() for line in block.content.splitlines() if line.strip()]
    lines = [line for line in lines if re.search(r"\w", line)]
    if not lines or len(lines) > 8 or any(_looks_like_code(line) for line in lines):
        return []
    errors = [line for line in lines if _looks_like_error(_signature_text(line))]
    if lang in _PLAIN_FENCE_LANGS:
        # Under a problem heading a plain block is what the reader sees; elsewhere keep only errors.
        chosen = lines if is_problem else errors
    else:
        chosen = lines if len(errors) == len(lines) else []
    return _unique([_signature_text(line) for line in chosen])


_DOUBLE_QUOTED_RE = re.compile(r"[\"“]([^\"“”\n]{4,300})[\"”]")
_SINGLE_QUOTED_RE = re.compile(r"(?<![\w])'([^'\n]{3,300}?)'(?![\w])")
_CODE_SPAN_RE = re.compile(r"`([^`\n]{4,300})`")


_HTTP_STATUS_RE = re.compile(r"\b[45]\d\d(?: [A-Z][A-Za-z]+)+")
_ERROR_NAME_RE = re.compile(
    r"\b(?:[A-Z][a-z0-9]+){2,}(?:Error|Exception|BackOff|Killed|Timeout)\b|\bE[A-Z]{5,}\b|\bOOMKilled\b"
)


def _quoted_error_strings(text: str) -> list[str]:
    """Error strings a sentence names: "Connection refused" errors, `uv: command not found`,
    ImagePullBackOff, 429 Too Many Requests."""
    found: list[str] = []
    found += [m.group(1).strip() for m in _DOUBLE_QUOTED_RE.finditer(text)]
    found += [m.group(1).strip() for m in _SINGLE_QUOTED_RE.finditer(text) if " " in m.group(1)]
    found += [m.group(1).strip() for m in _CODE_SPAN_RE.finditer(text) if _looks_like_error(m.group(1))]
    found += [m.group(0).strip() for m in _HTTP_STATUS_RE.finditer(text)]
    found += [m.group(0) for m in _ERROR_NAME_RE.finditer(text)]
    # A lone short word ("Ready") would match far too many log lines to mean anything.
    return _unique([s for s in found if re.search(r"[A-Za-z]", s) and (" " in s or len(s) >= 8)])


def _unique(values: list[str]) -> list[str]:
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


def _risk_for(text: str) -> str:
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


def _tags_for(title: str, body: str) -> list[str]:
    """A few tags from keywords; title hits weigh more, so a passing mention does not tag."""
    scores = []
    for name, pattern in _TAG_RULES:
        score = 3 * len(pattern.findall(title)) + min(sum(1 for _ in pattern.finditer(body)), 5)
        if score >= 3:
            scores.append((-score, name))
    return [name for _, name in sorted(scores)[:5]]


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


# --------------------------------------------------------------------------------------------------
# One section's symptoms and solutions
# --------------------------------------------------------------------------------------------------


@dataclass
class _Analysis:
    symptoms: list[ParsedSymptom] = field(default_factory=list)
    solutions: list[ParsedSolution] = field(default_factory=list)
    summary: str = ""


class _SolutionDraft:
    def __init__(self, title: str, steps: list[str] | None = None, symptom_titles: list[str] | None = None):
        self.title = title
        self.steps = list(steps or [])
        self.symptom_titles = list(symptom_titles or [])

    def build(self) -> ParsedSolution | None:
        steps = "\n\n".join(s.strip("\n") for s in self.steps if s.strip()).strip()
        if not steps:
            return None
        return ParsedSolution(title=self.title[:255], steps_markdown=steps, risk=_risk_for(steps),
                              symptom_titles=self.symptom_titles)


def _add_symptom(symptoms: list[ParsedSymptom], new: ParsedSymptom) -> None:
    title = new.title.strip()
    if len(title) > 2 and title[0] in "\"“" and title[-1] in "\"”":
        title = title[1:-1]
    new.title = _shorten(title, 255)
    if not new.title:
        return
    for existing in symptoms:
        if existing.title.lower() == new.title.lower():
            existing.signatures = _unique(existing.signatures + new.signatures)
            existing.description = existing.description or new.description
            return
    new.signatures = _unique(new.signatures)
    symptoms.append(new)


def _table_columns(header: list[str]) -> tuple[int | None, int | None, int | None]:
    symptom = cause = fix = None
    for index, cell in enumerate(header):
        lower = cell.lower()
        if symptom is None and re.search(r"symptom|error|problem|issue|message", lower):
            symptom = index
        elif cause is None and "cause" in lower:
            cause = index
        elif fix is None and re.search(r"fix|solution|action|resolution|remedy|workaround", lower):
            fix = index
    return symptom, cause, fix


def _analyse(blocks: list[_Block], *, title: str, is_problem: bool, heading_signatures: list[str]) -> _Analysis:
    """Walk a section's blocks; labels switch between lead, symptoms, solution and other modes."""
    result = _Analysis()
    mode = "lead"
    label_word = "Solution"
    drafts: list[_SolutionDraft] = []
    current: _SolutionDraft | None = None
    error_lines: list[str] = []
    lead_code: list[str] = []
    lead_text: list[str] = []
    cause_text = ""

    def start_default(word: str, steps: list[str] | None = None) -> _SolutionDraft:
        draft = _SolutionDraft(f"{word}: {title}", steps)
        drafts.append(draft)
        return draft

    for block in blocks:
        if block.kind == "heading":
            kind = _heading_label_kind(block.plain)
            mode, current = (kind or "info"), None
            label_word = "Workaround" if kind == "workaround" else "Solution"
            continue

        if block.kind == "paragraph":
            for line in block.lines:
                kind = _label_kind(line.label) if line.label else None
                if kind:
                    mode, current = kind, None
                    if kind == "symptoms" and line.rest:
                        _add_symptom(result.symptoms, ParsedSymptom(
                            title=line.rest, signatures=_quoted_error_strings(line.rest_source)))
                    elif kind in ("solution", "workaround"):
                        label_word = "Workaround" if kind == "workaround" else "Solution"
                        if line.rest:
                            name = line.rest.rstrip(":").strip()
                            draft_title = name if kind == "solution" and len(name) <= 120 else f"{label_word}: {title}"
                            current = _SolutionDraft(draft_title, [line.rest_source])
                            drafts.append(current)
                    elif kind == "cause" and line.rest and not cause_text:
                        cause_text = line.rest
                    continue
                if mode == "lead" and line.plain and not line.label:
                    lead_text.append(line.plain)
                elif mode == "symptoms" and line.plain:
                    _add_symptom(result.symptoms, ParsedSymptom(
                        title=line.plain, signatures=_quoted_error_strings(line.source)))
                elif mode in ("solution", "workaround"):
                    current = current or start_default(label_word)
                    current.steps.append(line.source)
            if mode == "lead" and lead_text and not result.summary:
                result.summary = " ".join(lead_text)
            continue

        if block.kind == "table":
            rows = block.rows
            symptom_col, cause_col, fix_col = _table_columns(rows[0]) if rows else (None, None, None)
            if symptom_col is not None:
                for row in rows[1:]:
                    if symptom_col >= len(row) or not row[symptom_col]:
                        continue
                    cause = row[cause_col] if cause_col is not None and cause_col < len(row) else ""
                    symptom_title = row[symptom_col]
                    _add_symptom(result.symptoms, ParsedSymptom(
                        title=symptom_title, signatures=_quoted_error_strings(symptom_title),
                        description=f"Likely cause: {cause}" if cause else ""))
                    if fix_col is not None and fix_col < len(row) and row[fix_col]:
                        steps = row[fix_col] + (f"\n\nLikely cause: {cause}." if cause else "")
                        drafts.append(_SolutionDraft(row[fix_col], [steps], [_shorten(symptom_title, 255)]))
                continue

        if mode in ("lead", "symptoms"):
            if block.kind == "fence":
                lines = _error_block_lines(block, is_problem=is_problem or mode == "symptoms")
                if lines or mode == "symptoms":
                    error_lines += lines or [
                        _signature_text(line) for line in block.content.splitlines()
                        if line.strip() and _looks_like_error(line) and not _looks_like_code(line)
                    ]
                    continue
                lead_code.append(block.source)
            elif block.kind == "list" and mode == "symptoms":
                for item in block.items:
                    _add_symptom(result.symptoms, ParsedSymptom(
                        title=item.plain, signatures=_quoted_error_strings(item.source.split("\n", 1)[0])))
            continue

        if mode in ("solution", "workaround"):
            if block.kind == "list" and block.items and sum(1 for it in block.items if it.bold) * 2 > len(block.items):
                for item in block.items:
                    if item.bold:
                        current = _SolutionDraft(item.bold, [item.after_bold_source])
                        drafts.append(current)
                    elif current:
                        current.steps.append(item.source)
            else:
                current = current or start_default(label_word)
                current.steps.append(block.source)

    # The section heading itself names the problem ("Issue: Port Already in Use").
    if is_problem or error_lines or heading_signatures:
        head = ParsedSymptom(title=_shorten(title, 255), signatures=_unique(heading_signatures + error_lines))
        same = next((s for s in result.symptoms if s.title.lower() == head.title.lower()), None)
        if same is not None:
            result.symptoms.remove(same)
            head.signatures = _unique(head.signatures + same.signatures)
            head.description = same.description
        result.symptoms.insert(0, head)
    problem = bool(is_problem or error_lines or result.symptoms)
    if problem and not drafts and lead_code:
        drafts.append(_SolutionDraft(f"Solution: {title}", lead_code))

    seen_titles: dict[str, int] = {}
    for draft in drafts:
        built = draft.build()
        if built is None:
            continue
        key = built.title.lower()
        if key in seen_titles:
            seen_titles[key] += 1
            built.title = f"{built.title} ({seen_titles[key]})"[:255]
        else:
            seen_titles[key] = 1
        result.solutions.append(built)

    if not result.summary:
        result.summary = cause_text or (result.symptoms[0].signatures[0] if result.symptoms and
                                        result.symptoms[0].signatures else "")
    result.summary = _shorten(result.summary)
    return result


# --------------------------------------------------------------------------------------------------
# Scenarios described by code (for guides that are mostly code)
# --------------------------------------------------------------------------------------------------


@dataclass
class _Scenario:
    key: str
    title: str
    description: str = ""
    severity: str = Severity.MEDIUM.value
    symptoms: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    solutions: list[ParsedSolution] = field(default_factory=list)
    excerpts: list[tuple[str, str]] = field(default_factory=list)  # (language, code)


_ACRONYMS = {"cpu", "api", "db", "dns", "ssl", "tls", "oom", "io", "http", "url", "mcp", "jwt", "llm", "ui", "ws"}


def _humanise(name: str) -> str:
    words = re.sub(r"[_\-]+", " ", name).strip().split()
    words = [w.upper() if w.lower() in _ACRONYMS else w.lower() for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _scenario_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class _Code:
    """String literals and bracket pairs of a code block, so records can be read without running it."""

    def __init__(self, code: str, lang: str) -> None:
        self.code = code
        self.strings: list[tuple[int, int, str]] = []  # (start, end, value) with end exclusive
        self.pairs: list[tuple[int, int, str]] = []  # (open, close, char)
        hash_comments = lang in ("", "python", "py", "bash", "sh", "shell", "yaml", "yml", "ruby")
        slash_comments = lang in ("javascript", "js", "typescript", "ts", "java", "go", "c", "cpp", "rust")
        stack: list[tuple[int, str]] = []
        i, n = 0, len(code)
        closers = {")": "(", "]": "[", "}": "{"}
        while i < n:
            ch = code[i]
            if ch in "'\"`":
                quote = code[i:i + 3] if code[i:i + 3] in ("'''", '"""') else ch
                j = i + len(quote)
                while j < n and code[j:j + len(quote)] != quote:
                    j += 2 if code[j] == "\\" else 1
                raw = code[i + len(quote):j]
                value = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)
                self.strings.append((i, min(j + len(quote), n), value))
                i = j + len(quote)
                continue
            if (hash_comments and ch == "#") or (slash_comments and code.startswith("//", i)):
                newline = code.find("\n", i)
                i = n if newline == -1 else newline
                continue
            if slash_comments and code.startswith("/*", i):
                close = code.find("*/", i + 2)
                i = n if close == -1 else close + 2
                continue
            if ch in "([{":
                stack.append((i, ch))
            elif ch in closers and stack and stack[-1][1] == closers[ch]:
                start, opener = stack.pop()
                self.pairs.append((start, i, opener))
            i += 1
        self.pairs.sort()
        self._pair_opens = [p[0] for p in self.pairs]
        self._string_starts = {s[0]: s for s in self.strings}
        self._string_ends = {s[1]: s for s in self.strings}
        self._string_begins = [s[0] for s in self.strings]

    def pair_at(self, pos: int) -> tuple[int, int, str] | None:
        index = bisect.bisect_left(self._pair_opens, pos)
        return self.pairs[index] if index < len(self.pairs) and self.pairs[index][0] == pos else None

    def in_string(self, pos: int) -> bool:
        index = bisect.bisect_right(self._string_begins, pos) - 1
        return index >= 0 and self.strings[index][0] <= pos < self.strings[index][1]

    def innermost(self, pos: int, chars: str = "([{") -> tuple[int, int, str] | None:
        # Pairs are sorted by opening position; the innermost is the last opened one still open at pos.
        for index in range(bisect.bisect_left(self._pair_opens, pos) - 1, -1, -1):
            pair = self.pairs[index]
            if pair[1] > pos and pair[2] in chars:
                return pair
        return None

    def string_at(self, pos: int) -> tuple[int, int, str] | None:
        while pos < len(self.code) and self.code[pos] in " \t\n":
            pos += 1
        if pos < len(self.code) and self.code[pos] in "frbuFRBU" and pos + 1 < len(self.code) \
                and self.code[pos + 1] in "'\"":
            pos += 1
        return self._string_starts.get(pos)

    def keys(self, name: str, start: int = 0, end: int | None = None) -> list[int]:
        """Positions just after `name:` / `name=` / `'name':` (value start), outside strings."""
        end = len(self.code) if end is None else end
        found = []
        for m in re.finditer(rf"(?<![\w.])(['\"]?){re.escape(name)}\1\s*(:|=(?!=))\s*", self.code[start:end]):
            pos = start + m.start()
            quoted = bool(m.group(1))
            if (quoted and pos not in self._string_starts) or (not quoted and self.in_string(pos)):
                continue
            found.append(start + m.end())
        return found

    def value(self, pos: int) -> str | list[str] | None:
        literal = self.string_at(pos)
        if literal:
            return literal[2]
        if pos < len(self.code) and self.code[pos] == "[":
            pair = self.pair_at(pos)
            if pair is None:
                return None
            first = bisect.bisect_right(self._string_begins, pair[0])
            last = bisect.bisect_left(self._string_begins, pair[1])
            return [s[2] for s in self.strings[first:last] if self.innermost(s[0]) == pair]
        ident = re.match(r"[\w.]+", self.code[pos:])
        return ident.group(0) if ident else None

    def field(self, record: tuple[int, int, str], *names: str) -> str | list[str] | None:
        for name in names:
            for pos in self.keys(name, record[0] + 1, record[1]):
                if self.innermost(pos - 1) == record:
                    return self.value(pos)
        return None

    def key_before(self, pos: int) -> str | None:
        """The mapping key a record is the value of: `'agent_not_responding': {`."""
        code = self.code
        end = pos
        while end > 0 and code[end - 1].isspace():
            end -= 1
        if end == 0 or code[end - 1] != ":":
            return None
        end -= 1
        while end > 0 and code[end - 1].isspace():
            end -= 1
        literal = self._string_ends.get(end)
        if literal is not None:
            return literal[2]
        start = end
        while start > 0 and (code[start - 1].isalnum() or code[start - 1] == "_"):
            start -= 1
        return code[start:end] or None

    def excerpt(self, start: int, end: int) -> str:
        line_start = self.code.rfind("\n", 0, start) + 1
        line_end = self.code.find("\n", end)
        return textwrap.dedent(self.code[line_start: len(self.code) if line_end == -1 else line_end])


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [" ".join(str(v).split()) for v in value if str(v).strip()]
    return []


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    # f-string placeholders are runtime values; the reader only needs to know one goes there.
    return " ".join(re.sub(r"\{[^{}\n]*\}", "…", value).split())


def _severity_from(value: Any) -> str:
    word = str(value or "").rsplit(".", 1)[-1].lower()
    return word if word in Severity.values else Severity.MEDIUM.value


def _records_with_symptoms(code: _Code, lang: str) -> list[_Scenario]:
    scenarios = []
    for pos in code.keys("symptoms"):
        if pos >= len(code.code) or code.code[pos] != "[":
            continue
        record = code.innermost(pos - 1, "{(")
        if record is None:
            continue
        title = _as_text(code.field(record, "title", "name"))
        key = code.key_before(record[0])
        name = title or (_humanise(key) if key else "")
        if not name:
            continue
        solutions = [ParsedSolution(title=_shorten(step, 255), steps_markdown=step, risk=_risk_for(step))
                     for step in _as_list(code.field(record, "solutions", "remediation", "fixes", "resolutions"))]
        scenarios.append(_Scenario(
            key=_scenario_key(key or name), title=name,
            description=_as_text(code.field(record, "description", "summary")),
            severity=_severity_from(code.field(record, "severity")),
            symptoms=_as_list(code.field(record, "symptoms")),
            causes=_as_list(code.field(record, "potential_causes", "causes", "likely_causes", "root_causes")),
            diagnostics=_as_list(code.field(record, "diagnostics", "diagnostic_steps", "checks")),
            solutions=solutions,
            excerpts=[(lang, code.excerpt(record[0], record[1]))],
        ))
    return scenarios


_BRANCH_RE = re.compile(r"\bif\s*\(?\s*[\w.\[\]'\"]+\s*={2,3}\s*(['\"])([\w-]+)\1\s*\)?\s*(:|\{)")


def _branch_body(code: _Code, match: re.Match[str]) -> tuple[int, int]:
    if match.group(3) == "{":
        brace = match.end() - 1
        pair = code.pair_at(brace)
        return (brace, pair[1]) if pair else (brace, brace)
    # Python: the indented block under the `if` line.
    text = code.code
    line_start = text.rfind("\n", 0, match.start()) + 1
    indent = len(text[line_start:match.start()]) - len(text[line_start:match.start()].lstrip())
    pos = text.find("\n", match.end())
    end = len(text) if pos == -1 else pos
    while pos != -1:
        next_nl = text.find("\n", pos + 1)
        line = text[pos + 1: len(text) if next_nl == -1 else next_nl]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        end = len(text) if next_nl == -1 else next_nl
        pos = next_nl
    return match.end(), end


def _branch_scenarios(code: _Code, lang: str) -> list[_Scenario]:
    """`if issue == 'message_queue_overload'` branches that hold remediation action records."""
    scenarios = []
    for match in _BRANCH_RE.finditer(code.code):
        if code.in_string(match.start()):
            continue
        start, end = _branch_body(code, match)
        solutions = []
        for pos in code.keys("action", start, end):
            record = code.innermost(pos - 1, "{(")
            if record is None or record[0] < start:
                continue
            action = _as_text(code.field(record, "action", "name"))
            if not action:
                continue
            script = code.field(record, "script", "command")
            commands = _as_list(code.field(record, "commands"))
            note = _as_text(code.field(record, "verification", "expected_impact", "expected_result"))
            script_text = textwrap.dedent(script).strip() if isinstance(script, str) else "\n".join(commands)
            steps = "\n\n".join(part for part in (
                f"```bash\n{script_text}\n```" if script_text else "",
                f"Expected: {note}" if note else "",
            ) if part)
            if not steps:
                continue
            risk = _as_text(code.field(record, "risk_level", "risk")).lower()
            title = _humanise(action) if re.fullmatch(r"[a-z0-9_]+", action) else action
            solutions.append(ParsedSolution(title=_shorten(title, 255), steps_markdown=steps,
                                            risk=risk if risk in Risk.values else _risk_for(steps)))
        if solutions:
            name = match.group(2)
            scenarios.append(_Scenario(key=_scenario_key(name), title=_humanise(name), solutions=solutions,
                                       excerpts=[(lang, code.excerpt(match.start(), end))]))
    return scenarios


def _yaml_scenarios(source: str) -> list[_Scenario]:
    """Runbook procedures: mappings with a description and steps (each an action with commands)."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError:
        return []
    scenarios: list[_Scenario] = []

    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 4:
            return
        for key, value in node.items():
            if isinstance(value, dict) and "steps" in value and isinstance(value.get("description"), str):
                steps = value["steps"]
                ordered = [steps[k] for k in sorted(steps, key=str)] if isinstance(steps, dict) else steps
                lines = []
                for number, step in enumerate(ordered if isinstance(ordered, list) else [], start=1):
                    if isinstance(step, dict):
                        lines.append(f"{number}. {_as_text(step.get('action')) or 'Step'}")
                        commands = _as_list(step.get("commands"))
                        if commands:
                            lines.append("   ```bash\n" + "\n".join(f"   {c}" for c in commands) + "\n   ```")
                    elif isinstance(step, str):
                        lines.append(f"{number}. {step}")
                steps_md = "\n".join(lines)
                title = _humanise(str(key))
                solutions = [ParsedSolution(title=f"Runbook: {title}", steps_markdown=steps_md,
                                            risk=_risk_for(steps_md))] if steps_md else []
                dumped = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True)
                scenarios.append(_Scenario(key=_scenario_key(str(key)), title=title,
                                           description=_as_text(value["description"]),
                                           symptoms=[_as_text(value["description"])], solutions=solutions,
                                           excerpts=[("yaml", dumped)]))
            else:
                walk(value, depth + 1)

    walk(data, 0)
    return scenarios


# Messages code prints or throws when something fails are error strings a reader will see:
# `cmd || echo "Redis connection failed"`, `throw new Error('Debug session not found')`.
_FAILURE_MESSAGE_RES = [
    re.compile(r"\|\|\s*echo\s+(['\"])([^'\"\n$`{}\\]{6,200})\1"),
    re.compile(r"\bthrow\s+new\s+\w*Error\(\s*(['\"`])([^'\"`\n${}\\]{6,200})\1"),
    re.compile(r"\braise\s+\w+(?:Error|Exception)\(\s*(['\"])([^'\"\n{}\\]{6,200})\1"),
]


def _failure_messages(code: str) -> list[str]:
    found = []
    for pattern in _FAILURE_MESSAGE_RES:
        found += [m.group(2).strip() for m in pattern.finditer(code)]
    return _unique([message for message in found if re.search(r"[A-Za-z]{3}", message)])


_MAX_SCENARIO_CODE = 200_000  # characters; bigger blocks are data dumps, not scenario code


def _code_scenarios(blocks: list[_Block]) -> list[_Scenario]:
    merged: dict[str, _Scenario] = {}
    for block in blocks:
        if block.kind != "fence" or len(block.content) > _MAX_SCENARIO_CODE:
            continue
        lang = block.info.split()[0].lower() if block.info else ""
        if lang in ("yaml", "yml"):
            found = _yaml_scenarios(block.content)
        else:
            code = _Code(block.content, lang)
            found = _records_with_symptoms(code, lang) + _branch_scenarios(code, lang)
        for scenario in found:
            if scenario.key in merged:
                target = merged[scenario.key]
                target.solutions += scenario.solutions
                target.excerpts += scenario.excerpts
                target.symptoms = _unique(target.symptoms + scenario.symptoms)
                target.description = target.description or scenario.description
            else:
                merged[scenario.key] = scenario
    return list(merged.values())


def _scenario_section(scenario: _Scenario, *, parent_path: str, parent_anchor: str) -> ParsedSection:
    parts: list[str] = []
    if scenario.description:
        parts.append(scenario.description)
    for heading, items in (("Symptoms", scenario.symptoms), ("Likely causes", scenario.causes),
                           ("Diagnostics", scenario.diagnostics)):
        if items:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- {item}" for item in items))
    if scenario.solutions:
        parts.append("## Solutions\n\n" + "\n\n".join(
            f"### {solution.title}\n\n{solution.steps_markdown}" for solution in scenario.solutions))
    for lang, excerpt in scenario.excerpts:
        fence = "~~~~" if "```" in excerpt else "```"
        parts.append(f"## In the guide's code\n\n{fence}{lang}\n{excerpt.rstrip()}\n{fence}")
    body = "\n\n".join(parts)
    symptoms = [ParsedSymptom(title=_shorten(s, 255), severity=scenario.severity) for s in scenario.symptoms]
    if not symptoms:
        symptoms = [ParsedSymptom(title=scenario.title, severity=scenario.severity)]
    seen: dict[str, int] = {}
    for solution in scenario.solutions:
        key = solution.title.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            solution.title = f"{solution.title} ({seen[key]})"[:255]
    return ParsedSection(
        title=scenario.title[:255],
        heading_path=f"{parent_path} / {scenario.title}"[:500],
        anchor=f"{parent_anchor}-{_anchor(scenario.title)}"[:255],
        body_markdown=body,
        summary=_shorten(scenario.description or (scenario.symptoms[0] if scenario.symptoms else scenario.title)),
        symptoms=symptoms,
        solutions=scenario.solutions,
        tags=_tags_for(scenario.title, body),
    )


# --------------------------------------------------------------------------------------------------
# The guide as a whole
# --------------------------------------------------------------------------------------------------


@dataclass
class _Heading:
    level: int
    line: int  # first line of the heading
    end: int  # line after the heading
    plain: str
    label: str | None
    segment: str = ""
    title: str = ""
    is_problem: bool = False
    signatures: list[str] = field(default_factory=list)
    path: str = ""
    skipped: bool = False
    has_children: bool = False


def _body_markdown(text: str) -> str:
    """The section's Markdown, with its sub-headings moved so the first is an h2 under the title."""
    blocks_lines = text.split("\n")
    tokens = _MD_BLOCKS.parse(text)
    headings = [(t.map[0], int(t.tag[1:])) for t in tokens if t.type == "heading_open" and t.level == 0 and t.map]
    if headings:
        shift = min(level for _, level in headings) - 2
        for line_no, level in headings:
            line = blocks_lines[line_no]
            stripped = line.lstrip()
            if stripped.startswith("#"):
                hashes = "#" * max(2, min(6, level - shift))
                blocks_lines[line_no] = line[: len(line) - len(stripped)] + hashes + stripped.lstrip("#")
    return "\n".join(blocks_lines).strip("\n")


def _substantial(blocks: list[_Block]) -> bool:
    """Whether a parent heading's own text is more than a one-line lead-in to its sub-sections."""
    if any(b.kind in ("fence", "list", "table") for b in blocks):
        return True
    return sum(len(b.plain) for b in blocks) > 240


def _question_groups(blocks: list[_Block]) -> list[tuple[str, list[_Block]]] | None:
    """Split FAQ text at "Q: ..." paragraphs; None when the section has no questions."""
    groups: list[tuple[str, list[_Block]]] = []
    preamble: list[_Block] = []
    for block in blocks:
        question = _QUESTION_RE.match(block.lines[0].plain) if block.kind == "paragraph" and block.lines else None
        if question:
            rest = [line.source for line in block.lines[1:]]
            groups.append((question.group(1).strip().strip("*").strip(), []))
            if rest:
                groups[-1][1].extend(_blocks("\n".join(rest)))
        elif groups:
            groups[-1][1].append(block)
        else:
            preamble.append(block)
    if not groups:
        return None
    if preamble and _substantial(preamble):
        groups.insert(0, ("", preamble))
    return groups


def _section(*, title: str, path: str, anchor: str, text: str, blocks: list[_Block], is_problem: bool,
             heading_signatures: list[str]) -> ParsedSection:
    analysis = _analyse(blocks, title=title, is_problem=is_problem, heading_signatures=heading_signatures)
    body = _body_markdown(text)
    return ParsedSection(
        title=title, heading_path=path[:500], anchor=anchor, body_markdown=body,
        summary=analysis.summary, symptoms=analysis.symptoms, solutions=analysis.solutions,
        tags=_tags_for(title, body),
    )


def _sections_for(heading: _Heading, text: str) -> list[ParsedSection]:
    blocks = _blocks(text)
    if not blocks or (heading.has_children and not _substantial(blocks)):
        return []
    anchor = _anchor(heading.plain)
    questions = _question_groups(blocks)
    if questions:
        sections = []
        for question, answer in questions:
            answer_text = "\n\n".join(b.source for b in answer)
            if not answer_text.strip():
                continue
            if not question:
                sections.append(_section(title=heading.title, path=heading.path, anchor=anchor, text=answer_text,
                                         blocks=answer, is_problem=False, heading_signatures=[]))
                continue
            body = _body_markdown(answer_text)
            q_title = _shorten(question, 255)
            sections.append(ParsedSection(
                title=q_title, heading_path=f"{heading.path} / {q_title}"[:500],
                anchor=f"{anchor}-{_anchor(q_title)}"[:255], body_markdown=body,
                summary=_shorten(next((b.plain for b in answer if b.kind == "paragraph"), "")),
                solutions=[ParsedSolution(title=f"Answer: {q_title}"[:255], steps_markdown=body,
                                          risk=_risk_for(body))],
                tags=_tags_for(q_title, body),
            ))
        return sections

    section = _section(title=heading.title, path=heading.path, anchor=anchor, text=text, blocks=blocks,
                       is_problem=heading.is_problem, heading_signatures=heading.signatures)
    sections = [section]
    if not section.symptoms and not section.solutions:
        # A heading whose text is all code: split out the scenarios that code describes, and keep the
        # failure messages the code prints as this section's symptoms.
        messages = _failure_messages("\n".join(b.content for b in blocks if b.kind == "fence"))
        for message in messages:
            _add_symptom(section.symptoms, ParsedSymptom(title=message, signatures=[message]))
        for scenario in _code_scenarios(blocks):
            scenario_section = _scenario_section(scenario, parent_path=heading.path, parent_anchor=anchor)
            own = [m for m in messages if any(m in excerpt for _, excerpt in scenario.excerpts)]
            if own and scenario_section.symptoms:
                scenario_section.symptoms[0].signatures = _unique(scenario_section.symptoms[0].signatures + own)
            sections.append(scenario_section)
    return sections


_LABEL_LINE_RE = re.compile(r"^ {0,3}(\*\*|__)([^*_\n]{1,60}?)\1")


def _separate_label_lines(text: str) -> tuple[str, list[Token] | None]:
    """Start a new paragraph at each "**Workaround**:"-style line; returns the text and, when it did not
    change, its block tokens.

    Guides write labels on the line right after a list ("- last item\n**Workaround**: ..."), which
    Markdown folds into the last list item as a lazy continuation; a blank line keeps it a label.
    """
    tokens = _MD_BLOCKS.parse(text)
    code_lines: set[int] = set()
    for token in tokens:
        if token.type in ("fence", "code_block", "html_block") and token.map:
            code_lines.update(range(*token.map))
    lines = text.split("\n")
    out: list[str] = []
    for number, line in enumerate(lines):
        match = _LABEL_LINE_RE.match(line)
        if (match and number > 0 and number not in code_lines and number - 1 not in code_lines
                and lines[number - 1].strip() and _label_kind(match.group(2))):
            out.append("")
        out.append(line)
    if len(out) == len(lines):
        return text, tokens
    return "\n".join(out), None


def parse_guide(text: str) -> list[ParsedSection]:
    """Split a Markdown guide into problem sections. Pure: no database access.

    Raises GuideRejected when the text has no headings at all.
    """
    text = repair_text(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    text, tokens = _separate_label_lines(text)
    lines = text.split("\n")
    tokens = tokens if tokens is not None else _MD_BLOCKS.parse(text)
    headings: list[_Heading] = []
    for index, token in enumerate(tokens):
        # Level 0 only: headings in lists or quotes, and `#` lines in code, are not sections.
        if token.type == "heading_open" and token.level == 0 and token.map:
            inline = tokens[index + 1]
            plain = _inline_plain(_MD.parseInline(inline.content)[0].children or [])
            heading = _Heading(level=int(token.tag[1:]), line=token.map[0], end=token.map[1], plain=plain,
                               label=_heading_label_kind(plain))
            heading.segment, heading.title, heading.is_problem = _clean_heading(plain)
            heading.signatures = _quoted_error_strings(inline.content)
            headings.append(heading)
    if not headings:
        raise GuideRejected("guide has no headings, so there is nothing to split into articles")

    # A lone h1 at the top is the guide's title, not a section.
    h1s = [h for h in headings if h.level == 1]
    if len(h1s) == 1 and headings[0] is h1s[0]:
        headings = headings[1:]
    structural = [h for h in headings if not h.label]

    stack: list[_Heading] = []
    for heading in structural:
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        if stack:
            stack[-1].has_children = True
        parent = stack[-1] if stack else None
        heading.skipped = bool(_SKIP_SECTION_RE.match(_normalise_label(heading.title))) or bool(
            parent and parent.skipped)
        heading.path = f"{parent.path} / {heading.segment}" if parent else heading.segment
        stack.append(heading)

    sections: list[ParsedSection] = []
    for position, heading in enumerate(structural):
        if heading.skipped:
            continue
        end = structural[position + 1].line if position + 1 < len(structural) else len(lines)
        sections += _sections_for(heading, "\n".join(lines[heading.end:end]))

    # Keys must be unique within a guide: number repeated heading paths.
    seen: dict[str, int] = {}
    for section in sections:
        count = seen.get(section.heading_path, 0) + 1
        seen[section.heading_path] = count
        if count > 1:
            section.heading_path = f"{section.heading_path[:490]} ({count})"
            section.anchor = f"{section.anchor}-{count}"[:255]
    return sections


def guide_parse_bytes(*, data: bytes, filename: str = "") -> list[ParsedSection]:
    """Decode, check and parse an uploaded guide; GuideRejected says why it cannot be imported."""
    sections = parse_guide(decode_guide(data))
    if not sections:
        raise GuideRejected("guide has no problem sections (every heading was empty or a table of contents)")
    return sections


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _source_name(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name.strip() or "guide.md"
    return name[:255]


def system_for_import(*, name: str, create: bool = True) -> System:
    """The system called `name` (by name or slug); created when missing unless `create` is False."""
    name = " ".join(name.split())[:120]
    slug = slugify(name)[:120]
    if not slug:
        raise GuideRejected("system name must contain letters or digits")
    existing = System.objects.filter(name__iexact=name).first() or System.objects.filter(slug=slug).first()
    if existing:
        return existing
    if not create:
        return System(name=name, slug=slug)
    return system_upsert(slug=slug, name=name)[0]


def _sync_signatures(symptoms: list[tuple[Symptom, list[str]]], *, fresh: bool) -> None:
    """Make each symptom's literal signatures match; RE2 patterns added by people are left alone."""
    current: dict[int, dict[str, int]] = {}
    existing = Signature.objects.none() if fresh else Signature.objects.filter(
        symptom__in=[s.pk for s, _ in symptoms], kind=Signature.Kind.LITERAL)
    for pk, symptom_id, text in existing.values_list("pk", "symptom_id", "text"):
        current.setdefault(symptom_id, {})[text] = pk
    stale: list[int] = []
    new: list[Signature] = []
    for symptom, texts in symptoms:
        have = current.get(symptom.pk, {})
        wanted = _unique(texts)
        stale += [pk for text, pk in have.items() if text not in wanted]
        new += [Signature(symptom=symptom, kind=Signature.Kind.LITERAL, text=t) for t in wanted if t not in have]
    if stale:
        Signature.objects.filter(pk__in=stale).delete()
    if new:
        Signature.objects.bulk_create(new)


def _drop_unless_shared(rows: list[Symptom] | list[Solution], article: Article) -> None:
    for row in rows:
        row.articles.remove(article)
        if not row.articles.exists():
            row.delete()


def _sync_relations(*, article: Article, section: ParsedSection, fresh: bool = False) -> None:
    """Make the article's symptoms and solutions match the section, keeping rows whose title stayed
    (so their ids, resolved counts and links from incidents survive a re-import).

    `fresh` says the article was just created, so there is nothing old to read.
    """
    system = article.system
    old_symptoms = {} if fresh else {s.title.lower(): s for s in article.symptoms.all()}
    symptoms: list[Symptom] = []
    fresh_symptoms: list[Symptom] = []
    for parsed in section.symptoms:
        symptom = old_symptoms.pop(parsed.title.lower(), None)
        severity = parsed.severity if parsed.severity in Severity.values else Severity.MEDIUM
        title = parsed.title[:255]
        if symptom is None:
            symptom = Symptom(system=system, title=title, severity=severity, description=parsed.description)
            fresh_symptoms.append(symptom)
        elif (symptom.severity, symptom.description, symptom.title) != (severity, parsed.description, title):
            symptom.severity, symptom.description, symptom.title = severity, parsed.description, title
            symptom.save(update_fields=["severity", "description", "title", "updated_at"])
        symptoms.append(symptom)
    if fresh_symptoms:
        Symptom.objects.bulk_create(fresh_symptoms)
        Symptom.articles.through.objects.bulk_create(
            [Symptom.articles.through(symptom_id=s.pk, article_id=article.pk) for s in fresh_symptoms])
    _drop_unless_shared(list(old_symptoms.values()), article)
    _sync_signatures([(symptom, parsed.signatures) for symptom, parsed in zip(symptoms, section.symptoms,
                                                                               strict=True)], fresh=fresh)

    old_solutions = {} if fresh else {s.title.lower(): s for s in article.solutions.all()}
    solutions: list[Solution] = []
    fresh_solutions: list[Solution] = []
    for parsed in section.solutions:
        solution = old_solutions.pop(parsed.title.lower(), None)
        risk = parsed.risk if parsed.risk in Risk.values else Risk.LOW
        title = parsed.title[:255]
        if solution is None:
            solution = Solution(system=system, title=title, steps=parsed.steps_markdown, risk=risk)
            solution_render(solution=solution)
            fresh_solutions.append(solution)
        elif (solution.steps, solution.risk, solution.title) != (parsed.steps_markdown, risk, title):
            solution.steps, solution.risk, solution.title = parsed.steps_markdown, risk, title
            solution_render(solution=solution)
            solution.save(update_fields=["steps", "steps_html", "risk", "title", "updated_at"])
        solutions.append(solution)
    if fresh_solutions:
        Solution.objects.bulk_create(fresh_solutions)
        Solution.articles.through.objects.bulk_create(
            [Solution.articles.through(solution_id=s.pk, article_id=article.pk) for s in fresh_solutions])
    _drop_unless_shared(list(old_solutions.values()), article)

    # Every symptom links to the solutions that fix it, ranked in the guide's order.
    by_title = {s.title.lower(): s for s in symptoms}
    wanted: dict[tuple[int, int], int] = {}
    for rank, (solution, parsed) in enumerate(zip(solutions, section.solutions, strict=True)):
        targets = [by_title[t.lower()] for t in parsed.symptom_titles if t.lower() in by_title] or symptoms
        for symptom in targets:
            wanted.setdefault((symptom.pk, solution.pk), rank)
    links = SymptomSolution.objects.none() if fresh else SymptomSolution.objects.filter(
        symptom__in=[s.pk for s in symptoms], solution__in=[s.pk for s in solutions])
    existing = {(link.symptom_id, link.solution_id): link for link in links}
    stale = [link.pk for key, link in existing.items() if key not in wanted]
    if stale:
        SymptomSolution.objects.filter(pk__in=stale).delete()
    moved = []
    for key, rank in wanted.items():
        link = existing.get(key)
        if link is not None and link.rank != rank:
            link.rank = rank
            moved.append(link)
    if moved:
        SymptomSolution.objects.bulk_update(moved, ["rank"])
    new_links = [SymptomSolution(symptom_id=a, solution_id=b, rank=rank) for (a, b), rank in wanted.items()
                 if (a, b) not in existing]
    if new_links:
        SymptomSolution.objects.bulk_create(new_links)


def _delete_article(article: Article) -> None:
    """Remove an article and the imported symptoms/solutions that only it used."""
    symptoms = list(article.symptoms.all())
    solutions = list(article.solutions.all())
    article.delete()
    for row in symptoms + solutions:
        if not row.articles.exists():
            row.delete()


@dataclass
class _Plan:
    create: list[tuple[ParsedSection, str]] = field(default_factory=list)
    update: list[tuple[Article, ParsedSection, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    remove: list[Article] = field(default_factory=list)
    stale: list[Article] = field(default_factory=list)


def _apply(*, plan: _Plan, system: System, source_file: str, author: AbstractBaseUser | None) -> list[int]:
    touched: list[int] = []
    for section, digest in plan.create:
        article = article_create(
            system=system, title=section.title, body=section.body_markdown, summary=section.summary,
            heading_path=section.heading_path, tags=section.tags, author=author, source_file=source_file,
            source_anchor=section.anchor, source_hash=digest, note=f"Imported from {source_file}"[:255],
        )
        _sync_relations(article=article, section=section, fresh=True)
        touched.append(article.pk)
    for article, section, digest in plan.update:
        article_update(
            article=article, author=author, note=f"Re-imported from {source_file}"[:255], tags=section.tags,
            title=section.title, body=section.body_markdown, summary=section.summary,
            heading_path=section.heading_path, source_file=source_file, source_anchor=section.anchor,
            source_hash=digest,
        )
        _sync_relations(article=article, section=section)
        touched.append(article.pk)
    for article in plan.remove:
        _delete_article(article)
    return touched


def _plan_guide(*, sections: list[ParsedSection], existing: dict[str, Article], source_file: str,
                from_file: list[Article], prune: bool) -> _Plan:
    plan = _Plan()
    for section in sections:
        digest = section.content_hash()
        article = existing.get(section.heading_path)
        if article is None:
            plan.create.append((section, digest))
        elif article.source_hash == digest and article.source_file == source_file:
            plan.unchanged.append(section.heading_path)
        else:
            plan.update.append((article, section, digest))
    wanted = {s.heading_path for s in sections}
    for article in from_file:
        if article.heading_path not in wanted:
            (plan.remove if prune else plan.stale).append(article)
    return plan


def _report(plan: _Plan, *, dry_run: bool, source: str, system: System) -> ImportReport:
    return ImportReport(
        created=[s.heading_path for s, _ in plan.create],
        updated=[s.heading_path for _, s, _ in plan.update],
        unchanged=plan.unchanged,
        removed=[a.heading_path for a in plan.remove],
        dry_run=dry_run, source=source, system=system.name,
        stale=[a.heading_path for a in plan.stale],
    )


def guide_import(
    *,
    data: bytes,
    filename: str,
    system: System,
    author: AbstractBaseUser | None = None,
    dry_run: bool = False,
    prune: bool = False,
) -> ImportReport:
    """Import one guide into `system`: create new sections, update changed ones in place.

    Articles are keyed by (system, heading path) among imported articles. With `prune`, articles that
    came from this file and whose section is gone are deleted. With `dry_run` nothing is written.
    Raises GuideRejected (and changes nothing) for files that cannot be imported.
    """
    sections = guide_parse_bytes(data=data, filename=filename)
    source_file = _source_name(filename)

    def plan_now() -> _Plan:
        if system.pk is None:
            return _plan_guide(sections=sections, existing={}, source_file=source_file, from_file=[], prune=prune)
        # Imported guide articles only: starter content ("<system>/<file>.md") is keyed by its file.
        imported = (Article.objects.filter(system=system).exclude(source_hash="")
                    .exclude(source_file__contains="/").select_related("system"))
        existing: dict[str, Article] = {}
        for article in imported.filter(heading_path__in=[s.heading_path for s in sections]).order_by("pk"):
            # An article from this very file wins over one from another guide with the same path.
            current = existing.get(article.heading_path)
            if current is None or (current.source_file != source_file and article.source_file == source_file):
                existing[article.heading_path] = article
        from_file = list(imported.filter(source_file=source_file))
        return _plan_guide(sections=sections, existing=existing, source_file=source_file, from_file=from_file,
                           prune=prune)

    if dry_run:
        return _report(plan_now(), dry_run=True, source=source_file, system=system)
    if system.pk is None:
        system = system_upsert(slug=system.slug or slugify(system.name)[:120], name=system.name)[0]
    try:
        with transaction.atomic():
            # One import per system at a time, so two uploads of a guide cannot both create its articles.
            System.objects.select_for_update().filter(pk=system.pk).first()
            plan = plan_now()
            touched = _apply(plan=plan, system=system, source_file=source_file, author=author)
    except ValidationError as exc:
        # Everything was rolled back; say which value did not fit rather than failing with a 500.
        raise GuideRejected(f"guide could not be stored ({'; '.join(exc.messages)[:200]})") from None
    if touched:
        index_articles(touched)
    return _report(plan, dry_run=False, source=source_file, system=system)


# --------------------------------------------------------------------------------------------------
# Starter content: kb/content/<system>/_system.yml + one article per *.md (YAML front matter)
# --------------------------------------------------------------------------------------------------

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def _require(condition: bool, where: str, reason: str) -> None:
    if not condition:
        raise GuideRejected(f"{where}: {reason}")


def _string_list(value: Any, where: str, name: str) -> list[str]:
    if value is None:
        return []
    _require(isinstance(value, list) and all(isinstance(v, str | int | float) for v in value), where,
             f"{name} must be a list of strings")
    return [str(v).strip() for v in value if str(v).strip()]


def parse_content_article(text: str, *, where: str) -> ParsedSection:
    """One starter-content file: YAML front matter (title, summary, tags, symptoms, solutions) + body."""
    text = repair_text(text.replace("\r\n", "\n").lstrip("\ufeff"))
    match = _FRONT_MATTER_RE.match(text)
    _require(match is not None, where, "missing YAML front matter (the file must start with ---)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise GuideRejected(f"{where}: front matter is not valid YAML ({problem})") from None
    _require(isinstance(meta, dict), where, "front matter must be a mapping")
    title = " ".join(str(meta.get("title") or "").split())
    _require(bool(title), where, "front matter needs a title")
    _require(len(title) <= 255, where, "title is longer than 255 characters")
    body = text[match.end():].strip("\n")
    _require(bool(body.strip()), where, "the article body after the front matter is empty")

    symptoms: list[ParsedSymptom] = []
    raw_symptoms = meta.get("symptoms") or []
    _require(isinstance(raw_symptoms, list), where, "symptoms must be a list")
    for index, raw in enumerate(raw_symptoms, start=1):
        _require(isinstance(raw, dict) and raw.get("title"), where, f"symptom {index} needs a title")
        severity = str(raw.get("severity") or Severity.MEDIUM.value).lower()
        _require(severity in Severity.values, where,
                 f"symptom {index} has severity {severity!r}; use one of {', '.join(Severity.values)}")
        _add_symptom(symptoms, ParsedSymptom(
            title=" ".join(str(raw["title"]).split()), severity=severity,
            signatures=_string_list(raw.get("signatures"), where, f"symptom {index} signatures"),
            description=" ".join(str(raw.get("description") or "").split()),
        ))

    solutions: list[ParsedSolution] = []
    raw_solutions = meta.get("solutions") or []
    _require(isinstance(raw_solutions, list), where, "solutions must be a list")
    for index, raw in enumerate(raw_solutions, start=1):
        _require(isinstance(raw, dict) and raw.get("title"), where, f"solution {index} needs a title")
        _require(isinstance(raw.get("steps"), str) and raw["steps"].strip(), where,
                 f"solution {index} needs steps (Markdown text)")
        risk = str(raw.get("risk") or Risk.LOW.value).lower()
        _require(risk in Risk.values, where, f"solution {index} has risk {risk!r}; use one of {', '.join(Risk.values)}")
        solutions.append(ParsedSolution(title=" ".join(str(raw["title"]).split())[:255],
                                        steps_markdown=raw["steps"].strip(), risk=risk))
    _require(len({s.title.lower() for s in solutions}) == len(solutions), where, "solution titles must be unique")

    tags = [t.lower() for t in _string_list(meta.get("tags"), where, "tags")] or _tags_for(title, body)
    summary = " ".join(str(meta.get("summary") or "").split())
    return ParsedSection(title=title, heading_path=title, anchor="", body_markdown=body, summary=summary,
                         symptoms=symptoms, solutions=solutions, tags=sorted(set(tags)))


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > settings.TRIAGE_IMPORT_MAX_BYTES:
            raise GuideRejected(f"{path.name}: guide is too large ({_human_size(size)})")
        return decode_guide(path.read_bytes())
    except GuideRejected as exc:
        raise GuideRejected(str(exc) if str(exc).startswith(path.name) else f"{path.name}: {exc}") from None
    except OSError as exc:
        raise GuideRejected(f"{path.name}: cannot be read ({exc.strerror})") from None


def _system_meta(directory: Path) -> dict[str, Any]:
    where = f"{directory.name}/_system.yml"
    meta_path = directory / "_system.yml"
    if not meta_path.exists():
        return {"name": directory.name.replace("-", " ").title(), "slug": slugify(directory.name),
                "description": "", "links": None, "depends_on": None}
    try:
        meta = yaml.safe_load(_read_text(meta_path)) or {}
    except yaml.YAMLError as exc:
        raise GuideRejected(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    _require(isinstance(meta, dict), where, "must be a mapping")
    name = " ".join(str(meta.get("name") or "").split())
    _require(bool(name), where, "needs a name")
    slug = slugify(str(meta.get("slug") or name))[:120]
    _require(bool(slug), where, "slug must contain letters or digits")
    links = meta.get("links") or []
    _require(isinstance(links, list), where, "links must be a list")
    clean_links = []
    for link in links:
        _require(isinstance(link, dict) and link.get("url") and link.get("label"), where,
                 "every link needs a label and a url")
        _require(str(link["url"]).startswith(("http://", "https://")), where, "link urls must be http(s)")
        clean_links.append({"label": str(link["label"]), "url": str(link["url"])})
    return {"name": name[:120], "slug": slug, "description": " ".join(str(meta.get("description") or "").split()),
            "links": clean_links, "depends_on": _string_list(meta.get("depends_on"), where, "depends_on")}


def _content_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.is_file() and not p.name.startswith("_"))


def _system_needs_change(system: System | None, meta: dict[str, Any]) -> bool:
    if system is None:
        return True
    return (system.name, system.description or "", system.links) != (
        meta["name"], meta["description"] or system.description or "", meta["links"])


def content_import(*, directory: Path, dry_run: bool = False, prune: bool = False) -> list[ImportReport]:
    """Load starter content: one report per system directory under `directory`.

    Every file is checked before anything is written, so one bad file changes nothing.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise GuideRejected(f"{directory}: content directory not found")
    loaded: list[tuple[Path, dict[str, Any], list[tuple[str, ParsedSection]]]] = []
    for system_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        files = _content_files(system_dir)
        if not files and not (system_dir / "_system.yml").exists():
            continue
        meta = _system_meta(system_dir)
        articles = []
        for path in files:
            where = f"{system_dir.name}/{path.name}"
            articles.append((where, parse_content_article(_read_text(path), where=where)))
        titles = [a.title.lower() for _, a in articles]
        duplicate = next((t for t in titles if titles.count(t) > 1), None)
        _require(duplicate is None, system_dir.name, f"two articles share the title {duplicate!r}")
        loaded.append((system_dir, meta, articles))

    reports: list[ImportReport] = []
    with transaction.atomic():
        touched: list[int] = []
        systems: dict[str, System] = {}
        for system_dir, meta, articles in loaded:
            system = System.objects.filter(slug=meta["slug"]).first()
            system_changed = _system_needs_change(system, meta)
            existed = system is not None
            if not dry_run:
                system, changed = system_upsert(slug=meta["slug"], name=meta["name"], description=meta["description"],
                                                links=meta["links"])
                system_changed = changed
            elif system is None:
                system = System(name=meta["name"], slug=meta["slug"])
            systems[meta["slug"]] = system
            prefix = f"{system_dir.name}/"
            existing: dict[str, Article] = {}
            from_dir: list[Article] = []
            if system.pk is not None:
                from_dir = list(Article.objects.filter(system=system, source_file__startswith=prefix))
                existing = {a.source_file: a for a in from_dir}
            report = ImportReport(dry_run=dry_run, source=system_dir.name, system=meta["name"])
            if system_changed:
                (report.updated if existed else report.created).append(f"{meta['name']} (system)")
            # Content articles are keyed by their file, so a retitled article is updated in place.
            for where, section in articles:
                digest = section.content_hash()
                article = existing.get(where)
                if article is not None and article.source_hash == digest:
                    report.unchanged.append(section.heading_path)
                    continue
                (report.created if article is None else report.updated).append(section.heading_path)
                if dry_run:
                    continue
                fresh = article is None
                if article is None:
                    article = article_create(
                        system=system, title=section.title, body=section.body_markdown, summary=section.summary,
                        heading_path=section.heading_path, tags=section.tags, source_file=where,
                        source_hash=digest, note="Starter content",
                    )
                else:
                    article_update(article=article, note="Starter content updated", tags=section.tags,
                                   title=section.title, body=section.body_markdown, summary=section.summary,
                                   heading_path=section.heading_path, source_hash=digest)
                _sync_relations(article=article, section=section, fresh=fresh)
                touched.append(article.pk)
            wanted_files = {where for where, _ in articles}
            for article in from_dir:
                if article.source_file not in wanted_files:
                    if prune:
                        report.removed.append(article.heading_path)
                        if not dry_run:
                            _delete_article(article)
                    else:
                        report.stale.append(article.heading_path)
            reports.append(report)

        # Dependencies last, so a system may depend on one that sorts after it.
        for (_dir, meta, _), report in zip(loaded, reports, strict=True):
            system = systems[meta["slug"]]
            wanted = sorted(meta["depends_on"] or [])
            if system.pk is None:
                continue
            current = sorted(system.depends_on.values_list("slug", flat=True))
            known = sorted(s for s in wanted if s in systems or System.objects.filter(slug=s).exists())
            if known != current:
                label = f"{meta['name']} (system)"
                if label not in report.created and label not in report.updated:
                    report.updated.append(label)
                if not dry_run:
                    system_upsert(slug=system.slug, name=system.name, description=system.description,
                                  links=system.links, depends_on=known)
    if touched:
        index_articles(touched)
    return reports
