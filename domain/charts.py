"""Server-side SVG bar charts: geometry computed here (pure), drawn by templates/staff/_bar_chart.html.

A chart a person reads carries its axes: the vertical chart has a value axis with gridlines at round
amounts, the weeks under the bars and each bar's amount above it; the horizontal chart has its labels at the
left and each amount at the end of its bar.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float
    value_text: str = ""  # the amount as drawn on the chart ("$41.7k")
    show_label: bool = True  # a crowded axis labels every other bar

    @property
    def center(self) -> float:
        return self.x + self.width / 2

    @property
    def end(self) -> float:
        return self.x + self.width


@dataclass(frozen=True)
class Tick:
    value: Decimal
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    maximum: Decimal
    ticks: tuple[Tick, ...] = ()
    plot_left: float = 0
    plot_bottom: float = 0  # the baseline's y
    plot_right: float = 0


def compact_money(value: Decimal) -> str:
    """$967, $41.7k, $1.22M: an amount short enough to sit above a bar (the exact one is in its tooltip)."""
    amount = Decimal(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 999_500:  # 999,600 rounds to $1M, not "$1e+03k"
        return f"{sign}${_three_digits(amount / 1_000_000)}M"
    if amount >= 999.5:
        return f"{sign}${_three_digits(amount / 1_000)}k"
    return f"{sign}${amount:,.0f}"


def _three_digits(amount: Decimal) -> str:
    """Three significant digits without an exponent: 41.7, 1.22, 500, 1,230."""
    places = 2 if amount < 10 else 1 if amount < 100 else 0
    text = f"{amount:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 × 10^k at or above value: the top of the value axis."""
    if value <= 0:
        return Decimal("0")
    magnitude = Decimal(10) ** (len(str(int(value))) - 1) if value >= 1 else Decimal("1")
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def horizontal_bars(data: Sequence[tuple[str, Decimal]], *, width: int = 480, row: int = 26) -> BarChart:
    """One row per item: the label on the left, a bar proportional to the value, the value at its end."""
    label_width, gap = 170, 6
    maximum = max((v for _, v in data), default=Decimal("0"))
    span = width - label_width - 90
    bars = tuple(
        Bar(
            label,
            value,
            label_width,
            i * row + gap / 2,
            float(span * value / maximum) if maximum else 0,
            row - gap,
            value_text=f"${value:,.0f}",
        )
        for i, (label, value) in enumerate(data)
    )
    return BarChart(bars, width, max(row * len(data), row), maximum, plot_left=label_width)


def vertical_bars(
    data: Sequence[tuple[str, Decimal]], *, width: int = 480, height: int = 200, ticks: int = 2
) -> BarChart:
    """One column per item (e.g. a week) on a value axis from 0 to a round amount, with gridlines.

    Labels go below the bars (every other one when there are more than 7), amounts above the non-empty ones.
    """
    left, right, top, bottom = 52, 8, 16, 24
    plot_height = height - top - bottom
    baseline = top + plot_height
    maximum = max((v for _, v in data), default=Decimal("0"))
    axis_top = nice_ceiling(maximum)
    step = (width - left - right) / max(len(data), 1)

    def y_of(value: Decimal) -> float:
        return baseline - (float(plot_height * value / axis_top) if axis_top else 0)

    bars = tuple(
        Bar(
            label,
            value,
            left + i * step + 2,
            y_of(value),
            step - 4,
            baseline - y_of(value),
            value_text=compact_money(value) if value else "",
            show_label=len(data) <= 7 or i % 2 == 0,
        )
        for i, (label, value) in enumerate(data)
    )
    scale = (
        tuple(
            Tick(axis_top * n / ticks, y_of(axis_top * n / ticks), compact_money(axis_top * n / ticks))
            for n in range(ticks + 1)
        )
        if axis_top
        else (Tick(Decimal("0"), baseline, "$0"),)
    )
    return BarChart(bars, width, height, maximum, scale, left, baseline, width - right)
