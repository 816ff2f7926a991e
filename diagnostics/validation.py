"""Save-time validation of a check: everything that can be wrong with it is reported before it runs."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import re2

from .conditions import validate_conditions
from .targets import env_reference_problem, secret_problems, split_host_port

if TYPE_CHECKING:
    from .models import Check

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DNS_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "PTR", "CAA")

# Allowed parameters per type, with the Python type each must have. Unknown keys are typos to report.
_COMMON = {"threshold_direction": str}
PARAMETERS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "http": {"method": str, "headers": dict, "body": str, "follow_redirects": bool, "max_redirects": int,
             "verify_tls": bool},
    "tcp": {},
    "dns": {"record_type": str, "nameserver": str, "port": int},
    "tls": {"server_name": str},
    "postgres": {"database": str, "user": str, "password": str, "query": str, "statement_timeout_ms": int},
    "redis": {"password": str, "username": str, "info_field": str, "db": int},
    "disk": {},
    "memory": {"kind": str},
    "logfile": {"pattern": str, "symptom": int, "lines": int},
}

# Threshold direction by type: for certificate expiry, fewer days left is worse.
DEFAULT_DIRECTION = {"tls": "below"}


def threshold_direction(check_type: str, parameters: dict) -> str:
    return parameters.get("threshold_direction") or DEFAULT_DIRECTION.get(check_type, "above")


def check_validation_errors(check: Check) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    check_type = check.type
    parameters = check.parameters if check.parameters is not None else {}
    if not isinstance(parameters, dict):
        add("parameters", "parameters must be a mapping of name to value")
        parameters = {}
    if check_type not in PARAMETERS:
        add("type", f"unknown check type {check_type!r}")
        return errors

    for message in _target_problems(check_type, (check.target or "").strip()):
        add("target", message)

    allowed = {**PARAMETERS[check_type], **_COMMON}
    for key, value in parameters.items():
        if key not in allowed:
            add("parameters", f"{key!r} is not a parameter of {check_type} checks (known: "
                              f"{', '.join(sorted(allowed)) or 'none'})")
        elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            add("parameters", f"{key} must be a {allowed[key].__name__}")
    if errors.get("parameters"):
        return errors
    for message in _parameter_problems(check_type, parameters):
        add("parameters", message)
    for field, message in secret_problems(target=check.target or "", parameters=parameters):
        add(field, message)

    for message in validate_conditions(check.conditions if check.conditions is not None else [], check_type):
        add("conditions", message)

    warning, critical = check.warning_threshold, check.critical_threshold
    if warning is not None and critical is not None:
        direction = threshold_direction(check_type, parameters)
        if direction == "above" and warning > critical:
            add("warning_threshold", "the warning threshold must not be above the critical one "
                                     "(higher values are worse for this check)")
        if direction == "below" and warning < critical:
            add("warning_threshold", "the warning threshold must not be below the critical one "
                                     "(lower values are worse for this check)")
    return errors


def _target_problems(check_type: str, target: str) -> list[str]:
    if target.startswith("env:"):
        if check_type not in ("http", "postgres", "redis"):
            return [f"{check_type} targets cannot come from the environment"]
        problem = env_reference_problem(target)
        return [problem] if problem else []
    if check_type == "http":
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return ["an HTTP target is a URL such as http://localhost:3000/health"]
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return ["the URL's port is not valid"]
        return []
    if check_type in ("tcp", "tls"):
        try:
            split_host_port(target, 443 if check_type == "tls" else None)
        except ValueError as exc:
            return [str(exc)]
        return []
    if check_type == "dns":
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,253}", target or ""):
            return ["a DNS target is a host name such as localhost or db.internal"]
        return []
    if check_type == "postgres":
        if target.startswith(("postgres://", "postgresql://")):
            return [] if urlsplit(target).hostname else ["the PostgreSQL URL has no host"]
        try:
            split_host_port(target, 5432)
        except ValueError as exc:
            return [f"a PostgreSQL target is postgresql://user@host:port/db or host:port ({exc})"]
        return []
    if check_type == "redis":
        if target.startswith(("redis://", "rediss://")):
            return [] if urlsplit(target).hostname else ["the Redis URL has no host"]
        try:
            split_host_port(target, 6379)
        except ValueError as exc:
            return [f"a Redis target is redis://host:port/db or host:port ({exc})"]
        return []
    if check_type in ("disk", "logfile"):
        if not target.startswith("/"):
            return ["the target is an absolute path, e.g. /var/log/app.log"]
        if "\x00" in target:
            return ["the path contains a NUL byte"]
        return []
    if check_type == "memory":
        return [] if target in ("", "localhost") else ["memory checks measure this host; leave the target empty"]
    return []


def _parameter_problems(check_type: str, parameters: dict[str, Any]) -> list[str]:
    problems = []
    direction = parameters.get("threshold_direction")
    if direction is not None and direction not in ("above", "below"):
        problems.append("threshold_direction is 'above' (higher is worse) or 'below' (lower is worse)")
    if check_type == "http":
        if parameters.get("method", "GET").upper() not in HTTP_METHODS:
            problems.append(f"method must be one of {', '.join(HTTP_METHODS)}")
        headers = parameters.get("headers", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            problems.append("headers map names to strings")
        if not 0 <= parameters.get("max_redirects", 5) <= 10:
            problems.append("max_redirects is between 0 and 10")
        if len(parameters.get("body", "")) > 64 * 1024:
            problems.append("body is limited to 64 KiB")
    elif check_type == "dns":
        if parameters.get("record_type", "A").upper() not in DNS_RECORD_TYPES:
            problems.append(f"record_type must be one of {', '.join(DNS_RECORD_TYPES)}")
        if "nameserver" in parameters:
            try:
                ipaddress.ip_address(parameters["nameserver"])
            except ValueError:
                problems.append("nameserver is an IP address, e.g. 127.0.0.1")
        if not 0 < parameters.get("port", 53) < 65536:
            problems.append("port is between 1 and 65535")
    elif check_type == "postgres":
        query = parameters.get("query", "")
        if query and ";" in query.strip().rstrip(";"):
            problems.append("query is a single statement")
        if not 1 <= parameters.get("statement_timeout_ms", 2000) <= 60_000:
            problems.append("statement_timeout_ms is between 1 and 60000")
    elif check_type == "memory":
        if parameters.get("kind", "virtual") not in ("virtual", "swap"):
            problems.append("kind is 'virtual' or 'swap'")
    elif check_type == "logfile":
        if ("pattern" in parameters) == ("symptom" in parameters):
            problems.append("a log file check needs exactly one of pattern (RE2) or symptom (a symptom id)")
        if "pattern" in parameters:
            try:
                re2.compile(parameters["pattern"])
            except re2.error as exc:
                problems.append(f"pattern is not a valid RE2 expression: {exc}")
        if not 1 <= parameters.get("lines", 1000) <= 100_000:
            problems.append("lines is between 1 and 100000")
    return problems
