"""The pure rule of what may go into a CAPE file, and what a declaration's results add up to."""

from datetime import date

import pytest

from domain.eligibility import ResultCounts, declaration_outcome, hold_back_reason, open_paths

BEFORE_PHASE2, PHASE2_DAY = date(2026, 6, 28), date(2026, 6, 29)


@pytest.mark.parametrize(
    ("path", "drawback", "protest", "as_of", "expected"),
    [
        ("cape_phase1", False, False, BEFORE_PHASE2, None),
        ("cape_phase1", False, False, PHASE2_DAY, None),
        ("cape_phase2", False, False, BEFORE_PHASE2, "phase2_not_open"),
        ("cape_phase2", False, False, PHASE2_DAY, None),
        ("cape_phase1", False, True, PHASE2_DAY, "active_protest"),
        ("cape_phase2", True, False, PHASE2_DAY, "drawback"),
        ("cape_phase1", True, True, PHASE2_DAY, "active_protest"),
        ("protest", False, False, PHASE2_DAY, "not_cape_path"),
        ("finally_liquidated", False, False, PHASE2_DAY, "not_cape_path"),
        ("excluded", False, False, PHASE2_DAY, "not_cape_path"),
        ("needs_data", False, False, PHASE2_DAY, "not_cape_path"),
        ("section_122", False, False, PHASE2_DAY, "not_cape_path"),
        ("not_affected", False, False, PHASE2_DAY, "not_cape_path"),
        ("", False, False, PHASE2_DAY, "not_cape_path"),
    ],
)
def test_hold_back_reason(path, drawback, protest, as_of, expected):
    assert hold_back_reason(refund_path=path, drawback=drawback, protest=protest, as_of=as_of) == expected


def test_open_paths_follow_phase2_opening():
    assert open_paths(BEFORE_PHASE2) == ("cape_phase1",)
    assert open_paths(PHASE2_DAY) == ("cape_phase1", "cape_phase2")


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (ResultCounts(pending=3), None),
        (ResultCounts(pending=1, accepted=2), None),
        (ResultCounts(accepted=3), "accepted"),
        (ResultCounts(rejected=3), "rejected"),
        (ResultCounts(accepted=2, rejected=1), "partially_rejected"),
        (ResultCounts(), None),
    ],
)
def test_declaration_outcome(counts, expected):
    assert declaration_outcome(counts) == expected
