"""What a heading or a bold label means: a label inside a section ("Symptoms", "Solution"), a section to
skip ("Table of contents"), or a problem title, cleaned of numbering and emoji."""

from __future__ import annotations

import re
import unicodedata

from django.utils.text import slugify

from .errorish import unique

_LABELS: list[tuple[str, re.Pattern[str]]] = [
    ("symptoms", re.compile(
        r"^(symptoms?|signs?|(what )?you('ll| may| might| will| would)? (see|get)|error( messages?| output| text)?"
        r"|messages?|observed behaviou?r|(example |sample |typical |full |console |log )?(output|logs?|errors?)"
        r"|stack ?trace|traceback)$")),
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

SKIP_SECTION_RE = re.compile(
    r"^(table of contents|contents|toc|index|related (documentation|docs|guides|links|resources)|see also"
    r"|further reading|references?|(additional )?resources|(getting|get|need|more) (additional |more |further )?help"
    r"|contact( support| us)?|support( contacts?| checklist| channels)?|how to report( issues)?|issue template"
    r"|reporting (issues|bugs)|getting community help|community( support| forums)?|license|changelog"
    r"|acknowledge?ments?)$"
)
_PROBLEM_PREFIX_RE = re.compile(r"^(issue|problem|error|bug)\s*[:\-–—]\s*", re.IGNORECASE)
QUESTION_RE = re.compile(r"^(?:q|question)\s*[:.]\s*(.+)$", re.IGNORECASE)
_NUMBERING_RE = re.compile(r"^(\d+(\.\d+)*[.)]|[A-Za-z][.)])\s+")


def _strip_symbols(text: str) -> tuple[str, str]:
    """Split leading emoji/decoration off a heading: (decoration, text)."""
    i = 0
    while i < len(text) and (
        unicodedata.category(text[i]) in ("So", "Sk", "Mn", "Cf", "Co", "Cn") or text[i] in " \u200d"
    ):
        i += 1
    return text[:i].strip(), text[i:].strip()


def normalise_label(text: str) -> str:
    return _strip_symbols(text)[1].strip().rstrip(":").strip().lower()


def label_kind(text: str) -> str | None:
    normal = normalise_label(text)
    for kind, pattern in _LABELS:
        if pattern.match(normal):
            return kind
    return None


def heading_label_kind(text: str) -> str | None:
    """Label headings stay inside the section above them; a heading ending in ':' is one too."""
    kind = label_kind(text)
    if kind is None and text.strip().endswith(":"):
        return "info"
    return kind


def clean_heading(text: str) -> tuple[str, str, bool]:
    """(path segment, title, is_problem) for a heading's plain text."""
    decoration, rest = _strip_symbols(" ".join(text.split()))
    rest = _NUMBERING_RE.sub("", rest, count=1)
    prefix = _PROBLEM_PREFIX_RE.match(rest)
    is_problem = bool(prefix)
    if prefix and prefix.group(1).lower() != "error":
        # "Issue: Port in use" names a problem; "Error: Repository not found" is the message itself.
        rest = rest[prefix.end():]
    rest = rest.strip().rstrip(":").strip()
    more, rest = _strip_symbols(rest)  # "Issue: 🔍 Search broken"
    decoration = f"{decoration} {more}".strip()
    # Trailing emoji are decoration too.
    while rest and unicodedata.category(rest[-1]) in ("So", "Mn", "Cf"):
        rest = rest[:-1].rstrip()
    title = rest or decoration or "Untitled"
    segment = f"{decoration} {title}".strip() if decoration and rest else title
    return segment[:200], title[:255], is_problem


_PRINTED_PREFIX_RE = re.compile(r"^(?:error|fatal|warning|err|warn)\s*:\s", re.IGNORECASE)
_DASH_SPLIT_RE = re.compile(r"\s+[-–—]\s+")
_PLACE_PREFIX_RE = re.compile(r"^[A-Z][\w.+-]*(?: [A-Z0-9][\w.+-]*)?:\s+(?P<rest>\S.*)$")
# Words that open a question or a description; "Can't connect to ..." and "Could not resolve host" are messages.
_NOT_A_MESSAGE_RE = re.compile(
    r"^(how|why|what|when|where|which|who|can(?!'t| ?not)|could(?! ?not)|should|is|are|do|does|did|i|i'm|my|we"
    r"|you|using|about)\b", re.IGNORECASE)


def heading_messages(plain: str) -> list[str]:
    """The error messages a heading is made of ("Error: Repository not found", "Failed to get rootfs info /
    \"stat failed on /dev/...\""), not counting headings that describe or ask ("Why is my pod stuck?")."""
    text = " ".join(plain.split()).strip().rstrip(":").strip()
    _, text = _strip_symbols(text)
    text = _NUMBERING_RE.sub("", text, count=1)
    prefix = _PROBLEM_PREFIX_RE.match(text)
    # "ERROR: The Python ssl extension was not compiled. Missing the OpenSSL lib?" asks, but was printed.
    asks = text.endswith("?") and not _PRINTED_PREFIX_RE.match(text)
    if not text or asks or _NOT_A_MESSAGE_RE.match(text) or (prefix and prefix.group(1).lower() != "error"):
        # "Issue: Port in use" is the author's description of a problem, not what the program printed.
        return []
    parts = [part.strip().strip("\"“”'").strip() for part in re.split(r"\s+/\s+", text)]
    # "Build failed - bad interpreter: Permission denied": what the author says failed, then the message.
    parts += [side.strip().strip("\"“”'").strip() for part in parts for side in _DASH_SPLIT_RE.split(part)[1:]
              if len(side.split()) >= 3]
    # "macOS: Library not loaded: libssl.1.1.dylib": where it happens, then the message.
    parts += [match.group("rest") for part in list(parts) if (match := _PLACE_PREFIX_RE.match(part))
              and not _PRINTED_PREFIX_RE.match(part) and len(match.group("rest").split()) >= 3]
    return unique([part for part in parts if part and re.search(r"[A-Za-z]", part)])


def anchor_for(text: str) -> str:
    return slugify(text)[:255] or "section"


# "Why am I getting rpc error: code = Unavailable desc = transport is closing?": a question that names the
# message it asks about, without quotes.
_ASKS_ABOUT_RE = re.compile(
    r"\b(?:getting|seeing|get|see|receiving|receive|fix|resolve|solve|avoid|throws?|returns?|reports?|says?)\s+"
    r"(?:(?:an?|the|this|these)\s+)?(?:(?:following\s+)?(?:error|message|warning)s?\s*:?\s+)?(?P<message>.{8,300})$",
    re.IGNORECASE)
_ASKED_CONTEXT_RE = re.compile(r"\s+(?:when|while|after|during|using|if|on startup|on start)\b", re.IGNORECASE)


def asked_messages(plain: str) -> list[str]:
    """The message a question heading asks about ("Why do I get X when Y?" -> "X when Y", "X")."""
    text = " ".join(plain.split()).strip().rstrip("?").strip()
    match = _ASKS_ABOUT_RE.search(text)
    if not match:
        return []
    message = match.group("message").strip().strip("\"“”'`").strip()
    found = [message]
    context = _ASKED_CONTEXT_RE.search(message)
    if context:
        found.append(message[:context.start()].strip().strip("\"“”'`").strip())
    return [item for item in found if len(item.split()) >= 3]


# A heading that is one long CamelCase name (an alert, an exception, a status): "KubeAPIErrorBudgetBurn",
# "CrashLoopBackOff". Two humps are often a product ("PostgreSQL", "WebSockets"), so three are needed.
_NAME_HEADING_RE = re.compile(r"^`?[A-Z][A-Za-z0-9]{9,80}`?$")
_HUMP_RE = re.compile(r"[A-Z][a-z0-9]+|[A-Z]+(?![a-z])")


def heading_name(plain: str) -> str:
    """The heading's text when it is one CamelCase name of at least three parts, else ""."""
    text = plain.strip()
    if not _NAME_HEADING_RE.match(text):
        return ""
    name = text.strip("`")
    return name if len(_HUMP_RE.findall(name)) >= 3 and any(c.islower() for c in name) else ""
