"""Client A with one object of every kind a page can show, the people who visit it, and what only A's data holds.

The tenant matrix (tests/test_tenant_matrix.py) and the security tests (tests/security/) check every page
and download against this world; its fixtures are registered in tests/conftest.py.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from clients.models import (
    AuditExport,
    ChecklistEvidence,
    CodeWindow,
    ImporterNumber,
    Invitation,
    Letter,
    Membership,
)
from clients.onboarding import code_window
from clients.onboarding import services as onboarding_services
from clients.services import invitation_create
from entries.models import Entry, EntryLine, EntryReport, RowRejection
from protests.models import Protest, ProtestDecisionList, ProtestDocument
from protests.services import protest_drafts_build
from refunds.models import CbpReport, CbpReportProblem, Declaration
from refunds.services import declaration_batch_build
from tests.factories import UserFactory, assign, member, staff_user


@dataclass
class World:
    client: object
    membership: Membership
    invitation: Invitation
    importer: ImporterNumber
    audit_export: AuditExport
    report: EntryReport
    entry: Entry
    evidence: ChecklistEvidence
    code_window: CodeWindow
    declaration: Declaration
    cbp_report: CbpReport
    letter: Letter | None = None
    protest: Protest | None = None
    decision_list: ProtestDecisionList | None = None


@pytest.fixture
def world(client_a, admin_a, member_a, staff_a, client_b, member_b, staff_b, manager):
    """Client A with one object of every kind a page can show; client B with its own people."""
    with scope(client=client_a):
        other = member(client_a)
        invitation = invitation_create(
            actor=admin_a, client=client_a, email="new.hire@alpha.example", role="client_member"
        )
        export = AuditExport.objects.create(client=client_a, created_by=admin_a, status="succeeded")
        export.file.save("audit.csv", ContentFile(b"time,actor\nALPHA-AUDIT-ROW\n"))
        report = EntryReport.objects.create(
            client=client_a, original_name="a.csv", sha256="0" * 64, status="succeeded"
        )
        report.file.save("a.csv", ContentFile(b"Entry Summary Number\nALPHA-REPORT-FILE\n"))
        RowRejection.objects.create(
            client=client_a, report=report, row_number=2, entry_number="X", reason="ALPHA-ROW-REASON"
        )
        entry = Entry.objects.create(
            client=client_a,
            entry_number="ABC12345676",
            entry_type="01",
            ieepa_duty=Decimal("1234.56"),
            refund_path="cape_phase1",
            liquidation_status="unliquidated",
            last_report=report,
        )
        # Filed by another broker (filer code not the brokerage's): in the importer's own CAPE file.
        Entry.objects.create(
            client=client_a,
            entry_number="XYZ00000015",
            entry_type="01",
            importer_number="12-345678900",
            ieepa_duty=Decimal("10.00"),
            refund_path="cape_phase1",
            liquidation_status="unliquidated",
        )
        EntryLine.objects.create(
            client=client_a, entry=entry, hts="99030125", duty=Decimal("1234.56"), program="ieepa"
        )
        evidence = onboarding_services.evidence_add(
            actor=admin_a,
            client=client_a,
            key="ace_account",
            uploaded=SimpleUploadedFile("ace-login.pdf", b"%PDF-1.4 ALPHA-EVIDENCE"),
        )
        code_window.form_5106_update(
            actor=admin_a,
            client=client_a,
            company_name_5106="Alpha Imports LLC",
            poc_name="Pat",
            poc_email="pat@alpha.example",
        )
        window = code_window.code_window_propose(
            actor=admin_a, client=client_a, starts_at=timezone.now() + timedelta(days=2)
        )
        batch = declaration_batch_build(actor=staff_a, client=client_a, as_of=timezone.localdate())
        cbp_report = CbpReport.objects.create(
            client=client_a, kind="es022", original_name="es022.csv", sha256="0" * 64, status="succeeded"
        )
        cbp_report.file.save("es022.csv", ContentFile(b"Entry Number,Principal\nALPHA-CBP-FILE\n"))
        CbpReportProblem.objects.create(
            client=client_a, report=cbp_report, row_number=2, reason="ALPHA-CBP-PROBLEM"
        )
        letter = Letter.objects.create(
            client=client_a, kind="reactivation", version=1, data={"kind": "reactivation"}, status="succeeded"
        )
        letter.file.save("letter.pdf", ContentFile(b"%PDF-1.7 ALPHA-LETTER"))
        Entry.objects.create(
            client=client_a,
            entry_number="ABC12345684",
            entry_type="01",
            importer_number="12-345678900",
            port="2704",
            liquidation_status="liquidated",
            liquidation_date=timezone.localdate() - timedelta(days=120),
            ieepa_duty=Decimal("1234.56"),
            refund_path="protest",
        )
        (protest,) = protest_drafts_build(actor=staff_a, client=client_a, as_of=timezone.localdate())
        document = ProtestDocument.objects.create(client=client_a, protest=protest, status="succeeded")
        document.file.save("protest.pdf", ContentFile(b"%PDF-1.7 ALPHA-PROTEST"))
        decision_list = ProtestDecisionList.objects.create(
            client=client_a,
            protest=protest,
            original_name="ALPHA-DECISIONS.csv",
            status="succeeded",
            problems=[[2, "ABC12345684", "ALPHA-NOT-APPLIED"]],
        )
        return World(
            client=client_a,
            membership=Membership.objects.get(client=client_a, user=other),
            invitation=invitation,
            importer=ImporterNumber.objects.get(client=client_a),
            audit_export=export,
            report=report,
            entry=entry,
            evidence=evidence,
            code_window=window,
            declaration=batch.declarations.get(),
            cbp_report=cbp_report,
            letter=letter,
            protest=protest,
            decision_list=decision_list,
        )


# How to fill each page's parameters (beyond client_slug) with one of client A's objects.
OBJECT_KWARGS = {
    "clients:member_update": lambda w: {"membership_id": w.membership.pk},
    "clients:invitation_revoke": lambda w: {"invitation_id": w.invitation.pk},
    "clients:importer_number_remove": lambda w: {"importer_id": w.importer.pk},
    "clients:importer_number_verify": lambda w: {"importer_id": w.importer.pk},
    "clients:audit_export": lambda w: {"public_id": w.audit_export.public_id},
    "clients:audit_export_download": lambda w: {"public_id": w.audit_export.public_id},
    "entries:report": lambda w: {"public_id": w.report.public_id},
    "entries:report_errors": lambda w: {"public_id": w.report.public_id},
    "entries:report_file": lambda w: {"public_id": w.report.public_id},
    "entries:detail": lambda w: {"entry_number": w.entry.entry_number},
    "clients:onboarding_item_update": lambda w: {"key": "ace_account"},
    "clients:onboarding_evidence_upload": lambda w: {"key": "ace_account"},
    "clients:onboarding_item_verify": lambda w: {"key": "ace_account"},
    "clients:onboarding_item_reopen": lambda w: {"key": "ace_account"},
    "clients:onboarding_evidence": lambda w: {"public_id": w.evidence.public_id},
    "clients:onboarding_evidence_remove": lambda w: {"public_id": w.evidence.public_id},
    "clients:onboarding_window_confirm": lambda w: {"public_id": w.code_window.public_id},
    "clients:onboarding_window_cancel": lambda w: {"public_id": w.code_window.public_id},
    "clients:onboarding_window_calendar": lambda w: {"public_id": w.code_window.public_id},
    "refunds:batch": lambda w: {"public_id": w.declaration.batch.public_id},
    "refunds:batch_zip": lambda w: {"public_id": w.declaration.batch.public_id},
    "refunds:declaration": lambda w: {"public_id": w.declaration.public_id},
    "refunds:declaration_file": lambda w: {"public_id": w.declaration.public_id},
    "refunds:declaration_filing": lambda w: {"public_id": w.declaration.public_id},
    "refunds:declaration_discard": lambda w: {"public_id": w.declaration.public_id},
    "refunds:declaration_allow_refile": lambda w: {"public_id": w.declaration.public_id},
    "refunds:report": lambda w: {"public_id": w.cbp_report.public_id},
    "refunds:report_problems": lambda w: {"public_id": w.cbp_report.public_id},
    "refunds:report_file": lambda w: {"public_id": w.cbp_report.public_id},
    "clients:letter_new": lambda w: {"kind": "sub_account"},
    "clients:letter_preview": lambda w: {"kind": "sub_account"},
    "clients:letter": lambda w: {"public_id": w.letter.public_id},
    "clients:letter_download": lambda w: {"public_id": w.letter.public_id},
    "clients:letter_regenerate": lambda w: {"public_id": w.letter.public_id},
    "protests:detail": lambda w: {"public_id": w.protest.public_id},
    "protests:description": lambda w: {"public_id": w.protest.public_id},
    "protests:entry_add": lambda w: {"public_id": w.protest.public_id},
    "protests:entry_remove": lambda w: {"public_id": w.protest.public_id},
    "protests:discard": lambda w: {"public_id": w.protest.public_id},
    "protests:pdf_request": lambda w: {"public_id": w.protest.public_id},
    "protests:status": lambda w: {"public_id": w.protest.public_id},
    "protests:pdf": lambda w: {"public_id": w.protest.public_id},
    "protests:csv": lambda w: {"public_id": w.protest.public_id},
    "protests:filing": lambda w: {"public_id": w.protest.public_id},
    "protests:accelerated": lambda w: {"public_id": w.protest.public_id},
    "protests:decision": lambda w: {"public_id": w.protest.public_id},
    "protests:decision_list": lambda w: {"public_id": w.protest.public_id},
    "protests:decision_list_status": lambda w: {
        "public_id": w.protest.public_id,
        "list_id": w.decision_list.public_id,
    },
    "protests:decision_list_problems": lambda w: {
        "public_id": w.protest.public_id,
        "list_id": w.decision_list.public_id,
    },
    "protests:withdraw": lambda w: {"public_id": w.protest.public_id},
}


# Pages only some roles may open; everyone else gets the outsider's 404.
ADMIN_ONLY = {
    "clients:audit",
    "clients:audit_export",
    "clients:audit_export_download",
    "clients:member_update",
    "clients:invitation_revoke",
    "clients:importer_number_add",
    "clients:importer_number_remove",
    "refunds:own_files",
}


# Who visits: A's own people, the brokerage, and everyone who must see nothing of A.
INSIDERS = ["member_a", "admin_a", "staff_a", "manager"]


OUTSIDERS = ["member_b", "admin_b", "staff_b", "loner"]


ROLES = ["anonymous", "inactive_a", "staff_nomfa_a", *OUTSIDERS, *INSIDERS]


# Text only client A's data holds (legal name, importer number, the marked file contents, its duty).
A_MARKERS = ["Alpha Imports LLC", "ALPHA-", "12-345678900", "1234.56", "1,234.56"]


@pytest.fixture
def loner(db):
    """A user who belongs to no client (e.g. an invitation accepted, then the membership removed)."""
    return UserFactory()


@pytest.fixture
def inactive_a(client_a):
    """A member of A whose account was deactivated: treated as logged out."""
    user = member(client_a)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


@pytest.fixture
def staff_nomfa_a(client_a):
    """A's assigned staff member before setting up two-factor: sent to set it up, shown nothing."""
    staff = staff_user(mfa=False)
    assign(client_a, staff)
    return staff


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def assert_no_a_data(response, url: str, who: str) -> None:
    text = body(response).decode("utf-8", "replace")
    for marker in A_MARKERS:
        assert marker not in text, f"{who} sees {marker!r} of client A at {url}"
