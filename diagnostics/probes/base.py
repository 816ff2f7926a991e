"""What every probe shares: the check it runs, what it returns, the two ways it fails, small formatting."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509

from ..conditions import Condition
from ..targets import split_host_port

EXCERPT_LIMIT = 2000  # evidence keeps an excerpt


class TransportError(Exception):
    """Could not talk to the target; worth retrying."""


class ProbeUnavailable(Exception):
    """The probe cannot run at all; retrying will not help."""


def describe_os_error(exc: OSError) -> str:
    """"connection refused" rather than "[Errno 111] Connect call failed ('127.0.0.1', 8000)"."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = ""
    warn: float | None = None
    crit: float | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "value": round(self.value, 3), "unit": self.unit, "warn": self.warn,
                "crit": self.crit}


@dataclass
class ProbeOutcome:
    summary: str  # one line for an OK result, e.g. "HTTP 200 in 12 ms"
    observations: dict[str, Any]
    value: float | None = None  # what the warning/critical thresholds are compared with
    value_label: str = ""  # "response time", "disk used", ...
    value_unit: str = ""
    metrics: list[Metric] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    failure: str = ""  # a definite bad answer: the result is CRITICAL whatever the conditions say


@dataclass(frozen=True)
class CheckSpec:
    """Everything needed to run a check, detached from the ORM so the engine never touches the database."""

    id: int | None
    name: str
    type: str
    target: str
    parameters: dict[str, Any]
    conditions: tuple[Condition, ...]
    timeout: float = 5.0
    retries: int = 2
    warning: float | None = None
    critical: float | None = None
    direction: str = "above"
    symptom_signatures: tuple[tuple[str, str], ...] | None = None
    invalid: str = ""  # set when the stored definition no longer validates; the run is UNKNOWN


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def certificate_not_after(der: bytes | None) -> tuple[datetime, dict] | None:
    if not der:
        return None

    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return not_after, {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
    }


def host_port(target: str, default_port: int | None) -> tuple[str, int]:
    try:
        return split_host_port(target, default_port)
    except ValueError as exc:
        raise ProbeUnavailable(str(exc)) from exc


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def short_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."

