"""An estimate of the interest CBP pays on a refunded deposit (19 U.S.C. 1505(c)).

Pure: no Django. 1505(c) applies the overpayment rates of 26 U.S.C. 6621, compounded daily as under
26 U.S.C. 6622. The rates are data: one row per calendar quarter, copied from the quarterly IRS
announcements (news release and revenue ruling, e.g. Rev. Rul. 2025-22 in IRB 2025-48 for 2026 Q1) and
CBP's matching Federal Register notice ("Quarterly IRS Interest Rates Used in Calculating Interest on
Overdue Accounts and Refunds on Customs Duties"). Add a row when a new quarter is announced.
"""

import bisect
import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RateTable:
    """Annual rates by the date they start; each applies until the next row, the last one onward."""

    source: str
    rates: tuple[tuple[date, Decimal], ...]

    def __post_init__(self) -> None:
        starts = [start for start, _ in self.rates]
        if not starts:
            raise ValueError("a rate table needs at least one rate")
        if starts != sorted(set(starts)):
            raise ValueError("rate start dates must be unique and ascending")

    def rate_on(self, day: date) -> Decimal:
        starts = [start for start, _ in self.rates]
        position = bisect.bisect_right(starts, day) - 1
        if position < 0:
            raise ValueError(f"no rate before {starts[0]} (asked for {day})")
        return self.rates[position][1]

    def next_change_after(self, day: date) -> date | None:
        for start, _ in self.rates:
            if start > day:
                return start
        return None


# Non-corporate importers. 7% from 2025 Q1 to 2026 Q1: IRB 2025-37 (2025 Q4), Rev. Rul. 2025-22 in
# IRB 2025-48 (2026 Q1), CBP's notice for 2025 Q4, IRS releases for 2025 Q1 and Q3 (Q2 via secondary
# summaries of an unchanged rate). verify: 2026 Q2 at 6% comes from one secondary source only
# (legalclarity.org, a one-point drop); 2026 Q3 and Q4 were not found and repeat Q2.
OVERPAYMENT_RATES_NONCORPORATE = RateTable(
    source=(
        "26 U.S.C. 6621(a)(1) overpayment rate, non-corporate (federal short-term rate + 3 points): IRS "
        "quarterly interest-rate releases and revenue rulings, CBP quarterly Federal Register notices; "
        "2026 Q2-Q4 to verify"
    ),
    rates=(
        (date(2025, 1, 1), Decimal("0.07")),
        (date(2025, 4, 1), Decimal("0.07")),
        (date(2025, 7, 1), Decimal("0.07")),
        (date(2025, 10, 1), Decimal("0.07")),
        (date(2026, 1, 1), Decimal("0.07")),
        (date(2026, 4, 1), Decimal("0.06")),  # verify
        (date(2026, 7, 1), Decimal("0.06")),  # verify: not yet found, carried from Q2
        (date(2026, 10, 1), Decimal("0.06")),  # verify: not yet found, carried from Q2
    ),
)

# Corporations get one point less (6621(a)(1)(B)); CBP's notices give only these two overpayment rates,
# not the IRS's lower rate for corporate overpayments above $10,000. Same uncertainty as above.
OVERPAYMENT_RATES_CORPORATE = RateTable(
    source=(
        "26 U.S.C. 6621(a)(1) overpayment rate, corporate (federal short-term rate + 2 points): IRS "
        "quarterly interest-rate releases and revenue rulings, CBP quarterly Federal Register notices; "
        "2026 Q2-Q4 to verify"
    ),
    rates=(
        (date(2025, 1, 1), Decimal("0.06")),
        (date(2025, 4, 1), Decimal("0.06")),
        (date(2025, 7, 1), Decimal("0.06")),
        (date(2025, 10, 1), Decimal("0.06")),
        (date(2026, 1, 1), Decimal("0.06")),
        (date(2026, 4, 1), Decimal("0.05")),  # verify
        (date(2026, 7, 1), Decimal("0.05")),  # verify: not yet found, carried from Q2
        (date(2026, 10, 1), Decimal("0.05")),  # verify: not yet found, carried from Q2
    ),
)


def _days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def estimate_interest(
    *,
    principal: Decimal,
    from_date: date,
    to_date: date,
    table: RateTable = OVERPAYMENT_RATES_NONCORPORATE,
) -> Decimal:
    """Estimated interest, in cents, on principal from from_date (the deposit) up to to_date.

    An estimate, not CBP's figure: it assumes the deposit date is known (callers pass the entry summary
    date as a proxy) and that interest runs to to_date, while CBP stops at liquidation or reliquidation
    and uses its own posting dates. Each day multiplies the balance by 1 + rate / 365 (366 in leap years).
    """
    if to_date < from_date:
        raise ValueError("to_date is before from_date")
    with localcontext() as context:
        # Enough digits that a few years of daily factors round only at the final cent.
        context.prec = 40
        factor = Decimal(1)
        day = from_date
        while day < to_date:
            # Runs of days with one rate and one year length compound as a single power.
            run_end = min(to_date, date(day.year + 1, 1, 1))
            change = table.next_change_after(day)
            if change is not None:
                run_end = min(run_end, change)
            daily = 1 + table.rate_on(day) / _days_in_year(day.year)
            factor *= daily ** (run_end - day).days
            day = run_end
        interest = principal * factor - principal
    return interest.quantize(_CENT, rounding=ROUND_HALF_UP)
