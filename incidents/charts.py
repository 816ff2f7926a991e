"""Geometry for the small inline SVG charts on the metrics page (no JavaScript, no CDN).

Views call these; templates only draw the rectangles and labels they are given.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float | None
    value_label: str

    @property
    def value_y(self) -> float:
        return round(self.y - 4, 1)


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    baseline: float
    empty: bool

    @property
    def label_y(self) -> int:
        return self.height - 8


def bar_chart(
    *, title: str, labels: list[str], values: list[float | None], format_value: Callable[[float], str],
    width: int = 640, height: int = 180,
) -> BarChart:
    """Vertical bars scaled to the largest value; None values leave a gap (no data that period)."""
    top, bottom = 18.0, 28.0
    plot = height - top - bottom
    present = [v for v in values if v is not None]
    peak = max(present) if present else 0
    slot = width / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_height = (value / peak * plot) if value and peak else 0.0
        bars.append(Bar(
            x=round(index * slot + slot * 0.15, 1), y=round(top + plot - bar_height, 1),
            width=round(slot * 0.7, 1), height=round(bar_height, 1), label=label, value=value,
            value_label=format_value(value) if value is not None else "–",
        ))
    return BarChart(title=title, width=width, height=height, bars=bars, baseline=top + plot,
                    empty=not any(present))


def duration_label(seconds: float | None) -> str:
    """Short human duration: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
