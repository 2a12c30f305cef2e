"""Which entries may go into a CAPE declaration, and what a declaration's per-entry results add up to.

Pure: plain values in, values out. The ORM query that selects candidates is only a prefilter; every entry is
checked here before its number is written to a file, so the rule lives in one place.
"""

from dataclasses import dataclass
from datetime import date

from domain.deadlines import CURRENT_RULES, RuleSet
from domain.vocabulary import RefundPath

PHASE1 = RefundPath.CAPE_PHASE1
PHASE2 = RefundPath.CAPE_PHASE2
CAPE_PATHS = (PHASE1, PHASE2)

PHASE2_WARNING = (
    "Phase 2 entries (flagged for reconciliation) must be in an accepted CAPE declaration before the Type 09 "
    "reconciliation entry is filed: file this declaration first."
)

# Why an entry on a CAPE path is held back from a file. Keys are stable (stored in batch warnings).
HOLD_BACK_REASONS = {
    "active_protest": "an active protest (the refund comes through the protest, not CAPE)",
    "drawback": "a drawback claim",
    "not_cape_path": "a refund path other than CAPE Phase 1 or Phase 2",
    "phase2_not_open": "Phase 2, which is not open yet",
    "not_cape_path_as_of": (
        "not on a CAPE path as of this day, although last classified on one (e.g. its 80 days after "
        "liquidation have ended); the entry page shows its path today"
    ),
    "reconciliation_filed": "a Type 09 reconciliation entry marked as filed (CBP takes these in a later phase)",
    "surety_paid": "the surety paid the IEEPA duty",
}


def open_paths(as_of: date, rules: RuleSet = CURRENT_RULES) -> tuple[str, ...]:
    """The CAPE paths that can be declared on as_of: Phase 1, and Phase 2 from the day it opens."""
    return CAPE_PATHS if as_of >= rules.phase2_opens else (PHASE1,)


def hold_back_reason(
    *, refund_path: str, drawback: bool, protest: bool, as_of: date, rules: RuleSet = CURRENT_RULES
) -> str | None:
    """The key of HOLD_BACK_REASONS that keeps this entry out of a file, or None when it may go in.

    The protest and drawback flags win over the path: a stale classification must not put an entry under
    protest or with a drawback claim into a declaration.
    """
    if protest:
        return "active_protest"
    if drawback:
        return "drawback"
    if refund_path not in CAPE_PATHS:
        return "not_cape_path"
    if refund_path not in open_paths(as_of, rules):
        return "phase2_not_open"
    return None


@dataclass(frozen=True, slots=True)
class ResultCounts:
    pending: int = 0
    accepted: int = 0
    rejected: int = 0


def declaration_outcome(counts: ResultCounts) -> str | None:
    """The filed declaration's status once CBP has answered for every entry; None while any is pending."""
    if counts.pending or not (counts.accepted or counts.rejected):
        return None
    if not counts.rejected:
        return "accepted"
    if not counts.accepted:
        return "rejected"
    return "partially_rejected"
