"""The pure rules of protest drafts: categories, the 180-day bound, exclusions, grouping and order (no database)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.protests import drafting, rules
from domain.protests.drafting import Candidate, plan_drafts

AS_OF = date(2026, 11, 2)


def cand(
    n: int,
    *,
    days: int | None = 120,
    importer="12-345678900",
    port="2704",
    path="protest",
    ieepa="100.00",
    s122="0",
    status="liquidated",
    drawback=False,
    protest=False,
    reason="",
) -> Candidate:
    return Candidate(
        entry_id=n,
        entry_number=f"ABC{n:08d}",
        importer_number=importer,
        port=port,
        entry_date=date(2025, 9, 1),
        entry_summary_date=date(2025, 9, 10),
        liquidation_status=status,
        liquidation_date=None if days is None else AS_OF - timedelta(days=days),
        refund_path=path,
        exclusion_reason=reason,
        ieepa_duty=Decimal(ieepa),
        section_122_duty=Decimal(s122),
        drawback=drawback,
        protest_on_file=protest,
    )


def test_grouping_is_one_draft_per_importer_and_port():
    plan = plan_drafts(
        [
            cand(1, port="2704"),
            cand(2, port="2704"),
            cand(3, port="1001"),
            cand(4, port="2704", importer="98-765432100"),
            cand(5, port="1001", days=170),
        ],
        as_of=AS_OF,
    )
    groups = {(d.importer_number, d.port): [line.candidate.entry_id for line in d.lines] for d in plan.drafts}
    assert groups == {
        ("12-345678900", "2704"): [1, 2],
        ("12-345678900", "1001"): [5, 3],  # the closer deadline first
        ("98-765432100", "2704"): [4],
    }
    # The draft holding the nearest deadline comes first.
    assert (plan.drafts[0].importer_number, plan.drafts[0].port) == ("12-345678900", "1001")


def test_section_122_entries_are_a_separate_category():
    plan = plan_drafts([cand(1), cand(2, path="section_122", ieepa="0", s122="55.00")], as_of=AS_OF)
    assert sorted((d.category, len(d.lines)) for d in plan.drafts) == [("ieepa", 1), ("section_122", 1)]
    (s122,) = [d for d in plan.drafts if d.category == "section_122"]
    assert s122.duty_total == Decimal("55.00")


@pytest.mark.parametrize(
    "days, included, excluded",
    [
        (81, True, None),
        (179, True, None),
        (180, True, None),  # the last day "within 180 days after" liquidation
        (181, False, "deadline_passed"),
        (400, False, "deadline_passed"),
    ],
)
def test_the_180_day_bound(days, included, excluded):
    path = "protest" if days <= 180 else "finally_liquidated"
    plan = plan_drafts([cand(1, days=days, path=path)], as_of=AS_OF)
    assert bool(plan.drafts) is included
    assert dict(plan.excluded) == ({excluded: 1} if excluded else {})
    if included:
        assert plan.drafts[0].lines[0].deadline == AS_OF - timedelta(days=days) + timedelta(days=180)


@pytest.mark.parametrize(
    "candidate, reason",
    [
        (cand(1, path="section_122", ieepa="0", s122="5", status="unliquidated", days=None), "unliquidated"),
        (cand(1, path="section_122", ieepa="0", s122="5", status="extended", days=None), "unliquidated"),
        (cand(1, path="excluded", reason="drawback", drawback=True), "drawback"),
        (cand(1, path="excluded", reason="active_protest", protest=True), "protest_on_file"),
        (cand(1, protest=True), "protest_on_file"),
    ],
)
def test_exclusions(candidate, reason):
    plan = plan_drafts([candidate], as_of=AS_OF)
    assert plan.drafts == [] and dict(plan.excluded) == {reason: 1}


def test_entries_on_other_paths_are_not_candidates():
    plan = plan_drafts(
        [cand(1, path="cape_phase1", days=20), cand(2, path="not_affected", ieepa="0")], as_of=AS_OF
    )
    assert plan.drafts == [] and not plan.excluded


@pytest.mark.parametrize("days_left, urgent", [(0, True), (6, True), (7, False), (30, False)])
def test_urgent_under_seven_days(days_left, urgent):
    plan = plan_drafts([cand(1, days=180 - days_left), cand(2, days=90)], as_of=AS_OF)
    assert plan.drafts[0].urgent is urgent


def test_merchandise_description_lists_commodity_hts_not_chapter_99():
    text = drafting.merchandise_description(["8471300100", "99030125", "9403608081", "8471300100"])
    assert "8471.30.0100" in text and "9403.60.8081" in text and "9903" not in text


def test_court_deadline_and_deemed_denial():
    assert rules.deemed_denial_date(date(2026, 9, 1)) == date(2026, 10, 1)
    assert rules.court_deadline(date(2026, 10, 1)) == date(2027, 3, 30)
    assert not rules.is_deemed_denied(requested_on=date(2026, 9, 1), today=date(2026, 9, 30))
    assert rules.is_deemed_denied(requested_on=date(2026, 9, 1), today=date(2026, 10, 1))


@pytest.mark.parametrize(
    "category, s122, days, allowed",
    [
        ("ieepa", 0, 80, True),  # day 80 is still inside the CAPE window
        ("ieepa", 0, 81, False),
        ("ieepa", 5, 30, False),  # not IEEPA-only
        ("section_122", 0, 30, False),
    ],
)
def test_withdrawal_only_ieepa_only_within_80_days(category, s122, days, allowed):
    problem = rules.withdrawal_problem(
        category=category,
        section_122_duty_total=s122,
        liquidation_dates=[AS_OF - timedelta(days=days)],
        today=AS_OF,
    )
    assert (problem is None) is allowed


@pytest.mark.parametrize(
    "statuses, expected",
    [
        (["allowed", "allowed"], "allowed"),
        (["denied"], "denied"),
        (["allowed", "denied"], "partially_allowed"),
        (["partially_allowed"], "partially_allowed"),
        (["allowed", "pending"], None),
    ],
)
def test_outcome(statuses, expected):
    assert rules.outcome(statuses) == expected
