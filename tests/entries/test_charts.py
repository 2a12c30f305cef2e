"""The staff dashboard's server-side charts carry their axes and values (issue 15, "Words a person reads")."""

from decimal import Decimal

import pytest

from domain.charts import compact_money, horizontal_bars, nice_ceiling, vertical_bars


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "$0"),
        ("966.81", "$967"),
        ("999.60", "$1k"),
        ("41696.71", "$41.7k"),
        ("524250.67", "$524k"),
        ("999600", "$1M"),
        ("1224728.32", "$1.22M"),
        ("12500000", "$12.5M"),
    ],
)
def test_compact_money(value, expected):
    assert compact_money(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", "0"), ("0.4", "1"), ("7", "10"), ("41696.71", "50000"), ("1582453", "2000000")],
)
def test_value_axis_tops_out_at_a_round_amount(value, expected):
    assert nice_ceiling(Decimal(value)) == Decimal(expected)


def test_vertical_chart_has_a_value_axis_and_each_amount():
    weeks = [(f"W{n}", Decimal(v)) for n, v in enumerate(["0", "41696.71", "1000", "0", "12000"] * 3)]
    chart = vertical_bars(weeks)
    assert [t.text for t in chart.ticks] == ["$0", "$25k", "$50k"]
    assert chart.ticks[0].y == chart.plot_bottom and chart.ticks[-1].y < chart.plot_bottom
    tallest = max(chart.bars, key=lambda b: b.value)
    assert tallest.value_text == "$41.7k" and tallest.y > chart.ticks[-1].y  # below the axis' top
    assert [b.value_text for b in chart.bars[:4]] == ["", "$41.7k", "$1k", ""]
    assert [b.show_label for b in chart.bars[:4]] == [True, False, True, False]  # 15 weeks: every other one
    assert all(b.x >= chart.plot_left and b.x + b.width <= chart.plot_right for b in chart.bars)


def test_horizontal_chart_writes_each_amount_in_full():
    chart = horizontal_bars([("CAPE Phase 1", Decimal("1223761.51")), ("Protest", Decimal("0"))])
    assert [b.value_text for b in chart.bars] == ["$1,223,762", "$0"]


def test_the_drawn_chart_shows_axis_amounts_and_values():
    from django.template.loader import render_to_string

    chart = vertical_bars([("Dec 7", Decimal("41696.71")), ("Dec 14", Decimal("0"))])
    svg = render_to_string(
        "staff/_bar_chart.html", {"chart": chart, "title": "Due per week", "kind": "v", "id": "w"}
    )
    for text in (
        ">$0<",
        ">$25k<",
        ">$50k<",
        ">$41.7k<",
        ">Dec 7<",
        ">Dec 14<",
        "<title>Dec 7: $41,697</title>",
    ):
        assert text in svg, text
