"""An estimate of the interest CBP pays on a refunded deposit (19 U.S.C. 1505(c)).

Pure: no Django. 1505(c) applies the overpayment rates of 26 U.S.C. 6621, compounded daily as under
26 U.S.C. 6622. The rates are data: one row per calendar quarter, copied from the quarterly IRS
announcements (news release and revenue ruling, e.g. Rev. Rul. 2025-22 in IRB 2025-48 for 2026 Q1) and
CBP's matching Federal Register notice ("Quarterly IRS Interest Rates Used in Calculating Interest on
Overdue Accounts and Refunds on Customs Duties"). The rates are data, never literals here: the database
table refunds.InterestRate (seeded with spec §7a's figures, extended by staff managers each quarter) is
turned into a RateTable by refunds.planning.interest_rate_table. Every estimate can name the period and
the rates it used (InterestBasis), and says when it runs past the last known quarter, where the last known
rate is assumed.
"""

import bisect
import calendar
from dataclasses import dataclass
from datetime import date, timedelta
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

    @property
    def last_quarter_start(self) -> date:
        return self.rates[-1][0]

    @property
    def known_until(self) -> date:
        """The last day of the last quarter the table knows (rows are quarters: each lasts three months)."""
        start = self.last_quarter_start
        month = start.month + 3
        following = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        return following - timedelta(days=1)

    def next_change_after(self, day: date) -> date | None:
        for start, _ in self.rates:
            if start > day:
                return start
        return None


def _days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def estimate_interest(*, principal: Decimal, from_date: date, to_date: date, table: RateTable) -> Decimal:
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


def quarter_name(day: date) -> str:
    """2026-04-01 -> "2026 Q2"."""
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def percent(rate: Decimal) -> str:
    text = f"{rate * 100:f}".rstrip("0").rstrip(".")
    return f"{text}%"


@dataclass(frozen=True, slots=True)
class InterestBasis:
    """What an estimate from from_date to to_date rests on: the rates by run of quarters, and whether it
    runs past the last quarter the table knows (the last rate is then assumed for the days after it)."""

    from_date: date
    to_date: date
    rates: tuple[tuple[str, str, Decimal], ...]  # (first quarter, last quarter, annual rate), in order
    last_known_quarter: str
    beyond_known: bool
    source: str

    @property
    def text(self) -> str:
        runs = []
        for first, last, rate in self.rates:
            runs.append(f"{percent(rate)} ({first}{'' if first == last else '–' + last})")
        text = (
            f"Estimate from {self.from_date.isoformat()} to {self.to_date.isoformat()}, compounded daily, "
            f"at the IRS overpayment rate of {', then '.join(runs) if runs else 'no day'}."
        )
        if self.beyond_known:
            text += (
                f" It runs past {self.last_known_quarter}, the last quarter whose rate is known: the "
                f"{self.last_known_quarter} rate is assumed after it."
            )
        return text


def interest_basis(*, from_date: date, to_date: date, table: RateTable) -> InterestBasis:
    """The quarters and rates an estimate from from_date to to_date uses (consecutive equal rates merged)."""
    if to_date < from_date:
        raise ValueError("to_date is before from_date")
    runs: list[list] = []
    day = from_date
    last_day = to_date - timedelta(days=1)  # interest accrues for the days before to_date
    while day <= last_day:
        quarter_start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        rate = table.rate_on(day)
        name = quarter_name(quarter_start)
        if runs and runs[-1][2] == rate:
            runs[-1][1] = name
        else:
            runs.append([name, name, rate])
        month = quarter_start.month + 3
        day = date(quarter_start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return InterestBasis(
        from_date=from_date,
        to_date=to_date,
        rates=tuple((first, last, rate) for first, last, rate in runs),
        last_known_quarter=quarter_name(table.last_quarter_start),
        beyond_known=last_day > table.known_until,
        source=table.source,
    )
