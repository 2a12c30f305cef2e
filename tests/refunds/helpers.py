"""Builders shared by the refunds tests (and the entries, protests and browser tests that need a ledger):
entries on a given path, a client ready to file, a built batch and its declarations, CBP reports processed."""

from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from clients.onboarding import ach
from clients.onboarding import services as onboarding_services
from clients.onboarding.authorizations import filing_authorization_grant
from domain.entry_numbers import check_digit
from entries.models import Entry
from refunds.models import CbpReport, CbpReportProblem, Declaration, DeclarationEntry
from refunds.selectors import (
    declaration_content,
)
from refunds.services import (
    cbp_report_process,
    cbp_report_upload,
    declaration_batch_build,
)
from tests.entries.helpers import AS_OF

IOR_A = "12-345678900"


# Declarations are built "today" in the portal's time zone, and a filing cannot predate its build.
FILED_ON = timezone.localdate()


def entry_number(index: int, filer: str = "ABC") -> str:
    first_ten = f"{filer}{index:07d}"
    return f"{first_ten}{check_digit(first_ten)}"


# Facts that the pure rules classify to each path on any day from Phase 2's opening to 2027 (the path
# stored with them is what a classification on the build day gives, so the plan, which classifies again
# for its as-of day, agrees with it).
PATH_FACTS = {
    "cape_phase1": {"liquidation_status": "unliquidated"},
    "cape_phase2": {"liquidation_status": "unliquidated", "reconciliation": True},
    "protest": {"liquidation_status": "liquidated", "liquidation_date": AS_OF - timedelta(days=100)},
    "finally_liquidated": {"liquidation_status": "liquidated", "liquidation_date": date(2025, 6, 2)},
    "needs_data": {},
    "excluded": {"liquidation_status": "unliquidated", "entry_type": "09"},
    "not_affected": {"liquidation_status": "unliquidated", "ieepa_duty": Decimal("0")},
    "section_122": {
        "liquidation_status": "unliquidated",
        "ieepa_duty": Decimal("0"),
        "section_122_duty": Decimal("10.00"),
    },
    "": {},
}


def make_entries(
    client,
    count: int,
    *,
    start: int = 0,
    path: str = "cape_phase1",
    importer: str = IOR_A,
    duty: str = "100.00",
    summary: date | None = date(2025, 6, 2),
    filer: str = "ABC",
    **fields,
) -> list[Entry]:
    fields = {
        "entry_type": "01",
        "entry_date": date(2025, 5, 28),
        "ieepa_duty": Decimal(duty),
        **PATH_FACTS[path],
        **fields,
    }
    with scope(client=client):
        return Entry.objects.bulk_create(
            [
                Entry(
                    client=client,
                    entry_number=entry_number(start + i, filer),
                    importer_number=importer,
                    entry_summary_date=summary,
                    refund_path=path,
                    **fields,
                )
                for i in range(count)
            ],
            batch_size=5000,
        )


def make_ready(client, admin, importer_numbers=(IOR_A,)) -> None:
    """ACE account done, ACH active, filing authorization given: ready to file."""
    with scope(client=client):
        onboarding_services.checklist_item_update(
            actor=admin, client=client, key="ace_account", status="done"
        )
        ach.ach_enrollment_update(
            actor=admin,
            client=client,
            bank_name="First Harbor Bank",
            routing_number="021000021",
            account_last_four="6789",
            status="active",
        )
        filing_authorization_grant(
            actor=admin, client=client, importer_numbers=list(importer_numbers), ip_address=None
        )


def build(client, actor, *, as_of: date = AS_OF, importer_number: str = ""):
    with scope(client=client):
        return declaration_batch_build(
            actor=actor, client=client, as_of=as_of, importer_number=importer_number
        )


def declarations_of(batch) -> list[Declaration]:
    with scope(client=batch.client):
        return list(Declaration.objects.filter(batch=batch).order_by("sequence"))


def file_bytes(declaration) -> bytes:
    with scope(client=declaration.client):
        return declaration_content(declaration=declaration)


E = [entry_number(i) for i in range(6)]  # the entries of the filed declaration, in file order


OUTSIDER = entry_number(500, "XYZ")  # a valid number that is not the client's


def csv_bytes(rows: list[list[str]], *, bom: bool = False, title: str = "") -> bytes:
    lines = ([title, ""] if title else []) + [",".join(row) for row in rows]
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def process(
    client, actor, kind: str, content: bytes, *, name: str = "report.csv", declaration=None
) -> CbpReport:
    with scope(client=client):
        report = cbp_report_upload(
            actor=actor,
            client=client,
            kind=kind,
            uploaded=SimpleUploadedFile(name, content),
            declaration=declaration,
            enqueue=False,
        )
        cbp_report_process(report=report)
        report.refresh_from_db()
    return report


def problems(report) -> list[tuple]:
    with scope(client=report.client):
        return list(CbpReportProblem.objects.filter(report=report).values_list("row_number", "reason"))


def row(client, number: str) -> DeclarationEntry:
    with scope(client=client):
        return DeclarationEntry.objects.select_related("reason", "declaration").get(
            entry_number=number,
            status__in=["pending", "accepted", "rejected"],
            declaration__status__in=["filed", "accepted", "partially_rejected", "rejected"],
        )


RESULTS = [
    ["Claim Number", "Entry Number", "Status", "Reason"],
    ["CAPE-0001", E[0], "Accepted", ""],
    ["CAPE-0001", E[1], "Accepted", ""],
    ["CAPE-0001", E[2], "ACCEPTED", ""],
    ["CAPE-0001", E[3], "Rejected", "Entry is subject to an active PROTEST"],
    ["CAPE-0001", E[4], "Rejected", "Entry is flagged for reconciliation"],
    ["CAPE-0001", E[5], "Rejected", "Something CBP never said before"],
    ["CAPE-0001", OUTSIDER, "Accepted", ""],
    ["CAPE-0001", entry_number(900), "Accepted", ""],
    ["CAPE-9999", E[0], "Accepted", ""],
    ["CAPE-0001", "3.16123E+10", "Accepted", ""],
    ["CAPE-0001", E[0][:10] + "0" if E[0][10] != "0" else E[0][:10] + "1", "Accepted", ""],
]
