"""Values a walkthrough carries from a matched log line (host, port) that check targets may use."""

from __future__ import annotations

import re
from typing import Any

from diagnostics.targets import Allowlist, ip_literal


def context_from_text(text: str) -> dict[str, str]:
    """Host and port found in a log line (a URL, host:port, or "host X ... port N"), for the tree's checks."""
    text = text[:4000]
    host = port = ""
    url = re.search(r"\b[a-z][a-z0-9+.-]{1,15}://(?:[^@/\s]+@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?",
                    text)
    pair = re.search(
        r"(?<![\w/.:\-])(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*)"
        r":(\d{2,5})\b", text)
    if url:
        host, port = url.group(1), url.group(2) or ""
    if pair and (not host or not port):
        host, port = host or pair.group(1), port or pair.group(2)
    if not host:
        named = re.search(r"""\bhost(?:name)?\s*[=:]?\s*["']?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9a-fA-F:.]+\])""", text,
                          re.IGNORECASE)
        host = named.group(1) if named else ""
    if not port:
        numbered = re.search(r"\bport\s*[=:]?\s*(\d{2,5})\b", text, re.IGNORECASE) or re.search(
            r"(?:^|\s):::?(\d{2,5})\b", text)
        port = numbered.group(1) if numbered else ""
    context: dict[str, str] = {}
    if host and len(host) <= 253 and host.lower() not in ("http", "https"):
        context["host"] = host.strip("[]")
    if port.isdigit() and 0 < int(port) < 65536:
        context["port"] = str(int(port))
    return context


def context_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Keep only well-formed context values (they end up in check targets)."""
    context: dict[str, Any] = {}
    host = str(values.get("host") or "").strip().strip("[]")
    if host and len(host) <= 253 and re.fullmatch(r"[A-Za-z0-9.:-]+", host) and host[0] not in ".-":
        context["host"] = host
    port = str(values.get("port") or "").strip()
    if port.isdigit() and 0 < int(port) < 65536:
        context["port"] = str(int(port))
    line = " ".join(str(values.get("line") or "").split())
    if line:
        context["line"] = line[:500]
    symptom = values.get("symptom")
    if str(symptom or "").isdigit():
        context["symptom"] = int(symptom)
    return context


def context_host_allowed(host: str) -> bool:
    """Only hosts the check allowlist names outright get a check built for them (no DNS, no junk rows)."""
    allowlist = Allowlist.from_settings()
    literal = ip_literal(host)
    if literal is not None:
        return any(literal in network for network in allowlist.networks if network.version == literal.version)
    return host.lower().rstrip(".") in allowlist.hostnames
