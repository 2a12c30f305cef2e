"""Rule set 2026.2 (spec §5): every rule that changed from 2026.1, on both sides of each boundary."""

import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.classification import COLLECTION_WARNING, EntryInput, classify, collection_warning
from domain.deadlines import CURRENT_RULES, RULES_2026_1, RULES_2026_2
from domain.es003.grouping import group_entries
from domain.es003.parsing import open_report

AS_OF = date(2026, 11, 23)
IEEPA_ROW = ("99030125", Decimal("1000.00"))
S122_ROW = ("99030301", Decimal("250.00"))


def _entry(**changes) -> EntryInput:
    base = EntryInput(
        entry_number="ABC12345676",
        entry_type="01",
        entry_date=date(2025, 6, 2),
        entry_summary_date=date(2025, 6, 9),
        liquidation_status="liquidated",
        liquidation_date=AS_OF - timedelta(days=30),
        drawback=False,
        protest=False,
        reconciliation=False,
        tariff_rows=(IEEPA_ROW,),
    )
    return replace(base, **changes)


def _path(entry: EntryInput, rules=CURRENT_RULES) -> tuple[str, str]:
    result = classify(entry, as_of=AS_OF, rules=rules)
    return str(result.refund_path), str(result.exclusion_reason)


def test_current_rule_set_is_2026_2_and_every_classification_records_it():
    assert CURRENT_RULES is RULES_2026_2
    assert classify(_entry(), as_of=AS_OF).rule_set_version == "2026.2"


@pytest.mark.parametrize(
    ("days", "path"),
    [
        (-3, "cape_phase2"),
        (0, "cape_phase2"),
        (79, "cape_phase2"),
        (80, "cape_phase2"),  # "not over 80 days past liquidation"
        (81, "protest"),
        (179, "protest"),
        (180, "protest"),
        (181, "finally_liquidated"),
        (400, "finally_liquidated"),
    ],
)
@pytest.mark.parametrize("status", ["liquidated", "reliquidated"])
def test_flagged_liquidated_entry_is_phase2_only_within_80_days(days, path, status):
    entry = _entry(
        reconciliation=True, liquidation_status=status, liquidation_date=AS_OF - timedelta(days=days)
    )
    assert _path(entry) == (path, "")


@pytest.mark.parametrize("status", ["unliquidated", "pending", "suspended", "extended", "under_review"])
def test_flagged_open_entry_is_phase2(status):
    assert _path(_entry(reconciliation=True, liquidation_status=status, liquidation_date=None)) == (
        "cape_phase2",
        "",
    )


def test_flagged_liquidated_entry_without_a_date_needs_data():
    result = classify(_entry(reconciliation=True, liquidation_date=None), as_of=AS_OF)
    assert (result.refund_path, result.reason) == ("needs_data", "liquidation_date_missing")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"reconciliation": True, "reconciliation_filed": True}, ("excluded", "reconciliation_filed")),
        # The Type 09 mark wins over the windows (rule 10a before 10b/c) ...
        (
            {
                "reconciliation": True,
                "reconciliation_filed": True,
                "liquidation_date": AS_OF - timedelta(days=400),
            },
            ("excluded", "reconciliation_filed"),
        ),
        # ... and implies the flag: a Type 09 is filed only for flagged entries.
        ({"reconciliation_filed": True}, ("excluded", "reconciliation_filed")),
        ({"surety_paid": True}, ("excluded", "surety_paid")),
        ({"surety_paid": True, "reconciliation": True}, ("excluded", "surety_paid")),
        # Rule 7 (protest) before rule 8 (surety), rule 6 (drawback) before both.
        ({"surety_paid": True, "protest": True}, ("excluded", "active_protest")),
        ({"surety_paid": True, "drawback": True, "protest": True}, ("excluded", "drawback")),
        # Rule 8 before rule 9 (AD/CVD pending).
        (
            {
                "surety_paid": True,
                "entry_type": "03",
                "liquidation_status": "pending",
                "liquidation_date": None,
            },
            ("excluded", "surety_paid"),
        ),
        # Neither mark matters when there is no IEEPA duty, or no status.
        ({"surety_paid": True, "tariff_rows": (S122_ROW,)}, ("section_122", "")),
        ({"surety_paid": True, "liquidation_status": None}, ("needs_data", "")),
    ],
)
def test_staff_marks_surety_paid_and_type09_filed(changes, expected):
    assert _path(_entry(**changes)) == expected


@pytest.mark.parametrize(
    ("entry_type", "reason"),
    [
        ("08", "duty_deferral_entry"),
        ("8", "duty_deferral_entry"),
        ("23", "tib_entry"),
        ("47", "drawback"),
    ],
)
@pytest.mark.parametrize("status", ["liquidated", "unliquidated", "pending"])
def test_excluded_entry_types(entry_type, reason, status):
    liquidation = AS_OF - timedelta(days=30) if status == "liquidated" else None
    entry = _entry(entry_type=entry_type, liquidation_status=status, liquidation_date=liquidation)
    assert _path(entry) == ("excluded", reason)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Entry types come before the marks (rule 5 before 6-8); type 09 before them all.
        ({"entry_type": "23", "protest": True, "surety_paid": True}, ("excluded", "tib_entry")),
        ({"entry_type": "08", "drawback": True}, ("excluded", "duty_deferral_entry")),
        ({"entry_type": "09", "reconciliation_filed": True}, ("excluded", "reconciliation_entry")),
        ({"entry_type": "47", "reconciliation": True}, ("excluded", "drawback")),
    ],
)
def test_entry_type_exclusions_in_order(changes, expected):
    assert _path(_entry(**changes)) == expected


@pytest.mark.parametrize("entry_type", ["03", "07", "34", "38", "3"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", ("excluded", "adcvd_liquidation_pending")),
        ("suspended", ("cape_phase1", "")),
        ("unliquidated", ("cape_phase1", "")),
        ("extended", ("cape_phase1", "")),
    ],
)
def test_adcvd_entries_excluded_only_while_liquidation_pending(entry_type, status, expected):
    assert _path(_entry(entry_type=entry_type, liquidation_status=status, liquidation_date=None)) == expected


@pytest.mark.parametrize("entry_type", ["01", "02", "11"])
def test_pending_liquidation_of_other_entries_is_phase1(entry_type):
    assert _path(_entry(entry_type=entry_type, liquidation_status="pending", liquidation_date=None)) == (
        "cape_phase1",
        "",
    )


@pytest.mark.parametrize(
    ("changes", "rules_2026_1", "rules_2026_2"),
    [
        (
            {"entry_type": "34", "liquidation_status": "suspended", "liquidation_date": None},
            ("excluded", "adcvd_pending"),
            ("cape_phase1", ""),
        ),
        (
            {"reconciliation": True, "liquidation_date": AS_OF - timedelta(days=100)},
            ("cape_phase2", ""),
            ("protest", ""),
        ),
        (
            {"reconciliation": True, "liquidation_date": AS_OF - timedelta(days=200)},
            ("cape_phase2", ""),
            ("finally_liquidated", ""),
        ),
        ({"entry_type": "23"}, ("cape_phase1", ""), ("excluded", "tib_entry")),
        ({"surety_paid": True}, ("cape_phase1", ""), ("excluded", "surety_paid")),
    ],
)
def test_rule_set_2026_1_is_kept_for_the_record(changes, rules_2026_1, rules_2026_2):
    entry = _entry(**changes)
    assert _path(entry, RULES_2026_1) == rules_2026_1
    assert _path(entry, RULES_2026_2) == rules_2026_2
    assert classify(entry, as_of=AS_OF, rules=RULES_2026_1).rule_set_version == "2026.1"


@pytest.mark.parametrize(
    ("entry_date", "ieepa", "section_122", "warned"),
    [
        (date(2025, 2, 3), "10.00", "0", True),
        (date(2025, 2, 4), "10.00", "0", False),
        (date(2026, 2, 23), "10.00", "0", False),
        (date(2026, 2, 24), "10.00", "0", True),
        (date(2026, 2, 23), "0", "5.00", True),
        (date(2026, 2, 24), "0", "5.00", False),
        (date(2026, 7, 23), "0", "5.00", False),
        (date(2026, 7, 24), "0", "5.00", True),
        (date(2024, 12, 1), "0", "0", False),
        (date(2026, 3, 2), "0", "-5.00", False),
        (None, "10.00", "5.00", False),
    ],
)
def test_collection_warning_for_duty_outside_its_period(entry_date, ieepa, section_122, warned):
    got = collection_warning(
        entry_date=entry_date, ieepa_duty=Decimal(ieepa), section_122_duty=Decimal(section_122)
    )
    assert got == (COLLECTION_WARNING if warned else "")


def test_classification_keeps_the_amount_and_warns_outside_the_collection_period():
    late = _entry(
        entry_date=date(2026, 8, 3),
        tariff_rows=(S122_ROW,),
        liquidation_status="unliquidated",
        liquidation_date=None,
    )
    result = classify(late, as_of=AS_OF)
    assert (result.refund_path, result.section_122_duty) == ("section_122", Decimal("250.00"))
    assert result.warning == "check this entry: duty outside the collection period"
    in_period = classify(replace(late, entry_date=date(2026, 5, 1)), as_of=AS_OF)
    assert in_period.warning == ""


def test_explanations_of_the_new_reasons():
    said = {
        reason: classify(_entry(**changes), as_of=AS_OF).explanation
        for reason, changes in {
            "surety": {"surety_paid": True},
            "filed": {"reconciliation_filed": True},
            "08": {"entry_type": "08"},
            "23": {"entry_type": "23"},
            "47": {"entry_type": "47"},
            "adcvd": {"entry_type": "07", "liquidation_status": "pending", "liquidation_date": None},
            "protest": {"protest": True},
            "phase2": {"reconciliation": True},
        }.items()
    }
    assert "surety paid the IEEPA duty" in said["surety"]
    assert "Type 09 reconciliation entry covering this flagged entry has been filed" in said["filed"]
    assert "type 08 (USMCA duty deferral)" in said["08"]
    assert "temporary importation under bond" in said["23"]
    assert "type 47 (drawback) entry" in said["47"]
    assert "liquidation is pending" in said["adcvd"]
    assert "may be withdrawn within the 80 days" in said["protest"]
    assert "Phase 2 takes it only within 80 days of liquidation" in said["phase2"]
    assert said["phase2"].endswith("Next date to watch: CAPE window closes, 2027-01-12.")


HEADER = (
    "Entry Summary Number,Entry Type Code,Entry Date,HTS Number - Full,Line Tariff Duty Amount,"
    "Liquidation Status,Liquidation Date,Protest Number,Reconciliation Indicator\n"
)


def _read(rows: str):
    with open_report(io.BytesIO((HEADER + rows).encode()), filename="r.csv") as report:
        entries, errors = group_entries(
            list(report.rows()),
            liquidation_known=report.has_liquidation_columns,
            column_names=report.column_names,
        )
    return {e.entry_number: e for e in entries}, errors


@pytest.mark.parametrize(
    ("text", "on_file"),
    [("2704-26-439218", True), ("270426439218", True), ("Y", True), ("", False), ("  ", False)]
    + [("N", False), ("0", False), ("N/A", False), ("none", False)],
)
def test_protest_number_cell_means_a_protest_on_file_when_it_holds_a_number(text, on_file):
    from domain.es003.values import parse_protest_number

    assert parse_protest_number(text) is on_file


def test_ace_names_protest_number_and_reconciliation_indicator_and_new_statuses():
    entries, errors = _read(
        "ABC12345676,01,06/02/2025,9903.01.25,100.00,Liquidated,09/01/2026,270426100123,N\n"
        "SP700000014,01,06/02/2025,9903.01.25,100.00,Pending Liquidation,,,Y\n"
        "99999999990,03,06/02/2025,9903.01.25,100.00,Pending,,,\n"
        "ABC12345684,01,06/02/2025,9903.01.25,100.00,Deemed Liquidated,08/01/2026,N,N\n"
    )
    assert errors == []
    facts = {n: (e.protest, e.reconciliation, e.liquidation_status) for n, e in entries.items()}
    assert facts == {
        "ABC12345676": (True, False, "liquidated"),
        "SP700000014": (False, True, "pending"),
        "99999999990": (False, False, "pending"),
        "ABC12345684": (False, False, "liquidated"),
    }
