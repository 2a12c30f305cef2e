"""CAPE files as of the filing day, and only the brokerage's filer codes in the broker's files (spec §7).

The ES-003 report these tests import is written here, row by row, so every case is visible in the test.
"""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from domain import cape
from domain.entry_numbers import check_digit
from refunds.planning import declaration_plan, importer_own_files
from tests.entries.helpers import upload
from tests.factories import importer_number
from tests.refunds.helpers import (
    FILED_ON,
    build,
    declarations_of,
    entry_number,
    file_bytes,
    make_entries,
    make_ready,
)

IOR_1 = "19-528224900"
IOR_2 = "34-370224800"
HEADER = (
    "Entry Summary Number,Entry Type Code,Importer Number,Entry Date,Entry Summary Date,HTS Number - Full,"
    "Line Tariff Duty Amount,Liquidation Status,Liquidation Date,Protest,Reconciliation Flag"
)


def number(filer: str, serial: int) -> str:
    first_ten = f"{filer}{serial:07d}"
    return first_ten + str(check_digit(first_ten))


def report_row(entry, importer, status, liquidated=None, *, protest="N", recon="N", hts="9903.01.25") -> str:
    liquidation = liquidated.strftime("%m/%d/%Y") if liquidated else ""
    return (
        f"{entry},01,{importer},03/03/2025,03/10/2025,{hts},125.00,{status},{liquidation},{protest},{recon}"
    )


def varied_report(day: date) -> tuple[bytes, dict[str, str]]:
    """Entries of two filer codes and two importers on every side of the 80 and 180 days as of `day`.

    Returns the file and, per entry, what it is (for messages)."""
    cases = {}
    rows = []
    serial = 0
    for filer in ("ABC", "XYZ"):
        for importer in (IOR_1, IOR_2):
            for what, args, flags in [
                ("open", ("Unliquidated",), {}),
                ("suspended", ("Suspended",), {}),
                ("80 days today", ("Liquidated", day - timedelta(days=80)), {}),
                ("81 days today", ("Liquidated", day - timedelta(days=81)), {}),
                ("79 days today", ("Liquidated", day - timedelta(days=79)), {}),
                ("190 days", ("Liquidated", day - timedelta(days=190)), {}),
                ("protest on file", ("Unliquidated",), {"protest": "Y"}),
                ("reconciliation, open", ("Unliquidated",), {"recon": "Y"}),
                ("reconciliation, 81 days", ("Liquidated", day - timedelta(days=81)), {"recon": "Y"}),
                ("no IEEPA duty", ("Unliquidated",), {"hts": "9903.88.15"}),
            ]:
                serial += 1
                entry = number(filer, serial)
                cases[entry] = f"{filer} {importer} {what}"
                rows.append(report_row(entry, importer, *args, **flags))
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode(), cases


@pytest.fixture
def varied(importer):
    """The importer client with the varied report imported (classified on the import day, 2026-11-23)."""
    content, cases = varied_report(date(2026, 11, 23))
    report, _ = upload(importer, "varied.csv", content)
    assert report.entries_rejected == 0, report.message
    return importer, cases


def exported_cape_entries(slug: str, day: date, tmp_path) -> set[str]:
    out = tmp_path / f"export-{day}.csv"
    call_command("export_entries", "--client", slug, "--as-of", day.isoformat(), "--output", str(out))
    return {
        row["entry_number"]
        for row in csv.DictReader(out.open())
        if row["refund_path"] in ("cape_phase1", "cape_phase2")
    }


def written_entries(folder) -> tuple[set[str], set[str]]:
    """(entries in the broker's files, entries in the importer's own files) of a build_cape_files folder."""
    broker = {n for path in folder.glob("*.csv") for n in path.read_bytes().decode().split("\r\n")[1:-1]}
    own = {
        n for path in folder.glob("importer_*/*.csv") for n in path.read_bytes().decode().split("\r\n")[1:-1]
    }
    return broker, own


@pytest.mark.parametrize("day", [date(2026, 11, 23), date(2026, 12, 14), date(2027, 2, 1)])
def test_command_gives_exactly_the_cape_entries_export_entries_gives(varied, tmp_path, day):
    client, cases = varied
    folder = tmp_path / f"files-{day}"
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "build_cape_files",
        "--client",
        client.slug,
        "--as-of",
        day.isoformat(),
        "--output-dir",
        str(folder),
        stdout=out,
        stderr=err,
    )

    broker, own = written_entries(folder)
    exported = exported_cape_entries(client.slug, day, tmp_path)
    assert broker | own == exported, {cases[n] for n in (broker | own) ^ exported}
    assert broker and own  # both kinds are present in this data
    assert all(n[:3] == "ABC" for n in broker)
    assert all(n[:3] == "XYZ" for n in own)
    assert {cases[n].split()[1] for n in broker} == {IOR_1, IOR_2}  # several importers in one declaration


def test_entry_whose_80_days_ended_yesterday_is_not_in_todays_file(client_a, staff_a):
    today = timezone.localdate()
    make_entries(client_a, 1, start=1)  # open: in the file
    # Classified on another day as cape_phase1 (the stored path), but liquidated 81 days ago...
    make_entries(
        client_a, 1, start=2, liquidation_status="liquidated", liquidation_date=today - timedelta(days=81)
    )
    # ...and one liquidated exactly 80 days ago: still inside the window today.
    make_entries(
        client_a, 1, start=3, liquidation_status="liquidated", liquidation_date=today - timedelta(days=80)
    )

    batch = build(client_a, staff_a, as_of=today)

    content = file_bytes(declarations_of(batch)[0]).decode()
    assert content == f"Entry Number\r\n{entry_number(1)}\r\n{entry_number(3)}\r\n"
    assert any("not on a CAPE path as of this day" in w for w in batch.warnings)


def test_filing_refused_when_the_window_closed_after_the_build(client_a, admin_a, staff_a):
    """The plan of yesterday's build no longer holds on the filing day: the guard classifies again."""
    make_ready(client_a, admin_a)
    today = timezone.localdate()
    make_entries(client_a, 1, liquidation_status="liquidated", liquidation_date=today - timedelta(days=80))
    batch = build(client_a, staff_a, as_of=today)
    declaration = declarations_of(batch)[0]

    from refunds.services import _guard_problems

    with scope(client=client_a):
        assert _guard_problems(declaration, today) == []
        problems = _guard_problems(declaration, today + timedelta(days=1))
    assert len(problems) == 1 and entry_number(0) in problems[0] and "protest" in problems[0]


def test_broker_file_never_holds_another_brokers_filer_code(client_a, staff_a, settings):
    settings.BROKERAGE_FILER_CODES = ["ABC", "D9P"]
    make_entries(client_a, 3, filer="ABC")
    make_entries(client_a, 2, filer="XYZ")
    make_entries(client_a, 1, filer="D9P", start=10, importer="34-370224800")

    batch = build(client_a, staff_a)

    for declaration in declarations_of(batch):
        content = file_bytes(declaration)
        assert cape.validate_file(content, filer_codes={"ABC", "D9P"}) == []
        assert b"XYZ" not in content
    assert batch.entry_count == 4
    assert any("filed by other brokers (filer code XYZ)" in w for w in batch.warnings)
    with scope(client=client_a):
        own = importer_own_files(client=client_a, as_of=FILED_ON)
    assert [(g.importer_number, [row[1] for row in g.eligible]) for g in own] == [
        ("12-345678900", [entry_number(0, "XYZ"), entry_number(1, "XYZ")])
    ]
    assert own[0].files[0].filename.endswith("_12345678900_own_01of01.csv")


def test_without_filer_codes_the_broker_declares_nothing(client_a, settings):
    settings.BROKERAGE_FILER_CODES = []
    make_entries(client_a, 2)

    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=FILED_ON)

    assert plan.files == []
    assert [g.count for g in plan.other_brokers] == [2]
    assert any("No filer code of the brokerage is configured" in w for w in plan.warnings)


def test_command_writes_importer_files_in_a_subfolder_each_checked(client_a, tmp_path):
    make_entries(client_a, 2, filer="ABC")
    make_entries(client_a, 1, filer="XYZ")
    importer_number(client_a, "34-370224800")
    make_entries(client_a, 1, filer="QQQ", start=5, importer="34-370224800")
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "build_cape_files",
        "--client",
        "client-a",
        "--as-of",
        "2026-11-23",
        "--output-dir",
        str(tmp_path),
        stdout=out,
        stderr=err,
    )

    lines = out.getvalue().splitlines()
    assert lines == [
        f"{tmp_path}/cape_client-a_20261123_all_01of01.csv: 2 entries",
        f"{tmp_path}/importer_12345678900/cape_client-a_20261123_12345678900_own_01of01.csv: 1 entries",
        f"{tmp_path}/importer_34370224800/cape_client-a_20261123_34370224800_own_01of01.csv: 1 entries",
    ]
    for line in lines:
        content = (tmp_path / line.split(":")[0]).read_bytes()
        assert cape.validate_file(content) == []
    broker = (tmp_path / "cape_client-a_20261123_all_01of01.csv").read_bytes()
    assert cape.validate_file(broker, filer_codes={"ABC"}) == []


def test_command_help_states_the_time_zone():
    from refunds.management.commands.build_cape_files import Command

    assert "America/New_York" in Command.help


def test_client_admin_downloads_the_importers_own_file(client, client_a, admin_a, member_a, client_b):
    make_entries(client_a, 1, filer="ABC")
    make_entries(client_a, 2, filer="XYZ")
    make_entries(client_b, 1, filer="XYZ", start=50)  # the other client's: never in A's file
    client.force_login(admin_a)

    claims = client.get(reverse("refunds:claims", args=[client_a.slug]))
    response = client.get(reverse("refunds:own_files", args=[client_a.slug]), {"importer": "12-345678900"})

    assert b"Entries filed by other brokers" in claims.content
    assert response.status_code == 200
    content = response.content
    assert content == (f"Entry Number\r\n{entry_number(0, 'XYZ')}\r\n{entry_number(1, 'XYZ')}\r\n".encode())
    assert cape.validate_file(content) == []
    client.force_login(member_a)
    assert client.get(reverse("refunds:own_files", args=[client_a.slug])).status_code == 404
    claims = client.get(reverse("refunds:claims", args=[client_a.slug]))
    assert b"Your company's admin can download it" in claims.content


def test_full_file_is_under_one_megabyte(client_a, staff_a):
    make_entries(client_a, cape.MAX_ENTRIES_PER_FILE)

    batch = build(client_a, staff_a)

    (declaration,) = declarations_of(batch)
    content = file_bytes(declaration)
    assert content.count(b"\r\n") - 1 == 9999
    assert len(content) < cape.MAX_FILE_BYTES == 1_000_000


def test_staff_cape_page_shows_the_filer_codes(client, staff_a, settings):
    settings.BROKERAGE_FILER_CODES = ["D9P", "ABC"]
    client.force_login(staff_a)

    text = client.get(reverse("staff:cape")).content.decode()

    assert "Our filer codes" in text and "<code>ABC</code>, <code>D9P</code>" in text
