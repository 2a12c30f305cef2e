"""Server-side SVG bar charts: geometry computed here (pure), drawn by templates/staff/_bar_chart.html."""

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


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    maximum: Decimal


def horizontal_bars(data: Sequence[tuple[str, Decimal]], *, width: int = 480, row: int = 26) -> BarChart:
    """One row per item: the label on the left, a bar proportional to the value on the right."""
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
        )
        for i, (label, value) in enumerate(data)
    )
    return BarChart(bars, width, max(row * len(data), row), maximum)


def vertical_bars(data: Sequence[tuple[str, Decimal]], *, width: int = 480, height: int = 160) -> BarChart:
    """One column per item (e.g. a week), the tallest reaching the top; labels go below."""
    plot = height - 22
    maximum = max((v for _, v in data), default=Decimal("0"))
    step = width / max(len(data), 1)
    bars = tuple(
        Bar(
            label,
            value,
            i * step + 2,
            plot - (float(plot * value / maximum) if maximum else 0),
            step - 4,
            float(plot * value / maximum) if maximum else 0,
        )
        for i, (label, value) in enumerate(data)
    )
    return BarChart(bars, width, height, maximum)
