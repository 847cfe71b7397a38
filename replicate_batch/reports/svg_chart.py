"""An inline SVG line chart of scores across runs, for `history.html`: no script, no external resource.

`line_chart_svg(run_labels, series)` draws one line per model over the runs in order, its 95%
interval as a translucent band, a dot per point (hover: run, model, mean and interval) and a ring
on points flagged significant. A missing point (None) breaks the line and the band. Everything
taken from the data (run labels, model names, the title) is escaped, so the SVG can be pasted into
an HTML page as is; the same input always gives the same text, with no `id` that two charts on
one page could share. Elements carry classes for a page's CSS and for tests: `series` (with
`data-model`), `line`, `band`, `significant`, `x-axis`, `y-axis`, `legend`.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["ChartPoint", "ChartSeries", "line_chart_svg"]

COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
"""Okabe-Ito colours (told apart with colour blindness); after eight models the lines get dashed."""
DASHES = ("", "6 3", "2 3", "8 3 2 3")
FONT = 'font-family="sans-serif" font-size="11"'
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 32  # margins around the plot area, in pixels
LEGEND_ROW = 18
LABEL_CHARS = 20  # run labels longer than this are cut on the axis (whole in the tooltip)
MAX_LABELS = 12  # run labels under the axis, at most
CHAR_PX, LABEL_PAD = 6.5, 8  # a generous width of a character of the 11px font, and space between labels
MANY_RUNS = 60  # beyond this many runs, smaller dots
BAR_HALF_WIDTH = 3  # an interval with no neighbour to join is drawn as a bar this wide each side
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

_Position = Callable[[int], float]  # run index -> x
_Scale = Callable[[float], float]  # value -> y


@dataclass(frozen=True)
class ChartPoint:
    """One model's score in one run: the mean, its interval (if known), and whether to ring it."""

    mean: float
    ci_low: float | None = None
    ci_high: float | None = None
    significant: bool = False


@dataclass(frozen=True)
class ChartSeries:
    """One line: a model's points, one per run in the chart's order (None: no score in that run)."""

    name: str
    points: Sequence[ChartPoint | None]


def line_chart_svg(
    run_labels: Sequence[str],
    series: Sequence[ChartSeries],
    *,
    title: str = "",
    y_range: tuple[float, float] | None = (0.0, 1.0),
    width: int = 720,
    plot_height: int = 240,
    marker_note: str = "significant change",
) -> str:
    """The chart as an `<svg>` element; `y_range` grows to fit the data, None fits the data alone."""
    for line in series:
        if len(line.points) != len(run_labels):
            raise ValueError(f"model {line.name!r} has {len(line.points)} points for {len(run_labels)} runs")
    values = [v for line in series for p in line.points if p is not None for v in _values(p)]
    if any(not math.isfinite(v) for v in values):
        raise ValueError("chart values must be finite numbers")
    low, high = _axis_range(values, y_range)
    plot_width = width - LEFT - RIGHT
    has_rings = any(p is not None and p.significant for line in series for p in line.points)
    height = TOP + plot_height + BOTTOM + LEGEND_ROW * (len(series) + int(has_rings))

    def x(i: int) -> float:
        if len(run_labels) == 1:
            return LEFT + plot_width / 2
        return LEFT + plot_width * i / (len(run_labels) - 1)

    def y(v: float) -> float:
        return TOP + plot_height * (high - v) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_escape(title or "chart")}" {FONT}>',
        f"<title>{_escape(title or 'chart')}</title>",
    ]
    parts += _y_axis(low, high, y, width)
    parts += _x_axis(run_labels, x, TOP + plot_height, width - RIGHT)
    if not values:
        parts.append(
            f'<text x="{LEFT + plot_width / 2:.2f}" y="{TOP + plot_height / 2:.2f}" '
            'text-anchor="middle" fill="#666">no scores to draw</text>'
        )
    for index, line in enumerate(series):
        parts += _series(line, index, run_labels, x, y)
    parts += _legend(series, marker_note if has_rings else None, TOP + plot_height + BOTTOM)
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(series: Sequence[ChartSeries], marker_note: str | None, top: float) -> list[str]:
    """A row per model (its line's colour and dash, its name), then the ring's meaning if rings are drawn."""
    parts = ['<g class="legend">']
    for index, line in enumerate(series):
        row = top + LEGEND_ROW * index + LEGEND_ROW / 2
        parts.append(
            f'<line x1="{LEFT}" y1="{row:.2f}" x2="{LEFT + 24}" y2="{row:.2f}" {_stroke(index)}/>'
            f'<text x="{LEFT + 30}" y="{row + 4:.2f}">{_escape(line.name)}</text>'
        )
    if marker_note is not None:
        row = top + LEGEND_ROW * len(series) + LEGEND_ROW / 2
        parts.append(
            f'<circle cx="{LEFT + 12}" cy="{row:.2f}" r="5" fill="none" stroke="#333" stroke-width="1.5"/>'
            f'<text x="{LEFT + 30}" y="{row + 4:.2f}">{_escape(marker_note)}</text>'
        )
    parts.append("</g>")
    return parts


def _values(point: ChartPoint) -> list[float]:
    return [v for v in (point.mean, point.ci_low, point.ci_high) if v is not None]


def _axis_range(values: list[float], y_range: tuple[float, float] | None) -> tuple[float, float]:
    """The y axis: `y_range` widened to the data, or the data padded by 5%; never empty."""
    if y_range is not None:
        low, high = min([y_range[0], *values]), max([y_range[1], *values])
    elif values:
        pad = (max(values) - min(values)) * 0.05
        low, high = min(values) - pad, max(values) + pad
    else:
        low, high = 0.0, 1.0
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    return low, high


def _ticks(low: float, high: float) -> list[float]:
    """About five round values (steps of 1, 2, 2.5 or 5 times a power of ten) between low and high."""
    raw = (high - low) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    return [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]


def _y_axis(low: float, high: float, y: _Scale, width: int) -> list[str]:
    parts = ['<g class="y-axis" fill="#333">']
    for tick in _ticks(low, high):
        at = y(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{at:.2f}" x2="{width - RIGHT}" y2="{at:.2f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{at + 4:.2f}" text-anchor="end">{_number(tick)}</text>'
        )
    parts.append("</g>")
    return parts


def _x_axis(run_labels: Sequence[str], x: _Position, bottom: float, right: float) -> list[str]:
    parts = [
        f'<g class="x-axis" fill="#333">'
        f'<line x1="{LEFT}" y1="{bottom:.2f}" x2="{right:.2f}" y2="{bottom:.2f}" stroke="#999"/>'
    ]
    count = len(run_labels)
    for i in _labelled_runs(run_labels, x):
        label = run_labels[i]
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        # the first and last labels reach inwards from their runs, so none sticks out of the chart
        anchor = "middle" if count == 1 or 0 < i < count - 1 else "start" if i == 0 else "end"
        at = x(i)
        parts.append(
            f'<line x1="{at:.2f}" y1="{bottom:.2f}" x2="{at:.2f}" y2="{bottom + 4:.2f}" stroke="#999"/>'
            f'<text x="{at:.2f}" y="{bottom + 16:.2f}" text-anchor="{anchor}">'
            f"<title>{_escape(label)}</title>{_escape(short)}</text>"
        )
    parts.append("</g>")
    return parts


def _labelled_runs(labels: Sequence[str], x: _Position) -> list[int]:
    """The runs to label under the axis: as many as fit, evenly spread, the first and last included."""
    count = len(labels)
    wide = [min(len(label), LABEL_CHARS) * CHAR_PX + LABEL_PAD for label in labels]

    def fits(chosen: list[int]) -> bool:
        # the first label reaches right with its whole width, the last one left, the others half each way
        reach = {i: wide[i] / (1 if i in (0, count - 1) else 2) for i in chosen}
        return all(x(b) - x(a) >= reach[a] + reach[b] for a, b in pairwise(chosen))

    for shown in range(min(count, MAX_LABELS), 2, -1):
        chosen = sorted({round(k * (count - 1) / (shown - 1)) for k in range(shown)})
        if fits(chosen):
            return chosen
    return sorted({0, count - 1}) if count else []


def _series(line: ChartSeries, index: int, run_labels: Sequence[str], x: _Position, y: _Scale) -> list[str]:
    """The band, the line, the dots and the rings of one model."""
    colour = COLOURS[index % len(COLOURS)]
    name = _escape(line.name)
    band = _band(line.points, x, y)
    radius = "2.5" if len(run_labels) <= MANY_RUNS else "1.2"
    parts = [f'<g class="series" data-model="{name}">']
    if band:
        parts.append(f'<path class="band" d="{band}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
    parts.append(f'<path class="line" d="{_line(line.points, x, y)}" fill="none" {_stroke(index)}/>')
    for i, point in enumerate(line.points):
        if point is None:
            continue
        interval = ""
        if point.ci_low is not None and point.ci_high is not None:
            interval = f" [{point.ci_low:.2f}, {point.ci_high:.2f}]"
        tip = _escape(f"{run_labels[i]} · {line.name}: {point.mean:.2f}{interval}")
        cx, cy = f"{x(i):.2f}", f"{y(point.mean):.2f}"
        parts.append(
            f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="{colour}"><title>{tip}</title></circle>'
        )
        if point.significant:
            parts.append(
                f'<circle class="significant" cx="{cx}" cy="{cy}" r="6" fill="none" '
                f'stroke="{colour}" stroke-width="1.5"/>'
            )
    parts.append("</g>")
    return parts


def _line(points: Sequence[ChartPoint | None], x: _Position, y: _Scale) -> str:
    """Path data through the means; each run of present points starts anew with `M`."""
    commands: list[str] = []
    previous: ChartPoint | None = None
    for i, point in enumerate(points):
        if point is not None:
            commands.append(f"{'L' if previous is not None else 'M'}{x(i):.2f},{y(point.mean):.2f}")
        previous = point
    return " ".join(commands)


def _band(points: Sequence[ChartPoint | None], x: _Position, y: _Scale) -> str:
    """Path data of the interval: one closed shape per run of points that have both bounds."""
    shapes: list[str] = []
    stretch: list[tuple[int, float, float]] = []
    for i, point in enumerate([*points, None]):
        if point is not None and point.ci_low is not None and point.ci_high is not None:
            stretch.append((i, point.ci_low, point.ci_high))
            continue
        if len(stretch) == 1:
            (at, low, high), half = stretch[0], BAR_HALF_WIDTH
            shapes.append(
                f"M{x(at) - half:.2f},{y(high):.2f} L{x(at) + half:.2f},{y(high):.2f} "
                f"L{x(at) + half:.2f},{y(low):.2f} L{x(at) - half:.2f},{y(low):.2f} Z"
            )
        elif stretch:
            upper = [f"{x(at):.2f},{y(high):.2f}" for at, _, high in stretch]
            lower = [f"{x(at):.2f},{y(low):.2f}" for at, low, _ in reversed(stretch)]
            shapes.append("M" + " L".join(upper + lower) + " Z")
        stretch = []
    return " ".join(shapes)


def _stroke(index: int) -> str:
    dash = DASHES[(index // len(COLOURS)) % len(DASHES)]
    colour = COLOURS[index % len(COLOURS)]
    return f'stroke="{colour}" stroke-width="2"' + (f' stroke-dasharray="{dash}"' if dash else "")


def _number(value: float) -> str:
    return f"{round(value, 10):g}"


def _escape(text: str) -> str:
    """Text for an XML attribute or element: escaped, and without characters XML cannot hold."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)
