"""Broken and unusual ES-003 files, built here: each must end in a clear message, never a crash."""

import datetime
import io
import struct
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from domain.entry_numbers import check_digit
from domain.es003.grouping import group_entries
from domain.es003.parsing import ACE_HEADER, FileRejected, Line, RowError, open_report

HEADER = list(ACE_HEADER.values())
FIELDS = list(ACE_HEADER)


def number(serial, filer="ABC"):
    first = f"{filer}{serial:07d}"
    return first + str(check_digit(first))


def row(serial=1, ordinal=1, **changes):
    values = {
        "entry_number": number(serial),
        "line_number": "1",
        "ordinal": str(ordinal),
        "entry_type": "01",
        "importer_number": "19-528224900",
        "port": "2704",
        "entry_date": "04/10/2025",
        "entry_summary_date": "04/20/2025",
        "hts": "9903.01.25",
        "goods_value": "100.00",
        "duty": "10.00",
        "country_of_origin": "CN",
        "liquidation_status": "Open",
        "liquidation_date": "",
        "drawback": "N",
        "protest": "N",
        "reconciliation": "N",
    }
    values.update(changes)
    return [values[field] for field in FIELDS]


def good_rows(entries=3, per_entry=2):
    return [row(serial, ordinal) for serial in range(1, entries + 1) for ordinal in range(1, per_entry + 1)]


def quote(cell):
    cell = str(cell)
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_text(rows, header=HEADER, above=(), delimiter=","):
    lines = [*above, delimiter.join(quote(c) for c in header)]
    lines += [delimiter.join(quote(c) for c in r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def write(tmp_path, data, name="report.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def read_all(source, **kwargs):
    with open_report(source, **kwargs) as report:
        items = list(report.rows())
    entries, errors = group_entries(
        items, liquidation_known=report.has_liquidation_columns, column_names=report.column_names
    )
    return report, items, entries, errors


def rejection(source):
    with pytest.raises(FileRejected) as caught:
        open_report(source)
    return str(caught.value)


def entry_numbers(entries):
    return [e.entry_number for e in entries]


def xlsx_bytes(rows, header=HEADER, sheets=None):
    workbook = openpyxl.Workbook()
    workbook.active.title = "ES-003"
    for title, sheet_rows in (sheets or {}).items():
        sheet = workbook.create_sheet(title)
        for r in sheet_rows:
            sheet.append(r)
    if header is not None:
        workbook["ES-003"].append(header)
    for r in rows:
        workbook["ES-003"].append(r)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rezip(data, replace):
    """The workbook with some members' bytes replaced (a crafted part, as an attacker would)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
    return out.getvalue()


# ---- encodings -----------------------------------------------------------------------------------------


def test_csv_cp1252_is_read(tmp_path):
    text = csv_text([[*r, "Café Olé"] for r in good_rows()], header=[*HEADER, "Descripción"])
    path = write(tmp_path, text, encoding="cp1252")

    report, _, entries, errors = read_all(path)

    assert report.encoding == "cp1252"
    assert report.headers_found[-1] == "Descripción"
    assert (len(entries), errors) == (3, [])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_csv_unicode_encodings_are_read(tmp_path, encoding):
    path = write(tmp_path, csv_text(good_rows()), encoding=encoding)

    report, _, entries, errors = read_all(path)

    assert report.headers_found[0] == "Entry Summary Number"
    assert (len(entries), errors) == (3, [])


def test_csv_invalid_utf8_mid_file_rejects_only_that_entry(tmp_path):
    rows = good_rows(entries=400, per_entry=2)  # well past the 64 KB the encoding is guessed from
    text = csv_text(rows).encode("utf-8")
    bad = number(400).encode()
    text = text.replace(bad, b"AB\xffC" + bad[4:])
    path = write(tmp_path, text + ",".join(row(401, 2, country_of_origin="CN")).encode() + b"\r\n")

    report, _, entries, errors = read_all(path)

    assert report.encoding == "utf-8"
    assert len(entries) == 400 and number(400) not in entry_numbers(entries)
    assert {e.row_number for e in errors} == {800, 801}
    assert "not valid text in its encoding" in errors[0].reason


# ---- structure -----------------------------------------------------------------------------------------


def test_csv_truncated_mid_row_rejects_that_entry_only(tmp_path):
    text = csv_text(good_rows())
    path = write(tmp_path, text[: text.rindex("04/20/2025") + 4])

    _, items, entries, errors = read_all(path)

    assert entry_numbers(entries) == [number(1), number(2)]
    assert errors[0].row_number == 6 and errors[0].reason == "entry rejected: row 7 has an error"
    assert errors[1].reason.startswith("row has 8 cells, header has 17 (the row is incomplete")


def test_csv_cut_at_a_cell_boundary_is_still_an_incomplete_row(tmp_path):
    text = csv_text(good_rows())
    path = write(tmp_path, text[: text.rindex(",CN,")])

    _, _, entries, errors = read_all(path)

    assert len(entries) == 2
    assert errors[-1].row_number == 7 and errors[-1].reason.startswith("row has 11 cells, header has 17")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("Entry Summary Number", "'Entry Summary Number' appears 2 times (columns A, R)"),
        ("LINE TARIFF DUTY AMOUNT", "'Line Tariff Duty Amount' appears 2 times (columns K, R)"),
        ("Liquidation  Status", "'Liquidation Status' appears 2 times"),
    ],
)
def test_csv_duplicated_header_rejects_file(tmp_path, extra, words):
    path = write(tmp_path, csv_text([[*r, "x"] for r in good_rows()], header=[*HEADER, extra]))

    assert words in rejection(path)


def test_csv_two_aliases_of_one_field_use_the_ace_header_and_warn(tmp_path):
    path = write(tmp_path, csv_text([[*r, "999.99"] for r in good_rows()], header=[*HEADER, "Duty Amount"]))

    report, items, _, _ = read_all(path)

    assert {item.duty for item in items} == {Decimal("10.00")}
    assert "Both 'Line Tariff Duty Amount' and 'Duty Amount' are present" in report.warnings[0]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("entry_number", '=HYPERLINK("http://x","ABC12345676")', "has characters other than letters"),
        ("importer_number", "=cmd|' /C calc'!A0", "importer number"),
        ("liquidation_status", "@SUM(A1)", "is not one we know"),
        ("duty", "+1+2", "duty amount '+1+2' is not a number"),
        ("hts", "=9903", "should contain only digits and dots"),
        ("country_of_origin", "-CN", "should be a 2-letter code"),
    ],
)
def test_csv_formula_like_cells_are_data_and_rejected(tmp_path, field, value, words):
    rows = good_rows()
    rows[2] = row(2, 1, **{field: value})
    path = write(tmp_path, csv_text(rows))

    _, _, entries, errors = read_all(path)

    assert [e.row_number for e in errors if words in e.reason] == [4]
    assert number(1) in entry_numbers(entries) and number(3) in entry_numbers(entries)


def test_csv_formula_in_an_unknown_column_is_ignored(tmp_path):
    path = write(tmp_path, csv_text([[*r, "=1+1"] for r in good_rows()], header=[*HEADER, "Notes"]))

    _, _, entries, errors = read_all(path)

    assert (len(entries), errors) == (3, [])


def test_csv_row_with_10000_cells_is_rejected(tmp_path):
    rows = good_rows()
    rows[0] = rows[0] + ["x"] * (10_000 - len(HEADER))
    path = write(tmp_path, csv_text(rows))

    _, _, entries, errors = read_all(path)

    assert errors[0].row_number == 2
    assert errors[0].reason.startswith(
        "row has 10000 cells, header has 17 (a value probably contains a comma"
    )
    assert entry_numbers(entries) == [number(2), number(3)]


def test_csv_row_with_trailing_empty_cells_is_read(tmp_path):
    path = write(tmp_path, csv_text([[*r, "", ""] for r in good_rows()]))

    _, _, entries, errors = read_all(path)

    assert (len(entries), errors) == (3, [])


def test_csv_header_with_10000_columns_is_read(tmp_path):
    extra = [f"Extra {i}" for i in range(10_000 - len(HEADER))]
    path = write(
        tmp_path, csv_text([[*r, *(["v"] * len(extra))] for r in good_rows()], header=[*HEADER, *extra])
    )

    report, _, entries, errors = read_all(path)

    assert len(report.headers_found) == 10_000
    assert (len(entries), errors) == (3, [])


@pytest.mark.parametrize(
    ("duty", "words"),
    [
        ("1" * 20, "too large (more than 15 digits"),
        ("9" * 400 + ".00", "too large"),
        ("1e308", "is not a number"),
    ],
)
def test_csv_huge_number_is_rejected(tmp_path, duty, words):
    rows = good_rows()
    rows[0] = row(1, 1, duty=duty)
    path = write(tmp_path, csv_text(rows))

    _, _, entries, errors = read_all(path)

    assert words in errors[0].reason and errors[0].column == "Line Tariff Duty Amount"
    assert len(entries) == 2


def test_csv_negative_and_parenthesized_money_is_read(tmp_path):
    rows = [row(1, 1, duty="(12.00)", goods_value="-$1,000.50"), row(1, 2, duty="-0.01", goods_value="")]
    path = write(tmp_path, csv_text(rows))

    _, items, entries, _ = read_all(path)

    assert [(i.duty, i.goods_value) for i in items] == [
        (Decimal("-12.00"), Decimal("-1000.50")),
        (Decimal("-0.01"), None),
    ]
    assert len(entries) == 1


def test_csv_header_only_has_no_rows(tmp_path):
    report, items, entries, errors = read_all(write(tmp_path, csv_text([])))

    assert (items, entries, errors) == ([], [], [])
    assert report.complete


def test_csv_title_lines_above_header_are_skipped(tmp_path):
    above = ["Entry Summary Line Tariff Details (ES-003)", "Filter: Importer = 19-528224900,,", ""]
    path = write(tmp_path, csv_text(good_rows(1), above=above))

    report, items, _, errors = read_all(path)

    assert report.header_row_number == 4
    assert [i.row_number for i in items] == [5, 6] and errors == []


def test_csv_header_on_line_20_is_found(tmp_path):
    path = write(tmp_path, csv_text(good_rows(1), above=[f"title {i}" for i in range(19)]))

    report, items, _, _ = read_all(path)

    assert report.header_row_number == 20 and len(items) == 2


def test_csv_header_beyond_line_20_is_rejected(tmp_path):
    path = write(tmp_path, csv_text(good_rows(1), above=[f"title {i}" for i in range(20)]))

    assert "none of its first 20 lines is an ES-003 header row" in rejection(path)


def test_csv_quoted_newlines_keep_excel_row_numbers(tmp_path):
    rows = [
        [*r, note] for r, note in zip(good_rows(1), ["first line\nsecond line\nthird", "plain"], strict=True)
    ]
    path = write(tmp_path, csv_text(rows, header=[*HEADER, "Notes"]))

    _, items, entries, _ = read_all(path)

    assert [i.row_number for i in items] == [2, 3] and len(entries) == 1


def test_csv_newline_inside_a_used_cell_rejects_the_row(tmp_path):
    rows = good_rows()
    rows[0] = row(1, 1, duty="10.00\n20.00")
    _, _, entries, errors = read_all(write(tmp_path, csv_text(rows)))

    assert errors[0].row_number == 2 and "duty amount '10.00 20.00' is not a number" in errors[0].reason
    assert len(entries) == 2


def test_csv_unclosed_quote_stops_with_fatal_error(tmp_path):
    rows = good_rows(entries=50)
    rows[4] = row(3, 1, country_of_origin='"CN')  # inside the 20 rows searched for the header
    path = write(tmp_path, csv_text(rows).replace('"""CN"', '"CN'))

    report, items, entries, errors = read_all(path)

    assert not report.complete and items[-1].fatal
    assert 'a quote mark (") in it is probably never closed' in items[-1].reason
    assert entries == [] and errors[0].reason.startswith("nothing from this file was imported")


def test_csv_cell_over_field_limit_stops_with_fatal_error(tmp_path):
    rows = good_rows(entries=20)
    rows[30] = row(16, 1, country_of_origin="C" * 200_000)
    report, items, entries, _ = read_all(
        write(tmp_path, csv_text(rows).replace("C" * 200_000, '"' + "C" * 200_000))
    )

    assert not report.complete and "usually a quote mark" in items[-1].reason and entries == []


def test_csv_line_longer_than_1mb_stops_with_fatal_error(tmp_path):
    rows = good_rows(entries=20)
    rows[30] = [*rows[30][:-1], "N" * (1024 * 1024 + 10)]
    report, items, entries, _ = read_all(write(tmp_path, csv_text(rows)))

    assert not report.complete
    assert items[-1].fatal and "longer than 1 MB" in items[-1].reason
    assert entries == []


def test_csv_first_line_longer_than_1mb_rejects_file(tmp_path):
    path = write(tmp_path, "x" * (1024 * 1024 + 5) + "\r\n" + csv_text(good_rows()))

    assert "longer than 1 MB" in rejection(path)


def test_csv_nul_bytes_are_rejected(tmp_path):
    path = write(tmp_path, b"Entry\x00Summary\x00\x00\x01\x02\x00Number,Duty\x00\r\n" * 20)

    assert "not a readable CSV or Excel (.xlsx) report" in rejection(path)


def test_csv_nul_byte_after_the_sniffed_start_rejects_that_row(tmp_path):
    rows = good_rows(entries=400)
    rows[700] = row(351, 1, entry_number="ABC\x0012345")
    _, _, entries, errors = read_all(write(tmp_path, csv_text(rows)))

    # A row whose entry number cannot be read cannot be tied to its entry: it is reported on its own.
    assert [(e.row_number, e.entry_number) for e in errors] == [(702, "ABC\x0012345")]
    assert "'ABC?12345' has characters other than letters" in errors[0].reason
    assert len(entries) == 400


def test_csv_whitespace_only_is_rejected(tmp_path):
    assert "The file has no data" in rejection(write(tmp_path, "  \r\n\t\r\n   ,  ,\r\n"))


def test_csv_with_no_header_at_all_is_rejected(tmp_path):
    path = write(tmp_path, "\r\n".join(",".join(r) for r in good_rows()))

    assert "not a readable CSV or Excel (.xlsx) report" in rejection(path)


def test_csv_short_row_is_rejected_with_cell_counts(tmp_path):
    rows = good_rows()
    rows[3] = rows[3][:12]
    _, _, entries, errors = read_all(write(tmp_path, csv_text(rows)))

    assert errors[-1].row_number == 5 and errors[-1].entry_number == number(2)
    assert errors[-1].reason.startswith("row has 12 cells, header has 17")
    assert entry_numbers(entries) == [number(1), number(3)]


def test_csv_blank_rows_are_skipped_and_row_numbers_kept(tmp_path):
    rows = good_rows(1)
    rows.insert(1, [""] * 17)
    rows.insert(1, ["  "] * 3)
    _, items, entries, errors = read_all(write(tmp_path, csv_text(rows).replace("\r\n\r\n", "\r\n\r\n\r\n")))

    assert [i.row_number for i in items] == [2, 5] and errors == [] and len(entries) == 1


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"entry_date": "04/11/2025"}, "Entry Date", "04/10/2025 (row 2); 04/11/2025 (row 3)"),
        ({"liquidation_status": "Extended"}, "Liquidation Status", "unliquidated (row 2); extended (row 3)"),
        (
            {"importer_number": "34-370224800"},
            "Importer Number",
            "19-528224900 (row 2); 34-370224800 (row 3)",
        ),
        ({"reconciliation": "Y"}, "Reconciliation Flag", "N (row 2); Y (row 3)"),
    ],
)
def test_csv_rows_of_one_entry_that_disagree_reject_the_entry(tmp_path, changes, column, words):
    rows = [row(1, 1), row(1, 2, **changes), row(2, 1)]
    _, _, entries, errors = read_all(write(tmp_path, csv_text(rows)))

    assert entry_numbers(entries) == [number(2)]
    assert [(e.row_number, e.column) for e in errors] == [(2, column), (3, column)]
    assert words in errors[0].reason


def test_csv_duplicated_row_rejects_the_entry(tmp_path):
    rows = good_rows()
    rows.append(rows[0])
    _, _, entries, errors = read_all(write(tmp_path, csv_text(rows)))

    assert "line 1 tariff ordinal 1 appears more than once (rows 2, 8)" in errors[0].reason
    assert len(entries) == 2


@pytest.mark.parametrize(
    ("status", "date_text", "column", "words"),
    [
        ("Liquidated", "", "Liquidation Date", "liquidation status 'Liquidated' needs a liquidation date"),
        ("Reliquidated", " ", "Liquidation Date", "needs a liquidation date"),
        (
            "",
            "05/26/2026",
            "Liquidation Status",
            "liquidation status is blank but the liquidation date is 05/26/2026",
        ),
        (
            "Liquidated",
            "05/32/2026",
            "Liquidation Date",
            "liquidation date '05/32/2026' is not a real calendar date",
        ),
    ],
)
def test_csv_inconsistent_liquidation_cells_reject_the_entry(tmp_path, status, date_text, column, words):
    rows = [row(1, 1), row(1, 2), row(2, 1)]
    rows[1] = row(1, 2, liquidation_status=status, liquidation_date=date_text)
    _, _, entries, errors = read_all(write(tmp_path, csv_text(rows)))

    bad = next(e for e in errors if e.row_number == 3)
    assert bad.column == column and words in bad.reason
    assert entry_numbers(entries) == [number(2)]


@pytest.mark.parametrize(
    ("status", "date_text", "expected"),
    [
        ("Open", "", "unliquidated"),
        ("Not Liquidated", "", "unliquidated"),
        ("", "", "unliquidated"),
        ("Liquidated", "05/26/2026", "liquidated"),
        ("Final", "2026-05-26", "liquidated"),
        ("Suspended", "", "suspended"),
        ("Extended", "", "extended"),
        ("Review", "", "under_review"),
        ("Under Review", "", "under_review"),
        ("Reliquidated", "9/3/2026", "reliquidated"),
    ],
)
def test_csv_each_status_alias_is_read(tmp_path, status, date_text, expected):
    path = write(tmp_path, csv_text([row(1, 1, liquidation_status=status, liquidation_date=date_text)]))

    _, _, entries, errors = read_all(path)

    assert errors == [] and entries[0].liquidation_status == expected


def test_csv_without_liquidation_columns_warns_and_leaves_status_unknown(tmp_path):
    keep = [i for i, f in enumerate(FIELDS) if f not in ("liquidation_status", "liquidation_date")]
    rows = [[r[i] for i in keep] for r in good_rows()]
    path = write(tmp_path, csv_text(rows, header=[HEADER[i] for i in keep]))

    report, items, entries, errors = read_all(path)

    assert not report.has_liquidation_columns and errors == []
    assert "no Liquidation Status and Liquidation Date column" in report.warnings[0]
    assert "add the fields Liquidation Status and Liquidation Date" in report.warnings[0]
    assert {i.liquidation_status for i in items} == {None}
    assert {e.liquidation_status for e in entries} == {None}


def test_csv_with_only_liquidation_status_warns_about_the_date(tmp_path):
    keep = [i for i, f in enumerate(FIELDS) if f != "liquidation_date"]
    rows = [[r[i] for i in keep] for r in good_rows()]
    report, items, _, _ = read_all(write(tmp_path, csv_text(rows, header=[HEADER[i] for i in keep])))

    assert not report.has_liquidation_columns
    assert "no Liquidation Date column" in report.warnings[0]
    assert {i.liquidation_status for i in items} == {None}


def test_csv_with_only_required_columns_is_read(tmp_path):
    path = write(tmp_path, f"Entry No,Duty Amount,Entry Summary Date\r\n{number(1)},5.00,01/02/2026\r\n")

    _, items, entries, _ = read_all(path)

    assert items[0].entry_date is None and items[0].entry_summary_date == datetime.date(2026, 1, 2)
    assert items[0].drawback is None and entries[0].drawback is False


def test_csv_row_without_any_entry_date_is_rejected(tmp_path):
    rows = good_rows()
    rows[0] = row(1, 1, entry_date="", entry_summary_date="")
    _, _, _, errors = read_all(write(tmp_path, csv_text(rows)))

    assert (
        errors[0].column == "Entry Date"
        and "entry date and entry summary date are both empty" in errors[0].reason
    )


@pytest.mark.parametrize(("text", "entry_type"), [("1", "01"), ("01", "01"), ("9", "09"), ("31", "31")])
def test_csv_entry_type_is_two_digits(tmp_path, text, entry_type):
    _, items, _, _ = read_all(write(tmp_path, csv_text([row(1, 1, entry_type=text)])))

    assert items[0].entry_type == entry_type


def test_csv_entry_type_of_three_digits_is_rejected(tmp_path):
    _, items, _, _ = read_all(write(tmp_path, csv_text([row(1, 1, entry_type="101")])))

    assert items[0].reason == "entry type '101' should be a 2-digit code such as 01"


def test_csv_hts_with_and_without_dots_is_the_same(tmp_path):
    rows = [row(1, 1, hts="9903.01.25"), row(1, 2, hts="99030125"), row(1, 3, hts="6404.19.3960")]
    _, items, _, _ = read_all(write(tmp_path, csv_text(rows)))

    assert [i.hts for i in items] == ["99030125", "99030125", "6404193960"]


def test_csv_ddmm_date_is_rejected_not_guessed(tmp_path):
    rows = good_rows()
    rows[0] = row(1, 1, entry_date="29/01/2026")
    _, _, _, errors = read_all(write(tmp_path, csv_text(rows)))

    assert "entry date '29/01/2026' is not a real calendar date" in errors[0].reason


def test_csv_several_problems_in_one_row_are_all_named(tmp_path):
    rows = good_rows()
    rows[0] = row(1, 1, duty="abc", protest="maybe", port="27")
    _, _, _, errors = read_all(write(tmp_path, csv_text(rows)))

    assert errors[0].column == "Port of Entry Code"
    assert "port of entry code '27'" in errors[0].reason and "duty amount 'abc'" in errors[0].reason
    assert "protest flag 'maybe' should be Y or N" in errors[0].reason


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_semicolon_and_tab_delimiters_are_read(tmp_path, delimiter):
    path = write(tmp_path, csv_text(good_rows(), delimiter=delimiter))

    _, _, entries, errors = read_all(path)

    assert (len(entries), errors) == (3, [])


# ---- files that are not CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "This is a PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "old-format Excel file (.xls)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a readable CSV or Excel"),
        (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "not a readable CSV or Excel"),
        (bytes(range(1, 32)) * 40, "not a readable CSV or Excel"),
    ],
)
def test_binary_files_are_rejected(tmp_path, data, words):
    assert words in rejection(write(tmp_path, data))


def test_missing_path_is_rejected_not_raised(tmp_path):
    assert "could not be read" in rejection(tmp_path / "nowhere.csv")


def test_xlsx_content_named_csv_is_read_as_xlsx(tmp_path):
    path = write(tmp_path, xlsx_bytes(good_rows()), name="report.csv")

    report, _, entries, _ = read_all(path)

    assert report.format == "xlsx" and len(entries) == 3


def test_csv_content_named_xlsx_is_read_as_csv(tmp_path):
    path = write(tmp_path, csv_text(good_rows()), name="report.xlsx")

    report, _, entries, _ = read_all(path)

    assert report.format == "csv" and len(entries) == 3


def test_zip_that_is_not_a_workbook_is_rejected(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")

    assert "ZIP archive but not an Excel workbook" in rejection(write(tmp_path, out.getvalue(), "r.xlsx"))


def test_zip_bomb_disguised_as_xlsx_is_rejected(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(300 * 1024 * 1024))

    assert len(out.getvalue()) < 1024 * 1024
    message = rejection(write(tmp_path, out.getvalue(), "report.xlsx"))
    assert "unpacks to far more data than its size suggests (xl/worksheets/sheet1.xml" in message


def test_zip_declaring_more_than_2gb_is_rejected(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    data = bytearray(out.getvalue())
    directory = data.index(b"PK\x01\x02")
    data[directory + 24 : directory + 28] = struct.pack("<I", 3 * 1024**3)  # declared uncompressed size

    assert "unpacks to 3.0 GB, more than the 2 GB" in rejection(write(tmp_path, bytes(data), "report.xlsx"))


@pytest.mark.parametrize(
    "prolog",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        '<?xml version="1.0"?>\n<!-- a comment -->\n<!DOCTYPE x SYSTEM "file:///etc/passwd">',
        "\ufeff<!ENTITY x 'y'>",
    ],
)
def test_xlsx_with_doctype_or_entity_is_rejected(tmp_path, prolog):
    data = xlsx_bytes(good_rows())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    sheet = prolog + sheet[sheet.index("<worksheet") :]
    path = write(tmp_path, rezip(data, {"xl/worksheets/sheet1.xml": sheet.encode()}), "report.xlsx")

    assert "document type declaration" in rejection(path)


def test_xlsx_truncated_is_rejected(tmp_path):
    data = xlsx_bytes(good_rows())

    assert "damaged" in rejection(write(tmp_path, data[: len(data) // 2], "report.xlsx"))


def test_xlsx_with_a_broken_sheet_is_rejected(tmp_path):
    data = rezip(xlsx_bytes(good_rows()), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row"})

    assert "damaged" in rejection(write(tmp_path, data, "report.xlsx"))


def test_xlsx_header_on_second_sheet_below_title_rows_is_found(tmp_path):
    sheets = {"Data": [["Entry Summary Line Tariff Details"], [], HEADER, *good_rows()]}
    data = xlsx_bytes([], header=["Cover page"], sheets=sheets)

    report, items, entries, _ = read_all(write(tmp_path, data, "report.xlsx"))

    assert report.sheet == "Data" and report.header_row_number == 3
    assert items[0].row_number == 4 and len(entries) == 3


def test_xlsx_missing_duty_column_lists_headers_and_sheet(tmp_path):
    header = [h for h in HEADER if h != "Line Tariff Duty Amount"]
    message = rejection(write(tmp_path, xlsx_bytes([], header=header), "report.xlsx"))

    assert "no Line Tariff Duty Amount" in message and "row 1 of sheet 'ES-003'" in message
    assert "Entry Summary Number, Entry Summary Line Number, Tariff Ordinal Number" in message


def test_xlsx_typed_cells_are_read(tmp_path):
    typed = row(1, 1)
    typed[FIELDS.index("entry_number")] = 31612345673
    typed[FIELDS.index("entry_date")] = datetime.datetime(2025, 4, 10)
    typed[FIELDS.index("entry_summary_date")] = datetime.date(2025, 4, 20)
    typed[FIELDS.index("duty")] = 0.1 + 0.2
    typed[FIELDS.index("goods_value")] = 1234
    typed[FIELDS.index("line_number")] = 3
    typed[FIELDS.index("ordinal")] = 2.0
    typed[FIELDS.index("entry_type")] = 1
    typed[FIELDS.index("port")] = 2704
    typed[FIELDS.index("hts")] = 99030125
    typed[FIELDS.index("drawback")] = True
    typed[FIELDS.index("liquidation_status")] = None

    _, items, _, _ = read_all(write(tmp_path, xlsx_bytes([typed]), "report.xlsx"))

    line = items[0]
    assert isinstance(line, Line), line
    assert (line.entry_number, line.entry_date, line.entry_summary_date) == (
        "31612345673",
        datetime.date(2025, 4, 10),
        datetime.date(2025, 4, 20),
    )
    assert (line.duty, line.goods_value) == (Decimal("0.30"), Decimal("1234"))
    assert (line.line_number, line.ordinal, line.entry_type, line.port, line.hts) == (
        3,
        2,
        "01",
        "2704",
        "99030125",
    )
    assert line.drawback is True and line.liquidation_status == "unliquidated"


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        (3.16123e10, "entry number 3.16123E+10 was changed by Excel into a rounded number"),
        (31612300000, "entry number 3.16123E+10 was changed by Excel into a rounded number"),
        (
            1612345678,
            "'1612345678' has 10 characters without dashes; it needs 11 (if Excel dropped a leading",
        ),
        (31612345678.5, "was changed by Excel into a rounded number"),
        (31612345670, "check digit should be 3, file has 0"),
    ],
)
def test_xlsx_entry_numbers_changed_by_excel_are_rejected(tmp_path, cell, words):
    bad = row(1, 1)
    bad[0] = cell
    _, _, entries, errors = read_all(write(tmp_path, xlsx_bytes([bad, row(2, 1)]), "report.xlsx"))

    assert words in errors[0].reason and errors[0].row_number == 2
    assert entry_numbers(entries) == [number(2)]


@pytest.mark.parametrize(
    ("field", "cell", "words"),
    [
        ("entry_date", 45678, "entry date '45678' is not a date in the form MM/DD/YYYY or YYYY-MM-DD (Excel"),
        ("duty", 12.345, "duty amount '12.345' has fractions of a cent"),
        ("duty", 1e20, "too large"),
        ("duty", True, "duty amount 'True' is not a number"),
        ("drawback", 2, "drawback flag '2' should be Y or N"),
        ("line_number", 1.5, "line number '1.5' should be a whole number"),
    ],
)
def test_xlsx_bad_typed_cells_are_rejected(tmp_path, field, cell, words):
    bad = row(1, 1)
    bad[FIELDS.index(field)] = cell
    _, items, _, _ = read_all(write(tmp_path, xlsx_bytes([bad]), "report.xlsx"))

    assert isinstance(items[0], RowError) and words in items[0].reason


def test_xlsx_blank_rows_keep_row_numbers(tmp_path):
    rows = good_rows(1)
    data = xlsx_bytes([rows[0], [], [None, None], rows[1]])

    _, items, entries, _ = read_all(write(tmp_path, data, "report.xlsx"))

    assert [i.row_number for i in items] == [2, 5] and len(entries) == 1


# ---- sources and progress ------------------------------------------------------------------------------


class Pipe:
    """A stream that can only be read, like a network body."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def read(self, size=-1):
        return self._data.read(size)


def test_stream_without_seek_is_read():
    _, _, entries, _ = read_all(Pipe(csv_text(good_rows()).encode()))

    assert len(entries) == 3


def test_bytesio_source_is_left_open_after_close():
    source = io.BytesIO(csv_text(good_rows()).encode())

    report, _, entries, _ = read_all(source)

    assert len(entries) == 3 and not source.closed
    assert report.bytes_read == report.total_bytes == len(source.getvalue())


def test_progress_figures_grow_while_reading(tmp_path):
    path = write(tmp_path, csv_text(good_rows(entries=3000)))
    with open_report(path) as report:
        rows = report.rows()
        for _ in range(10):
            next(rows)
        assert report.rows_read == 10 and 0 < report.bytes_read <= report.total_bytes
        assert report.rows_total_estimate > 10
        for _ in rows:
            pass
        assert report.rows_read == 6000 and report.complete


def test_rows_can_only_be_read_once(tmp_path):
    with open_report(write(tmp_path, csv_text(good_rows()))) as report:
        list(report.rows())
        with pytest.raises(RuntimeError):
            report.rows()


def test_rejected_file_leaves_the_callers_stream_open():
    source = io.BytesIO(csv_text(good_rows(), header=[*HEADER, "Entry Date"]).encode())

    with pytest.raises(FileRejected, match="'Entry Date' appears 2 times"):
        open_report(source)
    assert not source.closed


def test_parsing_module_does_not_import_django():
    code = "import sys, domain.es003.parsing; sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=False)

    assert done.returncode == 0
