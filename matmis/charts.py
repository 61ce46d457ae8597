"""Charts drawn on the server as SVG: no JavaScript library, nothing for the strict CSP to
block (positions are SVG attributes, colours and strokes classes in ``matmis.scss``).

A chart is described here from its series (``line_chart``, ``bar_chart``) and drawn by its
template (``templates/charts/line.html``, ``bars.html``): an ``<svg role="img">`` named by
its ``<title>`` and ``<desc>``, followed by its data table (``Chart.table``), so that a
screen reader, a keyboard, a printer and a person who prefers numbers all get the same
figures. Values are percentages (``Decimal``), None where there is nothing to show (a
holiday week): a line breaks there rather than inventing a value.
"""

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# The drawing's own units (its viewBox); the page scales it to the width it has.
WIDTH = 640
HEIGHT = 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 16, 44
# Between the axes and the first and last points, so that their labels fit.
INSET = 48
MOST_X_LABELS = 7


def one_place(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Series:
    """One line: a value per x label. ``style`` names its look in matmis.scss
    (``mm-chart__line--<style>``): ``current``, ``previous``, ``england``, ``group``."""

    name: str
    values: tuple[Decimal | None, ...]
    style: str = "current"


@dataclass(frozen=True)
class Reference:
    """A level across the whole chart (England's published rate)."""

    name: str
    value: Decimal
    style: str = "england"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # "Week of 9 Nov: 95.2%"


@dataclass(frozen=True)
class DrawnSeries:
    name: str
    style: str
    segments: tuple[str, ...]  # polyline ``points`` of each unbroken run
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class DrawnReference:
    name: str
    style: str
    y: float
    label: str


@dataclass(frozen=True)
class Table:
    """The chart's figures as a table: a header per column, and a row per x label."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    description: str
    table: Table
    width: int = WIDTH
    height: int = HEIGHT
    series: tuple[DrawnSeries, ...] = ()
    references: tuple[DrawnReference, ...] = ()
    y_ticks: tuple[Tick, ...] = ()
    x_ticks: tuple[Tick, ...] = ()
    bars: tuple["Bar", ...] = ()
    plot_left: float = MARGIN_LEFT
    plot_right: float = WIDTH - MARGIN_RIGHT
    plot_top: float = MARGIN_TOP
    plot_bottom: float = HEIGHT - MARGIN_BOTTOM
    legend: tuple[tuple[str, str], ...] = field(default=())  # (name, style)

    @property
    def label_right(self) -> float:
        """Where labels left of the plot end (y ticks, bar names)."""
        return self.plot_left - 8

    @property
    def label_below(self) -> float:
        """The baseline of the labels under the plot (x ticks)."""
        return self.plot_bottom + 24

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def is_empty(self) -> bool:
        return not any(series.points for series in self.series) and not self.bars


def _scale(values: list[Decimal]) -> tuple[int, int, int]:
    """The y axis: a floor and a ceiling on multiples of a round step around ``values``
    (at most five steps), never below 0 nor above 100 (percentages), and the step."""
    low, high = float(min(values)), float(max(values))
    step = next(s for s in (1, 2, 5, 10, 20, 25) if max(high - low, 1.0) / s <= 4)
    floor = max(0, math.floor(low / step) * step)
    ceiling = min(100, math.ceil(high / step) * step)
    if ceiling == floor:
        if ceiling + step <= 100:
            ceiling += step
        else:
            floor -= step
    return floor, ceiling, step


def _round(value: float) -> float:
    return round(value, 1)


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: list[str],
    x_header: str,
    series: list[Series],
    references: list[Reference] = (),
    point_label: str = "{x}: {value}%",
    caption: str = "",
) -> Chart:
    """Lines of ``series`` over ``x_labels`` (weeks, years), with ``references`` across;
    ``x_header`` heads the table's first column. Values are percentages."""
    known = [value for s in series for value in s.values if value is not None]
    known += [reference.value for reference in references]
    table = Table(
        caption=caption or title,
        headers=(x_header, *(s.name for s in series), *(r.name for r in references)),
        rows=tuple(
            (
                label,
                *(_percent(s.values[index]) for s in series),
                *(_percent(r.value) for r in references),
            )
            for index, label in enumerate(x_labels)
        ),
    )
    legend = tuple((s.name, s.style) for s in series) + tuple((r.name, r.style) for r in references)
    if not known or not x_labels:
        return Chart(chart_id, title, description, table, legend=legend)
    floor, ceiling, step = _scale(known)
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    count = len(x_labels)

    def x_at(index: int) -> float:
        if count == 1:
            return _round((left + right) / 2)
        return _round(left + INSET + (right - left - 2 * INSET) * index / (count - 1))

    def y_at(value: Decimal) -> float:
        return _round(bottom - (bottom - top) * (float(value) - floor) / (ceiling - floor))

    drawn = []
    for s in series:
        segments, run, points = [], [], []
        for index, value in enumerate(s.values):
            if value is None:
                if run:
                    segments.append(" ".join(run))
                run = []
                continue
            x, y = x_at(index), y_at(value)
            run.append(f"{x},{y}")
            points.append(
                Point(
                    x, y, point_label.format(x=x_labels[index], value=one_place(value), name=s.name)
                )
            )
        if run:
            segments.append(" ".join(run))
        drawn.append(DrawnSeries(s.name, s.style, tuple(segments), tuple(points)))
    every = max(1, math.ceil(count / MOST_X_LABELS))
    return Chart(
        chart_id,
        title,
        description,
        table,
        series=tuple(drawn),
        references=tuple(
            DrawnReference(r.name, r.style, y_at(r.value), f"{r.name} {one_place(r.value)}%")
            for r in references
        ),
        y_ticks=tuple(
            Tick(y_at(Decimal(value)), f"{value}%") for value in range(floor, ceiling + 1, step)
        ),
        x_ticks=tuple(Tick(x_at(index), x_labels[index]) for index in range(0, count, every)),
        legend=legend,
    )


@dataclass(frozen=True)
class Bar:
    y: float
    height: float
    width: float
    label: str
    value_label: str
    text_y: float
    value_x: float


BAR_LABEL_WIDTH = 120
BAR_HEIGHT = 22
BAR_GAP = 10


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: list[str],
    values: list[Decimal | None],
    label_header: str,
    value_header: str,
    extra_columns: tuple[tuple[str, list[str]], ...] = (),
    caption: str = "",
) -> Chart:
    """Horizontal bars, one per label, from 0 to 100 (percentages); a label without a
    value has no bar and says so. ``extra_columns`` (header, a text per label) go to the
    table only."""
    table = Table(
        caption=caption or title,
        headers=(label_header, value_header, *(header for header, _ in extra_columns)),
        rows=tuple(
            (label, _percent(value), *(texts[index] for _, texts in extra_columns))
            for index, (label, value) in enumerate(zip(labels, values, strict=True))
        ),
    )
    height = MARGIN_TOP + len(labels) * (BAR_HEIGHT + BAR_GAP) + MARGIN_BOTTOM
    left, right = BAR_LABEL_WIDTH, WIDTH - MARGIN_RIGHT - 48
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN_TOP + index * (BAR_HEIGHT + BAR_GAP)
        width = 0.0 if value is None else _round((right - left) * float(value) / 100)
        bars.append(
            Bar(
                y=y,
                height=BAR_HEIGHT,
                width=width,
                label=label,
                value_label=f"{one_place(value)}%" if value is not None else "no sessions",
                text_y=y + BAR_HEIGHT * 0.7,
                value_x=left + width + 6,
            )
        )
    return Chart(
        chart_id,
        title,
        description,
        table,
        height=height,
        bars=tuple(bars),
        plot_left=left,
        plot_right=right,
        plot_bottom=height - MARGIN_BOTTOM,
        x_ticks=tuple(
            Tick(_round(left + (right - left) * value / 100), f"{value}%")
            for value in (0, 25, 50, 75, 100)
        ),
    )


def _percent(value: Decimal | None) -> str:
    return f"{one_place(value)}%" if value is not None else "—"
