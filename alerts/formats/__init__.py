"""One parser per sender format; each turns a decoded JSON body into `AlertEvent`s or raises `FormatError`."""

from collections.abc import Callable
from typing import Any

from . import alertmanager, events_v2, generic, grafana
from .base import ACKNOWLEDGE, RESOLVE, TRIGGER, AlertEvent, FormatError, bounded

PARSERS: dict[str, Callable[..., list[AlertEvent]]] = {
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "events_v2": events_v2.parse,
}


def parse(kind: str, body: Any, *, field_paths: dict[str, str] | None = None) -> list[AlertEvent]:
    if kind == "generic":
        return generic.parse(body, field_paths)
    return PARSERS[kind](body)


__all__ = ["ACKNOWLEDGE", "RESOLVE", "TRIGGER", "AlertEvent", "FormatError", "bounded", "parse"]
