from dataclasses import replace
from datetime import date

import pytest

from domain import deadlines
from domain.deadlines import RULES_2026_1, RuleSet


def test_rules_2026_1_holds_the_spec_figures():
    assert RULES_2026_1 == RuleSet(
        version="2026.1",
        projected_liquidation_days=314,
        cape_window_days=80,
        protest_days=180,
        horizon_days=494,
        phase1_opens=date(2026, 4, 20),
        phase2_opens=date(2026, 6, 29),
    )


def test_rules_2026_1_horizon_is_projected_liquidation_plus_protest_period():
    assert RULES_2026_1.horizon_days == RULES_2026_1.projected_liquidation_days + RULES_2026_1.protest_days


@pytest.mark.parametrize(
    ("entry_date", "expected"),
    [
        (date(2026, 1, 29), date(2026, 12, 9)),
        (date(2025, 2, 4), date(2025, 12, 15)),
        (date(2026, 2, 24), date(2027, 1, 4)),
        (date(2027, 6, 1), date(2028, 4, 10)),  # across 2028-02-29
    ],
)
def test_projected_liquidation_is_entry_date_plus_314(entry_date, expected):
    assert deadlines.projected_liquidation(entry_date=entry_date) == expected


@pytest.mark.parametrize(
    ("liquidation_date", "cape", "protest"),
    [
        (date(2026, 9, 3), date(2026, 11, 22), date(2027, 3, 2)),
        (date(2026, 5, 27), date(2026, 8, 15), date(2026, 11, 23)),
        (date(2027, 12, 31), date(2028, 3, 20), date(2028, 6, 28)),  # leap day inside both windows
        (date(2026, 2, 28), date(2026, 5, 19), date(2026, 8, 27)),
    ],
)
def test_liquidation_windows_are_80_and_180_days(liquidation_date, cape, protest):
    assert deadlines.cape_window_closes(liquidation_date=liquidation_date) == cape
    assert deadlines.protest_deadline(liquidation_date=liquidation_date) == protest


@pytest.mark.parametrize(
    ("entry_date", "expected"),
    [(date(2025, 6, 2), date(2026, 10, 9)), (date(2026, 3, 2), date(2027, 7, 9))],
)
def test_protest_horizon_is_the_494th_day(entry_date, expected):
    assert deadlines.protest_horizon(entry_date=entry_date) == expected
    projected = deadlines.projected_liquidation(entry_date=entry_date)
    assert deadlines.protest_deadline(liquidation_date=projected) == expected


@pytest.mark.parametrize(
    ("event", "as_of", "days"),
    [
        (date(2026, 9, 3), date(2026, 11, 23), 81),
        (date(2026, 11, 23), date(2026, 11, 23), 0),
        (date(2026, 11, 30), date(2026, 11, 23), -7),
        (date(2027, 12, 31), date(2028, 3, 1), 61),
    ],
)
def test_days_since_counts_calendar_days(event, as_of, days):
    assert deadlines.days_since(event=event, as_of=as_of) == days


def test_functions_use_the_given_rule_set():
    rules = replace(RULES_2026_1, version="test.1", projected_liquidation_days=300, cape_window_days=90)
    assert deadlines.projected_liquidation(entry_date=date(2026, 1, 1), rules=rules) == date(2026, 10, 28)
    assert deadlines.cape_window_closes(liquidation_date=date(2026, 1, 1), rules=rules) == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cape_window_days": 0}, "positive"),
        ({"protest_days": -1}, "positive"),
        ({"cape_window_days": 180}, "shorter"),
    ],
)
def test_rule_set_rejects_impossible_figures(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(RULES_2026_1, **changes)
