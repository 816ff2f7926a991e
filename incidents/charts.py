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
class Tick:
    """A labelled horizontal grid line of the value axis."""

    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    baseline: float
    empty: bool
    ticks: list[Tick]
    plot_left: float
    empty_text: str = "No incidents in this period."

    @property
    def label_y(self) -> int:
        return self.height - 8


AXIS_WIDTH = 48.0  # room on the left for the value axis labels


def bar_chart(
    *, title: str, labels: list[str], values: list[float | None], format_value: Callable[[float], str],
    width: int = 640, height: int = 180, empty_text: str = "No incidents in this period.",
) -> BarChart:
    """Vertical bars scaled to the largest value, with a labelled value axis (0, half, peak); None values
    leave a gap (no data that period). All-zero or all-None data is "empty" and says `empty_text`."""
    top, bottom = 18.0, 28.0
    plot = height - top - bottom
    present = [v for v in values if v is not None]
    peak = max(present) if present else 0
    slot = (width - AXIS_WIDTH) / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_height = (value / peak * plot) if value and peak else 0.0
        bars.append(Bar(
            x=round(AXIS_WIDTH + index * slot + slot * 0.15, 1), y=round(top + plot - bar_height, 1),
            width=round(slot * 0.7, 1), height=round(bar_height, 1), label=label, value=value,
            value_label=format_value(value) if value is not None else "–",
        ))
    ticks: list[Tick] = []
    for share in (0.0, 0.5, 1.0) if peak else ():
        label = format_value(peak * share)
        if all(label != tick.label for tick in ticks):  # a small peak (1 incident) needs no "0" twice
            ticks.append(Tick(y=round(top + plot - share * plot, 1), label=label))
    return BarChart(title=title, width=width, height=height, bars=bars, baseline=top + plot,
                    empty=not any(present), ticks=ticks, plot_left=AXIS_WIDTH, empty_text=empty_text)


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
