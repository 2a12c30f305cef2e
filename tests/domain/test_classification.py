from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.chapter99 import DEFAULT_REGISTRY, Chapter99Rule, Registry
from domain.classification import Classification, EntryInput, classify, duty_totals
from domain.deadlines import RULES_2026_2
from domain.vocabulary import LIQUIDATION_STATUSES, DeadlineKind, Reason, RefundPath

AS_OF = date(2026, 11, 23)
IEEPA_ROW = ("99030125", Decimal("1000.00"))
S122_ROW = ("99030301", Decimal("250.00"))
COMMODITY_ROW = ("6404193960", Decimal("80.00"))
SECTION_301_ROW = ("99038815", Decimal("300.00"))


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
        tariff_rows=(COMMODITY_ROW, IEEPA_ROW),
    )
    return replace(base, **changes)


def _liquidated_days_ago(days: int, **changes) -> EntryInput:
    changes = {"liquidation_status": "liquidated", **changes}
    return _entry(liquidation_date=AS_OF - timedelta(days=days), **changes)


def _open(status: str = "unliquidated", **changes) -> EntryInput:
    return _entry(liquidation_status=status, liquidation_date=None, **changes)


@pytest.mark.parametrize(
    ("days", "path"),
    [
        (-5, RefundPath.CAPE_PHASE1),
        (0, RefundPath.CAPE_PHASE1),
        (1, RefundPath.CAPE_PHASE1),
        (79, RefundPath.CAPE_PHASE1),
        (80, RefundPath.CAPE_PHASE1),
        (81, RefundPath.PROTEST),
        (179, RefundPath.PROTEST),
        (180, RefundPath.PROTEST),
        (181, RefundPath.FINALLY_LIQUIDATED),
        (700, RefundPath.FINALLY_LIQUIDATED),
    ],
)
def test_classify_liquidated_day_boundaries(days, path):
    result = classify(_liquidated_days_ago(days), as_of=AS_OF)
    assert result.refund_path == path
    assert result.days_since_liquidation == days


@pytest.mark.parametrize("status", ["liquidated", "reliquidated"])
@pytest.mark.parametrize(
    ("days", "path"),
    [
        (80, RefundPath.CAPE_PHASE1),
        (81, RefundPath.PROTEST),
        (180, RefundPath.PROTEST),
        (181, "finally_liquidated"),
    ],
)
def test_classify_reliquidated_follows_the_same_windows(status, days, path):
    entry = _entry(liquidation_status=status, liquidation_date=AS_OF - timedelta(days=days))
    assert classify(entry, as_of=AS_OF).refund_path == path


@pytest.mark.parametrize("status", ["unliquidated", "suspended", "extended", "under_review"])
def test_classify_open_status_is_cape_phase1(status):
    result = classify(_open(status), as_of=AS_OF)
    assert (result.refund_path, result.reason) == (RefundPath.CAPE_PHASE1, Reason.NONE)


def test_classify_every_status_value_is_accepted():
    paths = {
        status: classify(_entry(liquidation_status=status), as_of=AS_OF).refund_path
        for status in LIQUIDATION_STATUSES
    }
    assert paths == {
        "unliquidated": "cape_phase1",
        "liquidated": "cape_phase1",
        "suspended": "cape_phase1",
        "extended": "cape_phase1",
        "under_review": "cape_phase1",
        "reliquidated": "cape_phase1",
        "pending": "cape_phase1",
    }


@pytest.mark.parametrize("status", ["Liquidated", "open", "final", ""])
def test_classify_unnormalized_status_raises(status):
    with pytest.raises(ValueError, match="liquidation status"):
        classify(_entry(liquidation_status=status), as_of=AS_OF)


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        # Rule 1 beats everything, rule 2 beats the unknown status of rule 3.
        ({"tariff_rows": (COMMODITY_ROW,), "entry_type": "09", "drawback": True}, "not_affected", ""),
        (
            {"tariff_rows": (S122_ROW,), "entry_date": date(2026, 3, 2), "liquidation_status": None},
            "section_122",
            "",
        ),
        # Rule 3 (status unknown) beats every exclusion.
        (
            {"liquidation_status": None, "entry_type": "09", "drawback": True, "protest": True},
            "needs_data",
            "liquidation_status_missing",
        ),
        # Rules 4-7 in order: each one wins over the ones after it.
        (
            {"entry_type": "09", "drawback": True, "protest": True, "reconciliation": True},
            "excluded",
            "reconciliation_entry",
        ),
        ({"drawback": True, "protest": True, "reconciliation": True}, "excluded", "drawback"),
        ({"protest": True, "reconciliation": True}, "excluded", "active_protest"),
        (
            {
                "entry_type": "03",
                "liquidation_status": "suspended",
                "liquidation_date": None,
                "protest": True,
            },
            "excluded",
            "active_protest",
        ),
        (
            {
                "entry_type": "03",
                "liquidation_status": "pending",
                "liquidation_date": None,
                "reconciliation": True,
            },
            "excluded",
            "adcvd_liquidation_pending",
        ),
        # 2026.2: a suspended AD/CVD entry is no longer excluded; the flag sends it to Phase 2.
        (
            {
                "entry_type": "03",
                "liquidation_status": "suspended",
                "liquidation_date": None,
                "reconciliation": True,
            },
            "cape_phase2",
            "",
        ),
        # 2026.2: the reconciliation flag no longer beats the liquidation windows.
        ({"reconciliation": True, "liquidation_date": AS_OF - timedelta(days=400)}, "finally_liquidated", ""),
        # Excel's "9" for "09" is still the reconciliation entry.
        ({"entry_type": "9"}, "excluded", "reconciliation_entry"),
        ({"entry_type": " 09 "}, "excluded", "reconciliation_entry"),
    ],
)
def test_classify_rules_apply_in_order_of_precedence(changes, path, reason):
    result = classify(_entry(**changes), as_of=AS_OF)
    assert (result.refund_path, result.reason) == (path, reason)


@pytest.mark.parametrize("entry_type", ["03", "07", "34", "38", "3", "7"])
@pytest.mark.parametrize(
    ("status", "path", "reason"),
    [
        ("pending", "excluded", "adcvd_liquidation_pending"),
        ("suspended", "cape_phase1", ""),
        ("unliquidated", "cape_phase1", ""),
        ("extended", "cape_phase1", ""),
        ("under_review", "cape_phase1", ""),
    ],
)
def test_classify_adcvd_type_excluded_only_when_liquidation_pending(entry_type, status, path, reason):
    result = classify(_open(status, entry_type=entry_type), as_of=AS_OF)
    assert (result.refund_path, result.reason) == (path, reason)


@pytest.mark.parametrize("entry_type", ["01", "02", "06", "11", "21", "31"])
def test_classify_suspended_non_adcvd_type_is_cape_phase1(entry_type):
    assert classify(_open("suspended", entry_type=entry_type), as_of=AS_OF).refund_path == "cape_phase1"


@pytest.mark.parametrize("entry_type", ["03", "07", "34", "38"])
def test_classify_liquidated_adcvd_type_follows_liquidation_windows(entry_type):
    assert classify(_liquidated_days_ago(100, entry_type=entry_type), as_of=AS_OF).refund_path == "protest"


@pytest.mark.parametrize("entry_type", ["01", "02", "06"])
@pytest.mark.parametrize("status", LIQUIDATION_STATUSES)
def test_classify_reconciliation_flag_is_cape_phase2(entry_type, status):
    result = classify(
        _entry(entry_type=entry_type, liquidation_status=status, reconciliation=True), as_of=AS_OF
    )
    assert (result.refund_path, result.exclusion_reason) == (RefundPath.CAPE_PHASE2, Reason.NONE)


@pytest.mark.parametrize(
    ("as_of", "phrase"),
    [
        (date(2026, 5, 1), "CAPE Phase 2 (opens 2026-06-29)"),
        (date(2026, 6, 28), "CAPE Phase 2 (opens 2026-06-29)"),
        (date(2026, 6, 29), "CAPE Phase 2 (open since 2026-06-29)"),
        (AS_OF, "CAPE Phase 2 (open since 2026-06-29)"),
    ],
)
def test_classify_cape_phase2_before_opening_keeps_path_and_says_when(as_of, phrase):
    result = classify(_open(reconciliation=True), as_of=as_of)
    assert result.refund_path == RefundPath.CAPE_PHASE2
    assert phrase in result.explanation


@pytest.mark.parametrize(
    ("rows", "entry_date", "path", "ieepa", "section_122"),
    [
        ((COMMODITY_ROW, S122_ROW), date(2026, 3, 2), "section_122", "0.00", "250.00"),
        (
            (COMMODITY_ROW, S122_ROW, ("99030305", Decimal("0"))),
            date(2026, 7, 24),
            "section_122",
            "0.00",
            "250.00",
        ),
        # 2026.2: a 9903.03.01 duty counts whatever the entry's date (staff get a warning instead).
        ((COMMODITY_ROW, S122_ROW), date(2026, 7, 25), "section_122", "0.00", "250.00"),
        ((COMMODITY_ROW, S122_ROW), date(2026, 2, 23), "section_122", "0.00", "250.00"),
        # 9903.03.12-.16 are Section 338 duties, not refundable here.
        ((COMMODITY_ROW, ("99030312", Decimal("40.00"))), date(2026, 9, 1), "not_affected", "0.00", "0.00"),
        ((COMMODITY_ROW, ("9903031600", Decimal("40.00"))), date(2026, 9, 1), "not_affected", "0.00", "0.00"),
        (
            (COMMODITY_ROW, SECTION_301_ROW, ("99038001", Decimal("90"))),
            date(2025, 6, 2),
            "not_affected",
            "0.00",
            "0.00",
        ),
        ((COMMODITY_ROW,), date(2025, 6, 2), "not_affected", "0.00", "0.00"),
        ((), date(2025, 6, 2), "not_affected", "0.00", "0.00"),
        ((("99030125", Decimal("0.00")),), date(2025, 6, 2), "not_affected", "0.00", "0.00"),
        ((("99030125", Decimal("-12.00")),), date(2025, 6, 2), "not_affected", "-12.00", "0.00"),
        ((IEEPA_ROW, ("99030125", Decimal("-1000.00"))), date(2025, 6, 2), "not_affected", "0.00", "0.00"),
        # Both programs on one entry: the IEEPA rules decide, both sums are kept.
        ((IEEPA_ROW, S122_ROW), date(2026, 3, 2), "cape_phase1", "1000.00", "250.00"),
        ((IEEPA_ROW, (None, Decimal("5.00"))), date(2025, 6, 2), "cape_phase1", "1000.00", "0.00"),
    ],
)
def test_classify_duty_decides_affected_programs(rows, entry_date, path, ieepa, section_122):
    result = classify(_entry(tariff_rows=rows, entry_date=entry_date), as_of=AS_OF)
    assert result.refund_path == path
    assert (result.ieepa_duty, result.section_122_duty) == (Decimal(ieepa), Decimal(section_122))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((("99030110", Decimal("10.005")),), ("10.01", "0.00")),
        ((("99030110", Decimal("0.10")), ("9903020100", Decimal("0.20"))), ("0.30", "0.00")),
        ((("99030301", Decimal("7.5")), ("99030302", Decimal("99.00"))), ("0.00", "7.50")),
        (
            (("99030110", Decimal("1")), ("99030301", Decimal("2")), ("99038815", Decimal("4"))),
            ("1.00", "2.00"),
        ),
    ],
)
def test_duty_totals_sums_duty_carrying_rows_in_cents(rows, expected):
    totals = duty_totals(tariff_rows=rows, entry_date=date(2026, 3, 2), registry=DEFAULT_REGISTRY)
    assert totals == (Decimal(expected[0]), Decimal(expected[1]))
    assert all(total.as_tuple().exponent == -2 for total in totals)


def test_duty_totals_uses_entry_summary_date_when_entry_date_missing():
    entry = _entry(tariff_rows=(S122_ROW,), entry_date=None, entry_summary_date=date(2026, 3, 5))
    result = classify(entry, as_of=AS_OF)
    assert (result.refund_path, result.section_122_duty) == ("section_122", Decimal("250.00"))


def test_classify_status_missing_is_needs_data_with_separate_reason():
    result = classify(_entry(liquidation_status=None, liquidation_date=None), as_of=AS_OF)
    assert result.refund_path == RefundPath.NEEDS_DATA
    assert result.reason == Reason.LIQUIDATION_STATUS_MISSING
    assert result.exclusion_reason == ""
    assert (result.next_deadline, result.next_deadline_kind) == (None, "")
    assert "Liquidation Status and Liquidation Date" in result.explanation


def test_classify_liquidated_without_date_is_needs_data():
    result = classify(_entry(liquidation_status="liquidated", liquidation_date=None), as_of=AS_OF)
    assert (result.refund_path, result.reason, result.exclusion_reason) == (
        "needs_data",
        "liquidation_date_missing",
        "",
    )
    assert (result.projected_liquidation, result.cape_window_closes, result.protest_deadline) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("entry", "projected", "cape", "protest"),
    [
        # Liquidated: the two liquidation windows, whatever the path.
        (_liquidated_days_ago(30), None, date(2027, 1, 12), date(2027, 4, 22)),
        (_liquidated_days_ago(30, drawback=True), None, date(2027, 1, 12), date(2027, 4, 22)),
        (_liquidated_days_ago(30, tariff_rows=(COMMODITY_ROW,)), None, date(2027, 1, 12), date(2027, 4, 22)),
        (_liquidated_days_ago(200), None, date(2026, 7, 26), date(2026, 11, 3)),
        # Not liquidated: only the projection from the entry date (2025-06-02 + 314).
        (_open("suspended"), date(2026, 4, 12), None, None),
        (_open("under_review", protest=True), date(2026, 4, 12), None, None),
        (_open("unliquidated", tariff_rows=(COMMODITY_ROW,)), date(2026, 4, 12), None, None),
        # No status column: the projection, or the windows when a liquidation date is known anyway.
        (_entry(liquidation_status=None, liquidation_date=None), date(2026, 4, 12), None, None),
        (_entry(liquidation_status=None), None, date(2027, 1, 12), date(2027, 4, 22)),
        # An open status outranks a stray liquidation date.
        (_entry(liquidation_status="extended"), date(2026, 4, 12), None, None),
        # Only a summary date: the projection runs from it.
        (_open(entry_date=None, entry_summary_date=date(2025, 6, 9)), date(2026, 4, 19), None, None),
        (_open(entry_date=None, entry_summary_date=None), None, None, None),
    ],
)
def test_classify_fills_dates_by_liquidation_state(entry, projected, cape, protest):
    result = classify(entry, as_of=AS_OF)
    assert (result.projected_liquidation, result.cape_window_closes, result.protest_deadline) == (
        projected,
        cape,
        protest,
    )


@pytest.mark.parametrize(
    ("entry", "as_of", "deadline", "kind"),
    [
        (_liquidated_days_ago(10), AS_OF, AS_OF + timedelta(days=70), "cape_window_closes"),
        # On the last CAPE day the deadline is today, not the protest deadline.
        (_liquidated_days_ago(80), AS_OF, AS_OF, "cape_window_closes"),
        (_liquidated_days_ago(81), AS_OF, AS_OF + timedelta(days=99), "protest_deadline"),
        (_liquidated_days_ago(180), AS_OF, AS_OF, "protest_deadline"),
        (_liquidated_days_ago(181), AS_OF, None, ""),
        (
            _liquidated_days_ago(100, reconciliation=True),
            AS_OF,
            AS_OF + timedelta(days=80),
            "protest_deadline",
        ),
        (
            _liquidated_days_ago(10, reconciliation=True),
            AS_OF,
            AS_OF + timedelta(days=70),
            "cape_window_closes",
        ),
        (_liquidated_days_ago(10, drawback=True), AS_OF, AS_OF + timedelta(days=170), "protest_deadline"),
        (_liquidated_days_ago(10, protest=True), AS_OF, None, ""),
        (_liquidated_days_ago(10, tariff_rows=(COMMODITY_ROW,)), AS_OF, None, ""),
        (_liquidated_days_ago(10, liquidation_status=None), AS_OF, None, ""),
        (
            _liquidated_days_ago(10, tariff_rows=(S122_ROW,), entry_date=date(2026, 3, 2)),
            AS_OF,
            AS_OF + timedelta(days=170),
            "protest_deadline",
        ),
        (
            _liquidated_days_ago(190, tariff_rows=(S122_ROW,), entry_date=date(2026, 3, 2)),
            AS_OF,
            None,
            "",
        ),
        # Not liquidated: projected liquidation (2026-04-12), then the 494th day (2026-10-09).
        (_open(), date(2026, 1, 1), date(2026, 4, 12), "projected_liquidation"),
        (_open(), date(2026, 4, 12), date(2026, 4, 12), "projected_liquidation"),
        (_open(), date(2026, 4, 13), date(2026, 10, 9), "protest_horizon"),
        (_open(), date(2026, 10, 10), None, ""),
        (_open("suspended", entry_type="03"), date(2026, 1, 1), date(2026, 4, 12), "projected_liquidation"),
        (_open(reconciliation=True), date(2026, 5, 1), date(2026, 10, 9), "protest_horizon"),
    ],
)
def test_classify_next_deadline_is_earliest_open_one_for_the_path(entry, as_of, deadline, kind):
    result = classify(entry, as_of=as_of)
    assert (result.next_deadline, result.next_deadline_kind) == (deadline, kind)


@pytest.mark.parametrize(
    ("entry", "as_of", "explanation"),
    [
        (
            _entry(liquidation_date=date(2026, 9, 3)),
            AS_OF,
            "Liquidated 2026-09-03, 81 days ago: past the 80-day CAPE window. "
            "File a protest (CBP Form 19) by 2027-03-02.",
        ),
        (
            _entry(liquidation_date=date(2026, 9, 4)),
            AS_OF,
            "Liquidated 2026-09-04, 80 days ago: within the 80-day CAPE window. "
            "Declare it in CAPE Phase 1 by 2026-11-23 (today).",
        ),
        (
            _entry(liquidation_date=date(2026, 5, 26)),
            AS_OF,
            "Liquidated 2026-05-26, 181 days ago: the 180-day protest period ended 2026-11-22, "
            "so the entry is finally liquidated. Its refund waits for CAPE Phase 3 (the Atmus order); "
            "a CIT action under 28 U.S.C. 1581(i) within 2 years is the fallback.",
        ),
        (
            _open("extended"),
            date(2026, 3, 1),
            "Not yet liquidated (status extended, projected liquidation 2026-04-12): "
            "declare it in CAPE Phase 1 (Phase 1 opens 2026-04-20). "
            "Next date to watch: projected liquidation, 2026-04-12.",
        ),
        (
            _open(tariff_rows=(COMMODITY_ROW,)),
            AS_OF,
            "No IEEPA or Section 122 duty on this entry, so there is nothing to refund.",
        ),
    ],
)
def test_classify_explanation_reads_as_plain_english(entry, as_of, explanation):
    assert classify(entry, as_of=as_of).explanation == explanation


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (_entry(entry_type="09"), "Type 09 reconciliation entry"),
        (_entry(drawback=True), "Drawback was claimed"),
        (_entry(protest=True), "A protest is pending"),
        (_open("pending", entry_type="34"), "AD/CVD entry (type 34) whose liquidation is pending"),
        (_liquidated_days_ago(5, liquidation_status=None), "re-export ES-003"),
        (_entry(liquidation_date=None), "no liquidation date"),
        (
            _open(tariff_rows=(S122_ROW,), entry_date=date(2026, 3, 2)),
            "by 2027-07-09 if it liquidates on schedule",
        ),
        (_open("suspended", entry_date=date(2025, 2, 10)), "has passed, so check ACE for a liquidation"),
    ],
)
def test_classify_explanation_names_the_reason(entry, fragment):
    assert fragment in classify(entry, as_of=AS_OF).explanation


def test_classify_records_versions_and_as_of():
    result = classify(_entry(), as_of=AS_OF)
    assert (result.rule_set_version, result.registry_version, result.as_of) == ("2026.2", "2026.2", AS_OF)


def test_classify_uses_the_given_rule_set():
    longer_window = replace(RULES_2026_2, cape_window_days=90)
    result = classify(_liquidated_days_ago(85), as_of=AS_OF, rules=longer_window)
    assert (result.refund_path, result.rule_set_version) == ("cape_phase1", "2026.2")
    assert result.cape_window_closes == AS_OF + timedelta(days=5)


@pytest.mark.parametrize(
    ("hts", "entry_date", "program"),
    [
        ("99030110", date(2025, 3, 4), "ieepa"),
        ("99030199", date(2025, 3, 4), "ieepa"),
        ("99030201", date(2025, 4, 5), "ieepa"),
        ("9903025800", date(2025, 4, 5), "ieepa"),
        ("99030110", None, "ieepa"),
        ("99030301", date(2026, 2, 24), "section_122"),
        ("99030301", date(2026, 7, 24), "section_122"),
        ("99030301", date(2026, 2, 23), "section_122"),
        ("99030301", date(2026, 7, 25), "section_122"),
        ("99030311", date(2026, 7, 23), "section_122"),
        ("99030311", date(2026, 7, 24), None),
        ("99030312", date(2026, 9, 1), None),
        ("99030316", date(2026, 9, 1), None),
        ("99030301", None, "section_122"),
        ("99030302", date(2026, 3, 1), "section_122"),
        ("99030311", date(2026, 3, 1), "section_122"),
        ("99030312", date(2026, 3, 1), None),
        ("99030300", date(2026, 3, 1), None),
        ("99030099", date(2025, 3, 4), None),
        ("99038815", date(2025, 3, 4), None),
        ("99038001", date(2025, 3, 4), None),
        ("99039601", date(2025, 3, 4), None),
        ("6404193960", date(2025, 3, 4), None),
        ("", date(2025, 3, 4), None),
        (None, date(2025, 3, 4), None),
    ],
)
def test_registry_program_of_default_rules(hts, entry_date, program):
    assert DEFAULT_REGISTRY.program_of(hts, entry_date) == program


def _rule(
    program="ieepa",
    start="99030100",
    end="99030199",
    carries_duty=True,
    effective_from=None,
    effective_to=None,
):
    return Chapter99Rule(
        program=program,
        start=start,
        end=end,
        carries_duty=carries_duty,
        effective_from=effective_from,
        effective_to=effective_to,
        source="test",
    )


def test_registry_rule_change_moves_an_entrys_path():
    entry = _entry(tariff_rows=(COMMODITY_ROW, SECTION_301_ROW))
    widened = Registry(
        version="test.2", rules=(*DEFAULT_REGISTRY.rules, _rule(start="99038815", end="99038815"))
    )
    assert classify(entry, as_of=AS_OF).refund_path == "not_affected"
    result = classify(entry, as_of=AS_OF, registry=widened)
    assert (result.refund_path, result.ieepa_duty, result.registry_version) == (
        "cape_phase1",
        Decimal("300.00"),
        "test.2",
    )


def test_registry_effective_dates_move_an_entrys_path():
    entry = _entry(tariff_rows=(S122_ROW,), entry_date=date(2026, 7, 1))
    shortened = Registry(
        version="test.3",
        rules=(
            _rule(program="section_122", start="99030301", end="99030301", effective_to=date(2026, 6, 30)),
        ),
    )
    assert classify(entry, as_of=AS_OF).refund_path == "section_122"
    assert classify(entry, as_of=AS_OF, registry=shortened).refund_path == "not_affected"


def test_registry_dated_ieepa_rule_excludes_entries_after_it():
    dated = Registry(
        version="t", rules=(_rule(effective_from=date(2025, 2, 4), effective_to=date(2026, 2, 23)),)
    )
    assert dated.program_of("99030110", date(2026, 2, 23)) == "ieepa"
    assert dated.program_of("99030110", date(2026, 2, 24)) is None
    assert dated.program_of("99030110", date(2025, 2, 3)) is None


@pytest.mark.parametrize("order", ["broad_first", "narrow_first"])
def test_registry_narrower_rule_wins_over_broader(order):
    broad = _rule(start="9903", end="9903")
    narrow = _rule(program="section_122", start="99030150", end="99030150")
    rules = (broad, narrow) if order == "broad_first" else (narrow, broad)
    registry = Registry(version="t", rules=rules)
    assert registry.program_of("99030150", None) == "section_122"
    assert registry.program_of("99030151", None) == "ieepa"
    assert registry.program_of("99039999", None) == "ieepa"


def test_registry_ten_digit_rule_matches_only_its_statistical_suffix():
    registry = Registry(version="t", rules=(_rule(start="9903010510", end="9903010519"),))
    assert registry.program_of("9903010515", None) == "ieepa"
    assert registry.program_of("9903010520", None) is None
    assert registry.program_of("99030105", None) is None


def test_registry_rule_out_of_effect_falls_through_to_next_match():
    registry = Registry(
        version="t",
        rules=(
            _rule(program="section_122", start="99030110", end="99030110", effective_from=date(2026, 1, 1)),
            _rule(),
        ),
    )
    assert registry.program_of("99030110", date(2025, 6, 1)) == "ieepa"
    assert registry.program_of("99030110", date(2026, 6, 1)) == "section_122"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"program": "section_301"}, "program"),
        ({"start": "99030200", "end": "99030100"}, "after end"),
        ({"start": "990301", "end": "99030199"}, "same number of digits"),
        ({"start": "990", "end": "990"}, "digits"),
        ({"start": "9903.01", "end": "9903.02"}, "digits"),
        ({"effective_from": date(2026, 3, 1), "effective_to": date(2026, 2, 1)}, "effective_from"),
    ],
)
def test_registry_invalid_rule_raises(changes, message):
    with pytest.raises(ValueError, match=message):
        _rule(**changes)


def test_registry_equality_ignores_the_index():
    assert Registry(version="x", rules=DEFAULT_REGISTRY.rules) == Registry(
        version="x", rules=DEFAULT_REGISTRY.rules
    )


_FORWARD = [RefundPath.CAPE_PHASE1, RefundPath.PROTEST, RefundPath.FINALLY_LIQUIDATED]


@settings(database=None, max_examples=200)
@given(
    liquidation=st.dates(min_value=date(2025, 3, 1), max_value=date(2027, 12, 31)),
    first=st.integers(min_value=-100, max_value=400),
    later_by=st.integers(min_value=0, max_value=400),
    status=st.sampled_from(["liquidated", "reliquidated"]),
)
def test_classify_liquidated_path_only_moves_forward_as_time_passes(liquidation, first, later_by, status):
    entry = _entry(liquidation_status=status, liquidation_date=liquidation)
    earlier = classify(entry, as_of=liquidation + timedelta(days=first)).refund_path
    later = classify(entry, as_of=liquidation + timedelta(days=first + later_by)).refund_path
    assert _FORWARD.index(earlier) <= _FORWARD.index(later)


_entries = st.builds(
    EntryInput,
    entry_number=st.just("ABC12345676"),
    entry_type=st.sampled_from(["01", "02", "03", "06", "07", "09", "11", "21", "31", "34", "38", "1", None]),
    entry_date=st.one_of(st.none(), st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 8, 1))),
    entry_summary_date=st.one_of(st.none(), st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 8, 1))),
    liquidation_status=st.one_of(st.none(), st.sampled_from(LIQUIDATION_STATUSES)),
    liquidation_date=st.one_of(st.none(), st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1))),
    drawback=st.booleans(),
    protest=st.booleans(),
    reconciliation=st.booleans(),
    tariff_rows=st.lists(
        st.tuples(
            st.sampled_from(["99030125", "99030201", "99030301", "99030305", "99038815", "6404193960", None]),
            st.decimals(min_value=-100, max_value=100_000, places=2, allow_nan=False, allow_infinity=False),
        ),
        max_size=6,
    ).map(tuple),
)


@settings(database=None, max_examples=300)
@given(entry=_entries, as_of=st.dates(min_value=date(2025, 6, 1), max_value=date(2028, 6, 1)))
def test_classify_next_deadline_is_never_in_the_past(entry, as_of):
    result = classify(entry, as_of=as_of)
    assert isinstance(result, Classification)
    if result.next_deadline is None:
        assert result.next_deadline_kind == DeadlineKind.NONE
    else:
        # A deadline on as_of itself is still open (day 80 is CAPE, day 180 protest).
        assert result.next_deadline >= as_of
        assert result.next_deadline_kind != DeadlineKind.NONE
    assert result.explanation and "None" not in result.explanation
    assert (result.exclusion_reason != "") == (result.refund_path == RefundPath.EXCLUDED)


@pytest.mark.parametrize(
    "hts, covered",
    [
        ("99030110", True),  # inside the dated rule, whatever the date
        ("9903011099", True),
        ("99030210", False),  # same chapter, no rule
        ("8517193960", False),
        ("", False),
        (None, False),
    ],
)
def test_registry_covers_a_number_whatever_the_date(hts, covered):
    dated = Registry(
        version="t", rules=(_rule(effective_from=date(2025, 2, 4), effective_to=date(2026, 2, 23)),)
    )
    assert dated.covers(hts) is covered
    if not covered:  # what the import relies on: an uncovered number has no program on any date
        assert {dated.program_of(hts, day) for day in (None, date(2025, 1, 1), date(2026, 1, 1))} == {None}
