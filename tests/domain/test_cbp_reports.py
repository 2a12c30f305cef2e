"""The tolerant reader of CBP's results, ES-022, REV-603 and REV-613 files (pure, no database)."""

import io
from datetime import date, datetime

import openpyxl
import pytest

from domain.cbp_reports import BadRow, FileRejected, Row, open_cbp_report
from domain.entry_numbers import check_digit


def number(index: int) -> str:
    first_ten = f"ABC{index:07d}"
    return f"{first_ten}{check_digit(first_ten)}"


N1, N2 = number(1), number(2)


def read(content: bytes, kind: str) -> list:
    with open_cbp_report(io.BytesIO(content), kind=kind) as reader:
        return list(reader.rows())


def test_results_with_bom_title_lines_and_messy_headers():
    content = (
        "\ufeffCAPE Declaration Validation Results\r\nRun 12/01/2026\r\n\r\n"
        "  CAPE  CLAIM NO ,entry-number,Validation Status,Rejection Reason Description\r\n"
        f"cape-1,{N1[:3]}-{N1[3:10]}-{N1[10]},Accepted,\r\n"
        f'CAPE-1,{N2},REJECTED,"Entry under protest, see 19 USC 1514"\r\n'
        ",,,\r\n"
    ).encode()

    rows = read(content, "results")

    assert rows == [
        Row(5, N1, "CAPE-1", result="accepted"),
        Row(6, N2, "CAPE-1", result="rejected", reason="Entry under protest, see 19 USC 1514"),
    ]


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        (["1234", "Accepted"], "needs 11"),
        ([number(3)[:10] + str((int(number(3)[10]) + 1) % 10), "Accepted"], "check digit"),
        (["3.16123E+10", "Accepted"], "Excel"),
        ([N1, "Maybe"], "not one we know"),
    ],
)
def test_bad_rows_say_why(cells, problem):
    content = ("Entry Number,Status\r\n" + ",".join(cells) + "\r\n").encode()

    (bad,) = read(content, "results")

    assert isinstance(bad, BadRow) and bad.row_number == 2
    assert problem in bad.reason


def test_es022_money_dates_and_a_tab_separated_file_in_windows_1252():
    content = (
        "Claim Number\tEntry Number\tPrincipal\tInterest\tPayment Date\r\n"
        f"C-9\t{N1}\t$1,234.56\t(0.50)\t12/10/2026\r\n"
        f"C-9\t{N2}\t10\t\t\r\n"
        f"C-9\t{N2}\tten\t1\t\r\n"
        f"C-9\t{N2}\t\t1\t\r\n"
        "Total\t\u00e9\t\t\t\r\n"
    ).encode("cp1252")

    rows = read(content, "es022")

    assert rows[0] == Row(
        2, N1, "C-9", principal_cents=123456, interest_cents=-50, on_date=date(2026, 12, 10)
    )
    assert rows[1] == Row(3, N2, "C-9", principal_cents=1000, interest_cents=0)
    assert [type(r) for r in rows[2:]] == [BadRow, BadRow, BadRow]
    assert "not a number" in rows[2].reason and "missing" in rows[3].reason


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Sent", "sent"),
        ("SENT TO TREASURY", "sent"),
        ("Issued", "issued"),
        ("Paid", "issued"),
        ("Funds Diverted", "diverted"),
        ("Treasury Offset", "diverted"),
        ("ACH Returned", "ach_returned"),
        ("ach-return", "ach_returned"),
    ],
)
def test_rev603_status_words(text, status):
    (row,) = read(f"Entry Number;Refund Status;Status Date\r\n{N1};{text};2026-12-01\r\n".encode(), "rev603")
    assert (row.refund_status, row.on_date) == (status, date(2026, 12, 1))


def test_rev613_rows_are_ach_returns():
    (row,) = read(f"Entry Number,Return Reason\r\n{N1},R01 Insufficient funds\r\n".encode(), "rev613")
    assert (row.refund_status, row.reason, row.claim_number) == ("ach_returned", "R01 Insufficient funds", "")


def test_xlsx_with_numbers_and_dates_as_excel_stores_them():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ES-022 CAPE refunds"])
    sheet.append([])
    sheet.append(["Claim Number", "Entry Number", "Principal Amount", "Interest Amount", "Refund Date"])
    sheet.append(["C-1", N1, 1234.56, 7, datetime(2026, 12, 10)])
    sheet.append(["C-1", 31612300000, 1, 1, None])
    buffer = io.BytesIO()
    book.save(buffer)

    first, second = read(buffer.getvalue(), "es022")

    assert first == Row(4, N1, "C-1", principal_cents=123456, interest_cents=700, on_date=date(2026, 12, 10))
    assert isinstance(second, BadRow) and "Excel" in second.reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"Entry Number,Interest\r\nX,1\r\n", "'Principal Amount'"),
        (b"\x00\x01\x02garbage", "not a CSV"),
        (b"PK\x03\x04broken", "damaged"),
    ],
)
def test_whole_file_rejections(content, message):
    with pytest.raises(FileRejected, match=message):
        open_cbp_report(io.BytesIO(content), kind="es022")
