import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from refunds.interest import (
    OVERPAYMENT_RATES_CORPORATE,
    OVERPAYMENT_RATES_NONCORPORATE,
    RateTable,
    estimate_interest,
)

FLAT_7 = RateTable(source="test", rates=((date(2020, 1, 1), Decimal("0.07")),))
STEP = RateTable(
    source="test", rates=((date(2025, 1, 1), Decimal("0.10")), (date(2025, 4, 1), Decimal("0.02")))
)


def _day_by_day(principal: Decimal, start: date, end: date, table: RateTable) -> Decimal:
    balance = principal
    day = start
    while day < end:
        year_days = 366 if (day.year % 4 == 0 and day.year % 100 != 0) or day.year % 400 == 0 else 365
        balance *= 1 + table.rate_on(day) / year_days
        day += timedelta(days=1)
    return (balance - principal).quantize(Decimal("0.01"))


@pytest.mark.parametrize("day", [date(2025, 2, 4), date(2026, 11, 23)])
def test_estimate_interest_zero_days_is_zero(day):
    assert estimate_interest(principal=Decimal("12345.67"), from_date=day, to_date=day) == Decimal("0.00")


def test_estimate_interest_to_before_from_raises():
    with pytest.raises(ValueError, match="before"):
        estimate_interest(principal=Decimal(100), from_date=date(2026, 1, 2), to_date=date(2026, 1, 1))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 1, 1), date(2026, 1, 1)),
        (date(2028, 1, 1), date(2029, 1, 1)),
        (date(2025, 7, 1), date(2026, 7, 1)),
    ],
)
def test_estimate_interest_one_year_flat_rate_is_close_to_continuous(start, end):
    interest = estimate_interest(principal=Decimal(1000), from_date=start, to_date=end, table=FLAT_7)
    continuous = Decimal(1000) * Decimal(math.exp(0.07) - 1)
    assert abs(interest - continuous) <= Decimal("0.01")


def test_estimate_interest_one_day_is_principal_times_daily_rate():
    interest = estimate_interest(
        principal=Decimal("36500.00"), from_date=date(2025, 3, 1), to_date=date(2025, 3, 2), table=FLAT_7
    )
    assert interest == Decimal("7.00")


def _flat(start: date, rate: str) -> RateTable:
    return RateTable(source="test", rates=((start, Decimal(rate)),))


def test_estimate_interest_crossing_a_quarter_uses_both_rates():
    start, end = date(2025, 3, 1), date(2025, 5, 1)
    principal = Decimal(100_000)
    both = estimate_interest(principal=principal, from_date=start, to_date=end, table=STEP)
    expected = principal * ((1 + Decimal("0.10") / 365) ** 31 * (1 + Decimal("0.02") / 365) ** 30 - 1)
    assert both == expected.quantize(Decimal("0.01"))
    all_high = estimate_interest(
        principal=principal, from_date=start, to_date=end, table=_flat(start, "0.10")
    )
    all_low = estimate_interest(principal=principal, from_date=start, to_date=end, table=_flat(start, "0.02"))
    assert all_low < both < all_high


def test_estimate_interest_stopping_at_a_quarter_start_uses_only_the_earlier_rate():
    start, boundary = date(2025, 3, 1), date(2025, 4, 1)
    principal = Decimal(100_000)
    assert estimate_interest(principal=principal, from_date=start, to_date=boundary, table=STEP) == (
        estimate_interest(principal=principal, from_date=start, to_date=boundary, table=_flat(start, "0.10"))
    )


@pytest.mark.parametrize(
    ("start", "end", "table"),
    [
        (date(2025, 2, 4), date(2026, 11, 23), OVERPAYMENT_RATES_NONCORPORATE),
        (date(2025, 2, 4), date(2026, 11, 23), OVERPAYMENT_RATES_CORPORATE),
        (date(2027, 12, 15), date(2028, 3, 15), OVERPAYMENT_RATES_NONCORPORATE),  # into a leap year
        (date(2026, 3, 30), date(2026, 4, 2), OVERPAYMENT_RATES_NONCORPORATE),  # across a rate change
    ],
)
def test_estimate_interest_matches_a_day_by_day_loop(start, end, table):
    principal = Decimal("98765.43")
    assert estimate_interest(principal=principal, from_date=start, to_date=end, table=table) == _day_by_day(
        principal, start, end, table
    )


def test_estimate_interest_before_the_table_raises():
    with pytest.raises(ValueError, match="no rate before"):
        estimate_interest(principal=Decimal(100), from_date=date(2024, 12, 31), to_date=date(2025, 1, 5))


@pytest.mark.parametrize(
    ("day", "noncorporate", "corporate"),
    [
        (date(2025, 2, 4), "0.07", "0.06"),
        (date(2025, 12, 31), "0.07", "0.06"),
        (date(2026, 3, 31), "0.07", "0.06"),
        (date(2026, 4, 1), "0.06", "0.05"),
        (date(2027, 6, 1), "0.06", "0.05"),
    ],
)
def test_default_tables_rate_by_quarter(day, noncorporate, corporate):
    assert OVERPAYMENT_RATES_NONCORPORATE.rate_on(day) == Decimal(noncorporate)
    assert OVERPAYMENT_RATES_CORPORATE.rate_on(day) == Decimal(corporate)


@pytest.mark.parametrize("table", [OVERPAYMENT_RATES_NONCORPORATE, OVERPAYMENT_RATES_CORPORATE])
def test_default_tables_cover_2025_q1_to_2026_q4_with_a_source(table):
    starts = [start for start, _ in table.rates]
    assert starts == [date(year, month, 1) for year in (2025, 2026) for month in (1, 4, 7, 10)]
    assert "6621" in table.source


@pytest.mark.parametrize(
    "rates",
    [
        (),
        ((date(2025, 4, 1), Decimal("0.07")), (date(2025, 1, 1), Decimal("0.07"))),
        ((date(2025, 1, 1), Decimal("0.07")), (date(2025, 1, 1), Decimal("0.06"))),
    ],
)
def test_rate_table_rejects_unordered_or_empty_rates(rates):
    with pytest.raises(ValueError):
        RateTable(source="t", rates=rates)
