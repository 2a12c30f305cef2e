"""Which entries go into which protest draft (spec §9), and the draft's merchandise description.

Pure: plain values in, values out. One protest per importer number and port of entry (a protest is decided by
the port where the entry was made), and per category of objection: IEEPA duties on `protest`-path entries,
Section 122 duty on liquidated Section 122 entries. Entries and drafts come closest deadline first.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from domain.deadlines import RULES_2026_1, RuleSet
from domain.vocabulary import LIQUIDATED_STATUSES, Program, Reason, RefundPath

IEEPA = Program.IEEPA
SECTION_122 = Program.SECTION_122
CATEGORY_LABELS = {
    IEEPA: "IEEPA duties (HTSUS 9903.01 / 9903.02)",
    SECTION_122: "Section 122 duty (HTSUS 9903.03.01)",
}
URGENT_DAYS = 7  # a draft with an entry whose deadline is fewer days away than this is urgent

# Why an entry that would be protested cannot go into a draft. Keys are stable (stored in warnings).
EXCLUSIONS = {
    "drawback": "a drawback claim",
    "protest_on_file": "a protest already on file",
    "deadline_passed": "the 180-day protest deadline has passed",
    "unliquidated": "not liquidated (an unliquidated entry cannot be protested)",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: int
    entry_number: str
    importer_number: str
    port: str
    entry_date: date | None
    entry_summary_date: date | None
    liquidation_status: str | None
    liquidation_date: date | None
    refund_path: str
    exclusion_reason: str
    ieepa_duty: Decimal
    section_122_duty: Decimal
    drawback: bool
    protest_on_file: bool


def category_of(c: Candidate) -> str | None:
    """The protest category an entry would be in, or None when it is not one a protest is drafted for.

    IEEPA: the classification put the entry on the `protest` path (liquidated 81–180 days ago). Section 122:
    the entry's path is `section_122` (no CAPE for it). Entries excluded for a drawback claim or a protest, and
    finally liquidated ones, get their category too, so that they are counted as excluded, not forgotten.
    """
    ieepa = c.ieepa_duty > 0
    s122 = c.section_122_duty > 0
    if c.refund_path == RefundPath.PROTEST and ieepa:
        return IEEPA
    if c.refund_path == RefundPath.SECTION_122 and s122:
        return SECTION_122
    if c.refund_path == RefundPath.FINALLY_LIQUIDATED or (
        c.refund_path == RefundPath.EXCLUDED
        and c.exclusion_reason in (Reason.DRAWBACK, Reason.ACTIVE_PROTEST)
    ):
        return IEEPA if ieepa else (SECTION_122 if s122 else None)
    return None


def protest_deadline(c: Candidate, rules: RuleSet = RULES_2026_1) -> date | None:
    if c.liquidation_date is None:
        return None
    return c.liquidation_date + timedelta(days=rules.protest_days)


def exclusion(c: Candidate, *, as_of: date, rules: RuleSet = RULES_2026_1) -> str | None:
    """The key of EXCLUSIONS that keeps the entry out of a draft on as_of, or None when it may go in.

    Day 180 after liquidation is the last day to protest (19 U.S.C. 1514(c)(3): "within 180 days after"); day
    181 is too late.
    """
    if c.drawback:
        return "drawback"
    if c.protest_on_file:
        return "protest_on_file"
    if (
        c.liquidation_status not in LIQUIDATED_STATUSES
        or c.liquidation_date is None
        or c.liquidation_date > as_of
    ):
        return "unliquidated"
    if (as_of - c.liquidation_date).days > rules.protest_days:
        return "deadline_passed"
    return None


@dataclass(frozen=True, slots=True)
class Line:
    candidate: Candidate
    deadline: date
    days_left: int
    duty: Decimal  # the category's duty: IEEPA for IEEPA protests, Section 122 for Section 122 ones


@dataclass
class DraftPlan:
    category: str
    importer_number: str
    port: str
    lines: list[Line] = field(default_factory=list)

    @property
    def earliest_deadline(self) -> date:
        return self.lines[0].deadline

    @property
    def urgent(self) -> bool:
        return self.lines[0].days_left < URGENT_DAYS

    @property
    def duty_total(self) -> Decimal:
        return sum((line.duty for line in self.lines), Decimal("0"))

    @property
    def section_122_total(self) -> Decimal:
        """Section 122 duty carried by the entries of an IEEPA protest (a second, distinct objection)."""
        return sum((line.candidate.section_122_duty for line in self.lines), Decimal("0"))


@dataclass
class Plan:
    drafts: list[DraftPlan]
    excluded: Counter

    @property
    def entry_count(self) -> int:
        return sum(len(d.lines) for d in self.drafts)

    @property
    def duty_total(self) -> Decimal:
        return sum((d.duty_total for d in self.drafts), Decimal("0"))


def plan_drafts(candidates: Iterable[Candidate], *, as_of: date, rules: RuleSet = RULES_2026_1) -> Plan:
    """Group the protestable entries into drafts: one per category, importer number and port of entry.

    Inside a draft, entries run closest deadline first (then by number); drafts run by their closest deadline
    (then category, importer, port), so the most urgent protest is always the first one shown.
    """
    groups: dict[tuple[str, str, str], DraftPlan] = {}
    excluded: Counter = Counter()
    for c in candidates:
        category = category_of(c)
        if category is None:
            continue
        reason = exclusion(c, as_of=as_of, rules=rules)
        if reason:
            excluded[reason] += 1
            continue
        deadline = protest_deadline(c, rules)
        key = (category, c.importer_number, c.port)
        plan = groups.get(key)
        if plan is None:
            plan = groups[key] = DraftPlan(category=category, importer_number=c.importer_number, port=c.port)
        duty = c.ieepa_duty if category == IEEPA else c.section_122_duty
        plan.lines.append(Line(candidate=c, deadline=deadline, days_left=(deadline - as_of).days, duty=duty))
    drafts = list(groups.values())
    for plan in drafts:
        plan.lines.sort(key=lambda line: (line.deadline, line.candidate.entry_number))
    drafts.sort(key=lambda d: (d.earliest_deadline, d.category, d.importer_number, d.port))
    return Plan(drafts=drafts, excluded=excluded)


def format_hts(hts: str) -> str:
    """HTSUS digits in the schedule's dotted form: 8471300100 → 8471.30.0100."""
    digits = "".join(ch for ch in hts if ch.isdigit())
    if len(digits) == 10:
        return f"{digits[:4]}.{digits[4:6]}.{digits[6:]}"
    if len(digits) == 8:
        return f"{digits[:4]}.{digits[4:6]}.{digits[6:]}"
    return digits


MAX_LISTED_HTS = 60


def merchandise_description(hts_numbers: Iterable[str]) -> str:
    """A specific description of the merchandise (174.13(a)(5)) from the entries' commodity HTS numbers.

    Chapter 99 numbers only declare the extra duty, so they are left out; staff refine the text on the draft.
    """
    numbers = sorted({format_hts(h) for h in hts_numbers if h and not h.startswith("99")})
    if not numbers:
        return "Merchandise as described in the entry summaries (CBP Form 7501) of the entries listed."
    listed = ", ".join(numbers[:MAX_LISTED_HTS])
    more = len(numbers) - MAX_LISTED_HTS
    extra = (
        f", and {more} further subheading{'s' if more > 1 else ''} listed in the entry summaries"
        if more > 0
        else ""
    )
    return (
        f"Merchandise classified in HTSUS subheading{'s' if len(numbers) > 1 else ''} {listed}{extra}, "
        "as described in the entry summaries (CBP Form 7501) of the entries listed."
    )
