"""Deadline arithmetic for IEEPA / Section 122 refunds (spec §6), as one versioned rule set.

Pure: no Django. Every figure that CBP or a court could move lives in RuleSet, so a classification can
record which version produced its dates and a new version can be added without touching the code.
"""

from dataclasses import dataclass
from datetime import date, timedelta

# CBP's usual liquidation schedule: about 314 days after entry (spec §6); an estimate, not a statute.
PROJECTED_LIQUIDATION_DAYS = 314
# 19 U.S.C. 1501 allows voluntary reliquidation within 90 days of liquidation; CBP keeps 10 of them to
# process CAPE declarations, so the importer's window is 80.
CAPE_WINDOW_DAYS = 80
# 19 U.S.C. 1514(c)(3): a protest within 180 days after liquidation.
PROTEST_DAYS = 180
# The seed's "494th day" (314 + 180): the protest horizon of an entry that liquidates on schedule.
HORIZON_DAYS = 494
PHASE1_OPENS = date(2026, 4, 20)
PHASE2_OPENS = date(2026, 6, 29)
# When each program's duty was collected (spec §1, §4): a duty on an entry dated outside its period keeps
# its amount (a window could only hide money paid) but earns a staff warning.
IEEPA_COLLECTED = (date(2025, 2, 4), date(2026, 2, 23))
SECTION_122_COLLECTED = (date(2026, 2, 24), date(2026, 7, 23))


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    projected_liquidation_days: int
    cape_window_days: int
    protest_days: int
    horizon_days: int
    phase1_opens: date
    phase2_opens: date
    ieepa_collected: tuple[date, date] = IEEPA_COLLECTED
    section_122_collected: tuple[date, date] = SECTION_122_COLLECTED

    def __post_init__(self) -> None:
        day_counts = (
            self.projected_liquidation_days,
            self.cape_window_days,
            self.protest_days,
            self.horizon_days,
        )
        if any(days <= 0 for days in day_counts):
            raise ValueError("day counts must be positive")
        # The path rules assume the CAPE window ends before the protest period does.
        if self.cape_window_days >= self.protest_days:
            raise ValueError("the CAPE window must be shorter than the protest period")


RULES_2026_1 = RuleSet(
    version="2026.1",
    projected_liquidation_days=PROJECTED_LIQUIDATION_DAYS,
    cape_window_days=CAPE_WINDOW_DAYS,
    protest_days=PROTEST_DAYS,
    horizon_days=HORIZON_DAYS,
    phase1_opens=PHASE1_OPENS,
    phase2_opens=PHASE2_OPENS,
)
# Same figures; the refund-path rules differ (domain.classification, docs/CAPE.md "Rule sets").
RULES_2026_2 = RuleSet(
    version="2026.2",
    projected_liquidation_days=PROJECTED_LIQUIDATION_DAYS,
    cape_window_days=CAPE_WINDOW_DAYS,
    protest_days=PROTEST_DAYS,
    horizon_days=HORIZON_DAYS,
    phase1_opens=PHASE1_OPENS,
    phase2_opens=PHASE2_OPENS,
)
RULE_SETS = {rules.version: rules for rules in (RULES_2026_1, RULES_2026_2)}
# The rule set every classification uses; making a new one current re-classifies every stored entry
# (entries.reclassification, docs/CAPE.md "Rule sets").
CURRENT_RULES = RULES_2026_2


def projected_liquidation(*, entry_date: date, rules: RuleSet = CURRENT_RULES) -> date:
    return entry_date + timedelta(days=rules.projected_liquidation_days)


def cape_window_closes(*, liquidation_date: date, rules: RuleSet = CURRENT_RULES) -> date:
    """The last day a liquidated entry can still go into a CAPE declaration."""
    return liquidation_date + timedelta(days=rules.cape_window_days)


def protest_deadline(*, liquidation_date: date, rules: RuleSet = CURRENT_RULES) -> date:
    """The last day to file a protest (CBP Form 19); after it the entry is finally liquidated."""
    return liquidation_date + timedelta(days=rules.protest_days)


def protest_horizon(*, entry_date: date, rules: RuleSet = CURRENT_RULES) -> date:
    """The seed's 494th day: the protest deadline if the entry liquidates on schedule."""
    return entry_date + timedelta(days=rules.horizon_days)


def days_since(*, event: date, as_of: date) -> int:
    """Calendar days from event to as_of (negative when the event is later)."""
    return (as_of - event).days
