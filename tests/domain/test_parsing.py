import csv
from datetime import date
from decimal import Decimal

import pytest

from domain.es003 import columns, values
from domain.es003.grouping import build_entry, group_entries
from domain.es003.parsing import FileRejected, Line, RowError, open_report
from domain.tabular import InvalidValue, header_key, show
from tests.fixtures import SAMPLES

EXCEL_MESSAGE = (
    "entry number 3.16123E+10 was changed by Excel into a rounded number — export the report again as CSV, "
    "or format the column as text"
)


def read(path):
    with open_report(path) as report:
        items = list(report.rows())
        assert report.complete
        entries, errors = group_entries(
            items, liquidation_known=report.has_liquidation_columns, column_names=report.column_names
        )
    return report, entries, errors


def expected_rows(name):
    with open(SAMPLES / name, newline="") as handle:
        return {row["entry_number"]: row for row in csv.DictReader(handle)}


def duty_sums(entry):
    ieepa = sum(
        (ln.duty for ln in entry.lines if ln.hts and ln.hts.startswith(("990301", "990302"))), Decimal(0)
    )
    section_122 = sum((ln.duty for ln in entry.lines if ln.hts == "99030301"), Decimal(0))
    return ieepa, section_122


# ---- the sample reports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report_name", "expected_name", "format"),
    [
        ("es003_basic.csv", "es003_basic.expected.csv", "csv"),
        ("es003_messy.csv", "es003_messy.expected.csv", "csv"),
        ("es003_basic.xlsx", "es003_basic_xlsx.expected.csv", "xlsx"),
    ],
)
def test_sample_report_yields_expected_entries_and_duty_sums(report_name, expected_name, format):
    report, entries, errors = read(SAMPLES / report_name)
    expected = expected_rows(expected_name)

    assert report.format == format
    assert report.has_liquidation_columns and report.warnings == []
    assert errors == []
    assert [e.entry_number for e in entries] == sorted(expected)
    for entry in entries:
        ieepa, section_122 = duty_sums(entry)
        assert ieepa == Decimal(expected[entry.entry_number]["ieepa_duty"]), entry.entry_number
        assert section_122 == Decimal(expected[entry.entry_number]["section_122_duty"]), entry.entry_number


def test_sample_messy_normalizes_bom_headers_money_dashes_and_entry_type():
    report, entries, _ = read(SAMPLES / "es003_messy.csv")

    assert report.headers_found[0] == "  ENTRY  SUMMARY  NUMBER "
    assert report.column_names["entry_number"] == "ENTRY  SUMMARY  NUMBER"
    lines = {ln.row_number: ln for e in entries for ln in e.lines}
    assert lines[2].entry_number == "M1V37249579" and lines[2].duty == Decimal("13523.82")
    assert lines[3].entry_number == "M1V49471799" and lines[3].entry_date == date(2026, 2, 5)
    assert lines[3].liquidation_status == "liquidated" and lines[3].liquidation_date == date(2026, 5, 26)
    assert lines[2].hts == "99030301"
    assert all(ln.entry_type is not None and len(ln.entry_type) == 2 for ln in lines.values())


@pytest.mark.parametrize(
    ("name", "expected_words"),
    [
        ("bad_empty.csv", ["empty"]),
        ("bad_not_a_report.csv", ["not a readable CSV or Excel (.xlsx) report"]),
        (
            "bad_missing_duty_column.csv",
            [
                "no Line Tariff Duty Amount",
                "Headers found (row 1)",
                "Entry Summary Number",
                "Reconciliation Flag",
            ],
        ),
    ],
)
def test_sample_bad_file_is_rejected_with_message(name, expected_words):
    with pytest.raises(FileRejected) as caught:
        open_report(SAMPLES / name)

    for words in expected_words:
        assert words in str(caught.value)


def test_sample_scientific_entry_numbers_rejected_with_excel_message():
    _, entries, errors = read(SAMPLES / "bad_scientific_entry_numbers.csv")

    assert entries == []
    assert [e.row_number for e in errors] == [2, 3, 4, 5, 6]
    assert all(e.reason == EXCEL_MESSAGE and e.entry_number == "3.16123E+10" for e in errors)


def test_sample_check_digit_rejects_only_that_entry():
    _, entries, errors = read(SAMPLES / "bad_check_digit.csv")
    basic = expected_rows("es003_basic.expected.csv")

    assert [e.entry_number for e in entries] == sorted(set(basic) - {"RV814908844"})
    assert [e.row_number for e in errors] == list(range(2, 14))
    assert {e.entry_number for e in errors} == {"RV814908845"}
    assert all("check digit should be 4, file has 5" in e.reason for e in errors)
    assert {e.column for e in errors} == {"Entry Summary Number"}


def test_sample_bad_values_reject_the_entry_with_row_reasons():
    _, entries, errors = read(SAMPLES / "bad_values.csv")

    assert entries == []
    by_row = {e.row_number: e for e in errors}
    assert sorted(by_row) == [2, 3, 4, 5, 6, 7, 8]
    assert (
        by_row[2].column == "Liquidation Status"
        and "'Pending Something' is not one we know" in by_row[2].reason
    )
    assert by_row[3].column == "Entry Date" and "'02/30/2025' is not a real calendar date" in by_row[3].reason
    assert (
        by_row[4].column == "Line Tariff Duty Amount"
        and by_row[4].reason == "duty amount 'abc' is not a number"
    )
    assert by_row[5].reason == "entry rejected: rows 2, 3, 4 have errors"


# ---- value parsers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234.56", Decimal("1234.56")),
        ("0", Decimal("0")),
        ("0.00", Decimal("0.00")),
        ("-12.00", Decimal("-12.00")),
        ("(12.00)", Decimal("-12.00")),
        ("$1,234.56", Decimal("1234.56")),
        ("($1,234.56)", Decimal("-1234.56")),
        ("-$5.10", Decimal("-5.10")),
        ("$-5.10", Decimal("-5.10")),
        (" 1,000,000.5 ", Decimal("1000000.5")),
        ("12.340", Decimal("12.34")),
        (".50", Decimal("0.50")),
        ("999999999999999.99", Decimal("999999999999999.99")),
        ("$999,999,999,999,999.99", Decimal("999999999999999.99")),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_money_accepts_ace_formats(text, amount):
    assert values.parse_money(text, "duty amount") == amount


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "duty amount 'abc' is not a number"),
        ("1,23.00", "is not a number"),
        ("12.3.4", "is not a number"),
        ("1e5", "is not a number"),
        ("NaN", "is not a number"),
        ("1_000", "is not a number"),
        ("--5", "is not a number"),
        ("(-5)", "is not a number"),
        ("=1+2", "is not a number"),
        ("1234567890123456", "too large (more than 15 digits"),
        ("$1,234,567,890,123,456.00", "too large"),
        ("12.345", "fractions of a cent"),
        ("#VALUE!", "is not a number"),
    ],
)
def test_parse_money_rejects_with_reason(text, reason):
    with pytest.raises(InvalidValue) as caught:
        values.parse_money(text, "duty amount")

    assert reason in caught.value.reason


def test_parse_money_required_blank_is_missing():
    with pytest.raises(InvalidValue, match="duty amount is missing"):
        values.parse_money(" ", "duty amount", required=True)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("01/29/2026", date(2026, 1, 29)),
        ("1/9/2026", date(2026, 1, 9)),
        ("12/31/2025", date(2025, 12, 31)),
        ("02/29/2024", date(2024, 2, 29)),
        ("2026-01-29", date(2026, 1, 29)),
        ("2026-01-29 00:00:00", date(2026, 1, 29)),
        (" 2/5/2026 ", date(2026, 2, 5)),
        ("01/01/1900", date(1900, 1, 1)),
        ("12/31/2100", date(2100, 12, 31)),
        ("", None),
    ],
)
def test_parse_date_accepts_us_and_iso(text, day):
    assert values.parse_date(text, "entry date") == day


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("02/30/2025", "entry date '02/30/2025' is not a real calendar date"),
        ("02/29/2025", "not a real calendar date"),
        ("13/01/2026", "not a real calendar date"),
        ("00/10/2026", "not a real calendar date"),
        ("1/29/26", "needs a 4-digit year"),
        ("45678", "not formatted as a date"),
        ("2026/01/29", "not a date in the form MM/DD/YYYY or YYYY-MM-DD"),
        ("29.01.2026", "not a date in the form"),
        ("2026-1-29", "not a date in the form"),
        ("2026-01-29 13:45:00", "not a date in the form"),
        ("Jan 29 2026", "not a date in the form"),
        ("12/31/1899", "out of range"),
        ("01/01/2101", "out of range"),
    ],
)
def test_parse_date_rejects_with_reason(text, reason):
    with pytest.raises(InvalidValue) as caught:
        values.parse_date(text, "entry date")

    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Open", "unliquidated"),
        ("Not Liquidated", "unliquidated"),
        ("not-liquidated", "unliquidated"),
        ("Unliquidated", "unliquidated"),
        ("Liquidated", "liquidated"),
        ("LIQUIDATED", "liquidated"),
        (" liquidated ", "liquidated"),
        ("Final", "liquidated"),
        ("Suspended", "suspended"),
        ("Extended", "extended"),
        ("Review", "under_review"),
        ("Under Review", "under_review"),
        ("UNDER  REVIEW", "under_review"),
        ("under_review", "under_review"),
        ("Reliquidated", "reliquidated"),
        ("Re-liquidated", "reliquidated"),
        ("Deemed Liquidated", "liquidated"),
        ("Deem Liquidated", "liquidated"),
        ("Pending", "pending"),
        ("Pending Liquidation", "pending"),
        ("PENDING  LIQUIDATION", "pending"),
        ("", None),
    ],
)
def test_parse_liquidation_status_normalizes_aliases(text, status):
    assert values.parse_liquidation_status(text) == status


@pytest.mark.parametrize("text", ["Pending Something", "Liquidated?", "closed", "=HYPERLINK(1)", "L"])
def test_parse_liquidation_status_rejects_unknown_text(text):
    with pytest.raises(InvalidValue, match="is not one we know"):
        values.parse_liquidation_status(text)


@pytest.mark.parametrize(
    ("text", "flag"),
    [("Y", True), ("yes", True), ("TRUE", True), ("1", True), ("N", False), ("No", False)]
    + [("false", False), ("0", False), ("", False), (" n ", False)],
)
def test_parse_flag_reads_y_and_n(text, flag):
    assert values.parse_flag(text, "drawback flag") is flag


@pytest.mark.parametrize("text", ["Maybe", "2", "X", "-"])
def test_parse_flag_rejects_other_text(text):
    with pytest.raises(InvalidValue, match="drawback flag .* should be Y or N"):
        values.parse_flag(text, "drawback flag")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("ABC12345676", "ABC12345676"),
        ("abc-1234567-6", "ABC12345676"),
        (" SP7-0000001-4 ", "SP700000014"),
        ("999-9999999-0", "99999999990"),
        ("31612345673", "31612345673"),
    ],
)
def test_parse_entry_number_accepts_plain_and_dashed(text, number):
    assert values.parse_entry_number(text) == number


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("RV814908845", "entry number RV814908845: check digit should be 4, file has 5"),
        ("ABC12345675", "check digit should be 6, file has 5"),
        ("3.16123E+10", EXCEL_MESSAGE),
        ("3.16123e+10", "was changed by Excel into a rounded number"),
        ("3E+10", "was changed by Excel into a rounded number"),
        ("1612345678", "has 10 characters without dashes; it needs 11 (if Excel dropped a leading zero"),
        ("ABC1234567", "has 10 characters without dashes; it needs 11"),
        ("ABC123456766", "has 12 characters"),
        ("AB_12345676", "has characters other than letters, digits and dashes"),
        ("ABC 1234567 6", "has characters other than letters"),
        ('=HYPERLINK("x")', "has characters other than letters"),
        ("ABCD2345676", "should be a 3-character filer code, a 7-digit serial and a check digit"),
        ("ABC１２３４５６７6", "has characters other than letters"),
        ("", "entry number is missing"),
    ],
)
def test_parse_entry_number_rejects_with_reason(text, reason):
    with pytest.raises(InvalidValue) as caught:
        values.parse_entry_number(text)

    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("parser", "text", "value"),
    [
        (values.parse_entry_type, "1", "01"),
        (values.parse_entry_type, "01", "01"),
        (values.parse_entry_type, "09", "09"),
        (values.parse_entry_type, "", None),
        (values.parse_hts, "9903.01.10", "99030110"),
        (values.parse_hts, "99030110", "99030110"),
        (values.parse_hts, "9903011 0", "99030110"),
        (values.parse_hts, "6404.19.3960", "6404193960"),
        (values.parse_hts, "", None),
        (values.parse_port, "2704", "2704"),
        (values.parse_port, "101", "0101"),
        (values.parse_country, "cn", "CN"),
        (values.parse_importer_number, " 19-528224900 ", "19-528224900"),
        (values.parse_importer_number, "123-45-6789A", "123-45-6789A"),
        (lambda t: values.parse_count(t, "line number"), "12", 12),
    ],
)
def test_code_parsers_normalize(parser, text, value):
    assert parser(text) == value


@pytest.mark.parametrize(
    ("parser", "text", "reason"),
    [
        (values.parse_entry_type, "123", "entry type '123' should be a 2-digit code"),
        (values.parse_entry_type, "A1", "should be a 2-digit code"),
        (values.parse_hts, "9903.01.1O", "should contain only digits and dots"),
        (values.parse_hts, "=SUM(A1)", "should contain only digits and dots"),
        (values.parse_hts, "101210010", "has 9 digits"),
        (
            values.parse_hts,
            "9.90301E+09",
            "HTS number 9.90301E+09 was changed by Excel into a rounded number",
        ),
        (values.parse_hts, "9903.01", "has 6 digits"),
        (values.parse_port, "27", "should be 4 digits"),
        (values.parse_port, "27040", "should be 4 digits"),
        (values.parse_country, "CHN", "should be a 2-letter code"),
        (
            values.parse_importer_number,
            "=cmd|' /C calc'!A0",
            "should contain only digits, letters and dashes",
        ),
        (values.parse_importer_number, "@SUM(1+1)", "should contain only digits"),
        (
            lambda t: values.parse_count(t, "line number"),
            "1.5",
            "line number '1.5' should be a whole number",
        ),
    ],
)
def test_code_parsers_reject_with_reason(parser, text, reason):
    with pytest.raises(InvalidValue) as caught:
        parser(text)

    assert reason in caught.value.reason


def test_show_shortens_and_flags_undecodable_text():
    assert show("x" * 100) == repr("x" * 39 + "…")
    assert "not valid text" in show("AB\ufffdC")
    assert show("a\nb\x00") == "'a b?'"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Entry Summary Number", "entry_number"),
        ("  ENTRY  SUMMARY  NUMBER ", "entry_number"),
        ("entry_summary_number", "entry_number"),
        ("Entry No.", "entry_number"),
        ("\ufeffEntry Number", "entry_number"),
        ("HTS Number - Full", "hts"),
        ("hts number full", "hts"),
        ("Tariff Number", "hts"),
        ("IOR Number", "importer_number"),
        ("Importer of Record Number", "importer_number"),
        ("Line Duty Amount", "duty"),
        ("Duty Amount", "duty"),
        ("Liquidation Status Description", "liquidation_status"),
        ("Entry Type", "entry_type"),
        ("Reconciliation Indicator", "reconciliation"),
        ("Reconciliation Flag", "reconciliation"),
        ("Protest Number", "protest"),
        ("Protest", "protest"),
    ],
)
def test_header_key_matches_aliases_ignoring_case_spaces_punctuation(header, field):
    assert columns._HEADER_KEYS[header_key(header)][0] == field


# ---- entries -------------------------------------------------------------------------------------------


def line(row_number, **changes):
    values = dict(
        row_number=row_number,
        entry_number="ABC12345676",
        line_number=1,
        ordinal=row_number,
        entry_type="01",
        importer_number="19-528224900",
        port="2704",
        entry_date=date(2025, 4, 10),
        entry_summary_date=date(2025, 4, 20),
        hts="99030125",
        goods_value=None,
        duty=Decimal("10.00"),
        country_of_origin="CN",
        liquidation_status="unliquidated",
        liquidation_date=None,
        drawback=False,
        protest=False,
        reconciliation=False,
    )
    values.update(changes)
    return Line(**values)


def test_build_entry_takes_entry_fields_from_agreeing_lines():
    entry = build_entry([line(3), line(2)], liquidation_known=True)

    assert entry.entry_number == "ABC12345676"
    assert [ln.row_number for ln in entry.lines] == [2, 3]
    assert entry.liquidation_status == "unliquidated"
    assert entry.drawback is False and entry.entry_type == "01"


def test_build_entry_unknown_liquidation_gives_none_status():
    entry = build_entry([line(2, liquidation_status=None)], liquidation_known=False)

    assert entry.liquidation_status is None and entry.liquidation_date is None


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"entry_date": date(2025, 4, 11)}, "Entry Date", "04/10/2025 (rows 2, 4); 04/11/2025 (row 3)"),
        (
            {"liquidation_status": "liquidated"},
            "Liquidation Status",
            "unliquidated (rows 2, 4); liquidated (row 3)",
        ),
        ({"importer_number": "34-370224800"}, "Importer Number", "19-528224900"),
        ({"entry_type": "02"}, "Entry Type Code", "01 (rows 2, 4); 02 (row 3)"),
        ({"protest": True}, "Protest", "N (rows 2, 4); Y (row 3)"),
        ({"port": None}, "Port of Entry Code", "(blank) (row 3)"),
    ],
)
def test_build_entry_rejects_every_row_when_rows_disagree(changes, column, words):
    result = build_entry([line(2), line(3, **changes), line(4)], liquidation_known=True)

    assert [e.row_number for e in result] == [2, 3, 4]
    assert all(e.column == column and words in e.reason for e in result)
    assert "the rows of this entry disagree on" in result[0].reason


def test_build_entry_rejects_duplicated_tariff_ordinal():
    result = build_entry([line(2, ordinal=1), line(9, ordinal=1)], liquidation_known=True)

    assert [e.row_number for e in result] == [2, 9]
    assert "line 1 tariff ordinal 1 appears more than once (rows 2, 9)" in result[0].reason


def test_group_entries_rejects_whole_entry_when_one_row_is_bad():
    other = "SP700000014"
    items = [
        line(2),
        line(3, entry_number=other),
        RowError(4, "ABC12345676", "Entry Date", "entry date '02/30/2025' is not a real calendar date"),
        line(5),
    ]

    entries, errors = group_entries(items, liquidation_known=True)

    assert [e.entry_number for e in entries] == [other]
    assert [(e.row_number, e.reason) for e in errors] == [
        (2, "entry rejected: row 4 has an error"),
        (4, "entry date '02/30/2025' is not a real calendar date"),
        (5, "entry rejected: row 4 has an error"),
    ]


def test_group_entries_imports_nothing_after_a_fatal_error():
    items = [line(2), RowError(3, "", "", "The file cannot be read past row 3: broken.", fatal=True)]

    entries, errors = group_entries(items, liquidation_known=True)

    assert entries == []
    assert errors[0].reason.startswith("nothing from this file was imported")
