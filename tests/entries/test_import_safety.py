"""Imports never lose data silently: fewer lines of an entry, empty reports, all rows rejected, batches.

The reports are written here, row by row, so each test shows exactly what the file holds.
"""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_scopes import scope

from domain.entry_numbers import check_digit
from entries.ingestion.services import report_import, report_upload
from entries.models import Entry, EntryHistory, EntryReport
from tests.entries.helpers import AS_OF
from tests.factories import ClientFactory, importer_number, member

IOR = "27-418305200"
HEADER = (
    "Entry Summary Number,Entry Type Code,Importer Number,Port of Entry Code,Entry Date,Entry Summary Date,"
    "Entry Summary Line Number,Tariff Ordinal Number,HTS Number - Full,Line Tariff Goods Value Amount,"
    "Line Tariff Duty Amount,Country of Origin Code,Liquidation Status,Liquidation Date"
)


def _number(serial: int) -> str:
    first_ten = f"EJ4{serial:07d}"
    return first_ten + str(check_digit(first_ten))


BIG, SMALL = _number(1234567), _number(7654321)


def _rows(number: str, lines: int, *, duty: str = "100.00", first_line: int = 1) -> list[str]:
    """An entry with `lines` summary lines, each a commodity row and an IEEPA row (2 rows a line)."""
    rows = []
    for line in range(first_line, first_line + lines):
        facts = f"{number},01,{IOR},2704,03/10/2025,03/12/2025,{line}"
        rows.append(f"{facts},1,8471.30.0100,5000.00,0.00,CN,Open,")
        rows.append(f"{facts},2,9903.01.24,5000.00,{duty},CN,Open,")
    return rows


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


@pytest.fixture
def importer_client(db):
    client = ClientFactory(slug="safety", legal_name="Safety Imports LLC")
    importer_number(client, IOR)
    return client


def _import(client, data: bytes, name: str = "report.csv", *, replaces: bool = False) -> EntryReport:
    with scope(client=client):
        report, created = report_upload(
            actor=None,
            client=client,
            uploaded=SimpleUploadedFile(name, data),
            reprocess=True,
            replaces=replaces,
            enqueue=False,
        )
        assert created
        report_import(report=report, as_of=AS_OF)
        report.refresh_from_db()
    return report


def _entry(client, number: str) -> Entry:
    with scope(client=client):
        return Entry.objects.get(entry_number=number)


def _line_history(client, number: str) -> list[EntryHistory]:
    with scope(client=client):
        return list(EntryHistory.objects.filter(entry__entry_number=number, field=EntryHistory.Field.LINES))


def test_report_with_only_some_lines_of_an_entry_keeps_the_stored_lines(importer_client, client):
    _import(importer_client, _csv(*_rows(BIG, 7), *_rows(SMALL, 1)), "full.csv")
    stored = _entry(importer_client, BIG)
    assert (stored.line_count, stored.ieepa_duty) == (14, Decimal("700.00"))

    # The first rows of a bigger export: BIG's first two lines only; SMALL as before.
    report = _import(importer_client, _csv(*_rows(BIG, 2), *_rows(SMALL, 1)), "cut.csv")

    kept = _entry(importer_client, BIG)
    assert (kept.line_count, kept.ieepa_duty) == (14, Decimal("700.00"))
    with scope(client=importer_client):
        assert kept.lines.count() == 14
    assert report.status == EntryReport.Status.SUCCEEDED
    assert (report.entries_kept, report.kept_entries, report.entries_updated) == (1, [BIG], 0)
    assert "1 entry kept: the report had fewer lines than stored" in report.message
    history = _line_history(importer_client, BIG)
    assert [(h.from_value, h.to_value) for h in history] == [("14 lines", "kept: the report had 4")]
    assert "cut.csv" in history[0].note

    client.force_login(member(importer_client))
    page = client.get(report.get_absolute_url()).content.decode()
    assert "1 entry kept: the report had fewer lines than stored" in page
    assert reverse("entries:detail", kwargs={"client_slug": "safety", "entry_number": BIG}) in page
    detail = client.get(kept.get_absolute_url()).content.decode()
    assert "kept: the report had 4" in detail and "cut.csv" in detail


def test_replacing_report_shrinks_the_entry_and_its_history_says_from_what(importer_client):
    _import(importer_client, _csv(*_rows(BIG, 7)), "full.csv")

    report = _import(importer_client, _csv(*_rows(BIG, 2)), "corrected.csv", replaces=True)

    entry = _entry(importer_client, BIG)
    assert (entry.line_count, entry.ieepa_duty) == (4, Decimal("200.00"))
    assert (report.entries_kept, report.entries_updated) == (0, 1)
    history = _line_history(importer_client, BIG)
    assert [(h.from_value, h.to_value) for h in history] == [
        ("14 lines, IEEPA $700.00", "4 lines, IEEPA $200.00")
    ]


def test_fewer_lines_with_one_not_stored_is_a_new_version_of_the_entry(importer_client):
    _import(importer_client, _csv(*_rows(BIG, 3)))

    # Two lines, one of them (line 9) never stored: not a cut-off copy of the stored entry.
    report = _import(importer_client, _csv(*_rows(BIG, 1), *_rows(BIG, 1, first_line=9)), "new.csv")

    entry = _entry(importer_client, BIG)
    assert (entry.line_count, report.entries_updated, report.entries_kept) == (4, 1, 0)


def test_changed_duty_with_the_same_lines_is_recorded_in_the_history(importer_client):
    _import(importer_client, _csv(*_rows(BIG, 2)))

    _import(importer_client, _csv(*_rows(BIG, 2, duty="1250.50")), "later.csv")

    assert _entry(importer_client, BIG).ieepa_duty == Decimal("2501.00")
    history = _line_history(importer_client, BIG)
    assert [(h.from_value, h.to_value) for h in history] == [
        ("4 lines, IEEPA $200.00", "4 lines, IEEPA $2,501.00")
    ]


def test_report_with_a_header_and_no_rows_is_refused(importer_client, tmp_path):
    report = _import(importer_client, _csv(), "headers-only.csv")

    assert report.status == EntryReport.Status.FAILED
    assert "column headings but no rows" in report.message and "nothing was imported" in report.message
    path = tmp_path / "headers-only.csv"
    path.write_bytes(_csv())
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_ace_report", "--client", "safety", str(path), "--reprocess")


def test_report_whose_every_row_is_rejected_is_refused_and_lists_the_rows(importer_client, client, tmp_path):
    bad = [row.replace(IOR, "99-999999900") for row in _rows(BIG, 2)]  # another importer's rows

    report = _import(importer_client, _csv(*bad), "others.csv")

    assert report.status == EntryReport.Status.FAILED
    assert "Every row of the report was rejected (4 of 4)" in report.message
    assert report.rows_rejected == 4
    with scope(client=importer_client):
        assert not Entry.objects.exists()
    client.force_login(member(importer_client))
    page = client.get(report.get_absolute_url()).content.decode()
    assert "Every row of the report was rejected" in page and "Rejected rows" in page
    assert "text-bg-success" not in page and "99-999999900" in page

    path = tmp_path / "others.csv"
    path.write_bytes(_csv(*bad))
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_ace_report", "--client", "safety", str(path), "--reprocess")


def test_one_empty_file_in_a_batch_is_named_and_the_others_are_imported(
    importer_client, client, django_capture_on_commit_callbacks
):
    client.force_login(member(importer_client))
    files = [
        SimpleUploadedFile("good.csv", _csv(*_rows(BIG, 1)), content_type="text/csv"),
        SimpleUploadedFile("empty.csv", b"", content_type="text/csv"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("entries:reports", kwargs={"client_slug": "safety"}), {"files": files}, follow=True
        )

    page = response.content.decode()
    assert "empty.csv was refused: the file is empty" in page
    assert "1 report received" in page
    with scope(client=importer_client):
        assert EntryReport.objects.get(original_name="good.csv").status == EntryReport.Status.SUCCEEDED
        assert Entry.objects.filter(entry_number=BIG).exists()


def test_refused_upload_shows_no_original_file_link(importer_client, client):
    client.force_login(member(importer_client))
    png = SimpleUploadedFile("scan.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with scope(client=importer_client):
        report, _ = report_upload(actor=None, client=importer_client, uploaded=png, enqueue=False)
    assert report.status == EntryReport.Status.FAILED

    page = client.get(report.get_absolute_url()).content.decode()

    assert "not a CSV or Excel" in page
    assert "original file" not in page
    assert (
        reverse("entries:report_file", kwargs={"client_slug": "safety", "public_id": report.public_id})
        not in page
    )


def test_import_command_prints_the_kept_entries(importer_client, tmp_path):
    from io import StringIO

    _import(importer_client, _csv(*_rows(BIG, 3)), "full.csv")
    path = tmp_path / "cut.csv"
    path.write_bytes(_csv(*_rows(BIG, 1)))
    out = StringIO()

    call_command("import_ace_report", "--client", "safety", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == f"{path}: created 0 updated 0 unchanged 0 rejected 0 rows"  # its columns, as before
    assert lines[1] == "  kept: 1 entry kept: the report had fewer lines than stored (listed for review)."
    assert _entry(importer_client, BIG).line_count == 6
