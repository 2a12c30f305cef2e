"""The words of the domain, one definition each: refund paths, exclusion and needs-data reasons, deadline
kinds and liquidation statuses, with the labels a person reads.

Stored values are the enum values (plain strings: a StrEnum member equals its value), so rows, URLs and
warnings keep them; the models' choices are derived from these (entries.models.RefundPath) and the
templates' filters read the labels here (docs/WORDING.md).
"""

from enum import StrEnum

LIQUIDATION_STATUSES = (
    "unliquidated",
    "liquidated",
    "suspended",
    "extended",
    "under_review",
    "reliquidated",
    "pending",  # rule set 2026.2: a liquidation scheduled (Commerce's instructions issued) but not posted
)
OPEN_STATUSES = frozenset({"unliquidated", "pending", "suspended", "extended", "under_review"})
LIQUIDATED_STATUSES = frozenset({"liquidated", "reliquidated"})

# The word ACE writes for each status: the canonical ES-003 files the broker-wide report is split into carry
# these (the reader, domain/es003/values.py, also takes ACE's other spellings).
ACE_STATUS_WORDS = {
    "unliquidated": "Not Liquidated",
    "liquidated": "Liquidated",
    "suspended": "Suspended",
    "extended": "Extended",
    "under_review": "Under Review",
    "reliquidated": "Reliquidated",
    "pending": "Pending",
}

# The liquidation statuses of LIQUIDATION_STATUSES as a person reads them.
LIQUIDATION_STATUS_LABELS = {
    "unliquidated": "Unliquidated",
    "liquidated": "Liquidated",
    "suspended": "Suspended",
    "extended": "Extended",
    "under_review": "Under review",
    "reliquidated": "Reliquidated",
    "pending": "Pending liquidation",
}


class Program(StrEnum):
    """The refundable duty programs a Chapter 99 number belongs to (spec §4)."""

    IEEPA = "ieepa"
    SECTION_122 = "section_122"


# entries.models.Chapter99Rule.Program (the registry's choices) is built from these.
PROGRAM_LABELS = {Program.IEEPA: "IEEPA", Program.SECTION_122: "Section 122"}


class RefundPath(StrEnum):
    NOT_AFFECTED = "not_affected"
    SECTION_122 = "section_122"
    NEEDS_DATA = "needs_data"
    EXCLUDED = "excluded"
    CAPE_PHASE2 = "cape_phase2"
    CAPE_PHASE1 = "cape_phase1"
    PROTEST = "protest"
    FINALLY_LIQUIDATED = "finally_liquidated"


# The refund paths as a person reads them: entries.models.RefundPath (the model's choices) is built
# from these.
PATH_LABELS = {
    RefundPath.NOT_AFFECTED: "Not affected",
    RefundPath.SECTION_122: "Section 122",
    RefundPath.NEEDS_DATA: "Needs liquidation data",
    RefundPath.EXCLUDED: "Excluded",
    RefundPath.CAPE_PHASE2: "CAPE Phase 2",
    RefundPath.CAPE_PHASE1: "CAPE Phase 1",
    RefundPath.PROTEST: "Protest",
    RefundPath.FINALLY_LIQUIDATED: "Finally liquidated",
}


class Reason(StrEnum):
    NONE = ""
    RECONCILIATION_ENTRY = "reconciliation_entry"
    DRAWBACK = "drawback"
    ACTIVE_PROTEST = "active_protest"
    ADCVD_PENDING = "adcvd_pending"  # rule set 2026.1 only (suspended AD/CVD entries)
    LIQUIDATION_STATUS_MISSING = "liquidation_status_missing"
    # Not in spec §5: a liquidated entry without its date cannot be placed in the 80/180-day windows.
    LIQUIDATION_DATE_MISSING = "liquidation_date_missing"
    # Rule set 2026.2.
    DUTY_DEFERRAL_ENTRY = "duty_deferral_entry"
    TIB_ENTRY = "tib_entry"
    SURETY_PAID = "surety_paid"
    ADCVD_LIQUIDATION_PENDING = "adcvd_liquidation_pending"
    RECONCILIATION_FILED = "reconciliation_filed"


# Plain words for each reason, for pages, emails and the filters.
REASON_LABELS = {
    Reason.RECONCILIATION_ENTRY: "Reconciliation entry (type 09)",
    Reason.DRAWBACK: "Drawback (claimed, or a type 47 entry)",
    Reason.ACTIVE_PROTEST: "Active protest",
    Reason.ADCVD_PENDING: "AD/CVD suspended (rule set 2026.1)",
    Reason.LIQUIDATION_STATUS_MISSING: "Liquidation status missing",
    Reason.LIQUIDATION_DATE_MISSING: "Liquidation date missing",
    Reason.DUTY_DEFERRAL_ENTRY: "Duty deferral entry (type 08)",
    Reason.TIB_ENTRY: "Temporary importation under bond (type 23)",
    Reason.SURETY_PAID: "Surety paid the IEEPA duty",
    Reason.ADCVD_LIQUIDATION_PENDING: "AD/CVD liquidation pending",
    Reason.RECONCILIATION_FILED: "Type 09 reconciliation entry filed",
}


class DeadlineKind(StrEnum):
    NONE = ""
    PROJECTED_LIQUIDATION = "projected_liquidation"
    CAPE_WINDOW_CLOSES = "cape_window_closes"
    PROTEST_DEADLINE = "protest_deadline"
    PROTEST_HORIZON = "protest_horizon"
    COURT_DEADLINE = "court_deadline"


DEADLINE_LABELS = {
    DeadlineKind.PROJECTED_LIQUIDATION: "projected liquidation",
    DeadlineKind.CAPE_WINDOW_CLOSES: "CAPE window closes",
    DeadlineKind.PROTEST_DEADLINE: "protest deadline",
    DeadlineKind.PROTEST_HORIZON: "protest deadline if it liquidates on schedule (the 494th day)",
    DeadlineKind.COURT_DEADLINE: "court deadline (CIT action against the protest's denial)",
}

# The deadlines after which a refund is lost: people are reminded of them, the calendar feed carries them,
# the dashboard sums them (DeadlineFigures) and the caseload's alerts list them.
REMINDED_DEADLINE_KINDS = (
    DeadlineKind.CAPE_WINDOW_CLOSES.value,
    DeadlineKind.PROTEST_DEADLINE.value,
    DeadlineKind.COURT_DEADLINE.value,
)
