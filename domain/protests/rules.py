"""After filing: accelerated disposition, the court deadline, withdrawal, the protest's outcome (spec §9).

Pure: plain values in, values out.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from domain.deadlines import RULES_2026_1, RuleSet

# 19 U.S.C. 1515(b): a protest on which accelerated disposition was requested and that is not allowed or
# denied within 30 days of the request is deemed denied at the end of the 30th day.
DEEMED_DENIAL_DAYS = 30
# 28 U.S.C. 2636(a): an action contesting the denial of a protest is commenced within 180 days after the date
# of mailing of the notice of denial (or of the deemed denial).
COURT_DAYS = 180


def deemed_denial_date(requested_on: date) -> date:
    return requested_on + timedelta(days=DEEMED_DENIAL_DAYS)


def is_deemed_denied(*, requested_on: date | None, today: date) -> bool:
    return requested_on is not None and today >= deemed_denial_date(requested_on)


def court_deadline(denied_on: date) -> date:
    """The last day to commence an action in the Court of International Trade against the denial."""
    return denied_on + timedelta(days=COURT_DAYS)


def withdrawal_problem(
    *,
    category: str,
    section_122_duty_total,
    liquidation_dates: Iterable[date],
    today: date,
    rules: RuleSet = RULES_2026_1,
) -> str | None:
    """Why the protest cannot be withdrawn to use CAPE instead, or None when it can.

    Only an IEEPA-only protest (no Section 122 objection: CAPE refunds IEEPA duties only), and only while every
    entry is still inside its CAPE window (liquidation + 80 days, day 80 included).
    """
    if category != "ieepa" or section_122_duty_total:
        return "Only an IEEPA-only protest can be withdrawn to file through CAPE instead."
    late = [d for d in liquidation_dates if (today - d).days > rules.cape_window_days]
    if late:
        return (
            f"{len(late)} entr{'y is' if len(late) == 1 else 'ies are'} past the {rules.cape_window_days}-day "
            "CAPE window: withdrawing would lose the refund."
        )
    return None


def outcome(statuses: Iterable[str]) -> str | None:
    """The protest's status from its entries' decisions; None while any entry is undecided."""
    seen = set(statuses)
    if not seen or "pending" in seen:
        return None
    if seen == {"allowed"}:
        return "allowed"
    if seen == {"denied"}:
        return "denied"
    return "partially_allowed"


def allowed_amount_problem(allowed: Decimal | None, claimed: Decimal) -> str | None:
    """Why `allowed` cannot be CBP's partial allowance of an entry whose protested duty is `claimed`.

    A partial allowance refunds part of the duty: more than nothing (that is a denial), less than all of it (that
    is an allowance), in cents.
    """
    if allowed is None:
        return "the amount CBP allowed is missing"
    if allowed != allowed.quantize(Decimal("0.01")):
        return f"the amount allowed ${allowed} has more than two decimals"
    if not Decimal("0") < allowed < claimed:
        return f"the amount allowed must be more than $0.00 and less than the ${claimed:,.2f} protested"
    return None


def expected_refund(lines: Iterable[tuple[str, Decimal, Decimal | None]]) -> Decimal:
    """The principal CBP should refund, from (status, duty protested, amount allowed) per entry: all of an allowed
    entry's duty, the allowed amount of a partially allowed one (nothing while it is not known), nothing else."""
    total = Decimal("0")
    for status, claimed, allowed in lines:
        if status == "allowed":
            total += claimed
        elif status == "partially_allowed" and allowed is not None:
            total += allowed
    return total
