"""Unknown errors: error-looking lines no signature knows, counted by their masked shape and grouped into
templates with Drain (drain3), so a new problem shows once with its count instead of line by line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from drain3.drain import Drain

from .masking import MASK, strip_log_prefix

MAX_UNKNOWN_GROUPS = 20
# Distinct unknown lines kept for clustering; more would only cost time, not change the picture.
MAX_UNKNOWN_DISTINCT = 2000

# The same clutter as kb.matching.masking's log prefix, on an already masked line (timestamps are "#" there).
_MASKED_LOG_PREFIX = re.compile(
    r"^\s*(?:(?:#|-|\||\[[^\] ]*\]:?|[\[(<]?(?:trace|debug|info|notice|warn|warning|error|err|critical|crit|fatal"
    r"|severe)[\])>]?:?)\s+)*"
)


@dataclass
class UnknownGroup:
    template: str
    count: int
    example: str
    first_line: int
    suggestion: str


@dataclass
class _UnknownLine:
    example: str
    first_line: int
    count: int = 0


class UnknownLines:
    """Distinct unknown lines of one scan, keyed by their masked message (at most MAX_UNKNOWN_DISTINCT)."""

    def __init__(self) -> None:
        self.lines: dict[str, _UnknownLine] = {}
        self.overflow = False

    def add(self, line: str, masked: str, number: int) -> None:
        """Count one line; ``line`` is the raw text (already cut for display), ``masked`` its masked form."""
        key = _MASKED_LOG_PREFIX.sub("", masked, count=1).strip()
        if not key:
            return
        entry = self.lines.get(key)
        if entry is None:
            if len(self.lines) >= MAX_UNKNOWN_DISTINCT:
                self.overflow = True
                return
            entry = self.lines[key] = _UnknownLine(example=strip_log_prefix(line), first_line=number)
        entry.count += 1

    def groups(self) -> list[UnknownGroup]:
        """Group the distinct lines into Drain templates, biggest groups first."""
        if not self.lines:
            return []
        drain = Drain(sim_th=0.5, depth=4, max_children=100, max_clusters=500, param_str="<*>")
        groups: dict[int, dict[str, Any]] = {}
        for key, entry in self.lines.items():
            cluster, _ = drain.add_log_message(key.replace(MASK, "<*>"))
            group = groups.setdefault(cluster.cluster_id, {"count": 0, "example": entry.example,
                                                           "first_line": entry.first_line, "cluster": cluster})
            group["count"] += entry.count
            if entry.first_line < group["first_line"]:
                group["first_line"], group["example"] = entry.first_line, entry.example
        ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["first_line"]))[:MAX_UNKNOWN_GROUPS]
        return [
            UnknownGroup(template=g["cluster"].get_template(), count=g["count"], example=g["example"],
                         first_line=g["first_line"], suggestion=g["example"][:500])
            for g in ordered
        ]
