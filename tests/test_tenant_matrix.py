"""Every page under /c/<client_slug>/, enumerated from the URLconf, against every kind of visitor.

Client A's data exists in every case. Nobody outside A (a member or admin of client B, B's staff, a user
of no client, a deactivated user, staff who have not set up two-factor yet) ever sees it: 404 (or the
login / two-factor page), never 403, never an empty page, and A's data is not in the response body. Every
page that takes an object is also asked for A's object under client B's URL, by everyone who may open B:
404. New pages are covered automatically; a page with a URL parameter this file does not know fails until
OBJECT_KWARGS says how to build one. Each checked case is counted (tests/security/ledger.py).
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
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
from tests.security import ledger
from tests.test_security import INLINE_HANDLER, INLINE_SCRIPT


def _client_patterns() -> list[tuple[str, list[str]]]:
    """(namespaced url name, its parameters) for every pattern below c/<slug:client_slug>/."""
    found = []

    def walk(patterns, prefix_params, namespace, inside_client):
        for p in patterns:
            params = prefix_params + list(p.pattern.converters.keys())
            here = inside_client or "client_slug" in p.pattern.converters
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, params, ns, here)
            elif isinstance(p, URLPattern) and here and p.name:
                found.append((f"{namespace}:{p.name}" if namespace else p.name, params))

    walk(get_resolver().url_patterns, [], "", False)
    return sorted(found)


CLIENT_PAGES = _client_patterns()


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
# Pages only these roles may use (everyone else gets the outsider's 404): staff review the checklist and
# confirm code windows; only the client's own admin gives or revokes the filing authorization.
ONLY_ROLES = {
    "clients:onboarding_item_verify": {"staff_a", "manager"},
    "clients:importer_number_verify": {"staff_a", "manager"},
    "clients:onboarding_item_reopen": {"staff_a", "manager"},
    "clients:onboarding_window_confirm": {"staff_a", "manager"},
    "clients:onboarding_authorize": {"admin_a"},
    # The refund bank account: the client's admins and the brokerage change it; members only read it.
    "clients:onboarding_ach": {"admin_a", "staff_a", "manager"},
    "clients:onboarding_authorization_revoke": {"admin_a"},
    # Staff build and file CAPE declarations (client admins too only when CAPE_CLIENT_ADMINS_MAY_BUILD).
    "refunds:declaration_new": {"staff_a", "manager"},
    "refunds:build_selected": {"staff_a", "manager"},
    "refunds:declaration_filing": {"staff_a", "manager"},
    "refunds:declaration_discard": {"staff_a", "manager"},
    "refunds:declaration_allow_refile": {"staff_a", "manager"},
    # Staff write letters; everyone in the client reads and downloads them.
    "clients:letter_new": {"staff_a", "manager"},
    "clients:letter_preview": {"staff_a", "manager"},
    "clients:letter_regenerate": {"staff_a", "manager"},
    # Staff build, edit and file protests and record CBP's decisions (client admins too only when
    # PROTESTS_CLIENT_ADMINS_MAY_BUILD); everyone in the client reads them and downloads the PDF and CSV.
    "protests:new": {"staff_a", "manager"},
    # Only the client's own admin gives or revokes the protest authorization.
    "protests:authorize": {"admin_a"},
    "protests:authorization_revoke": {"admin_a"},
    "protests:description": {"staff_a", "manager"},
    "protests:entry_add": {"staff_a", "manager"},
    "protests:entry_remove": {"staff_a", "manager"},
    "protests:discard": {"staff_a", "manager"},
    "protests:pdf_request": {"staff_a", "manager"},
    "protests:filing": {"staff_a", "manager"},
    "protests:accelerated": {"staff_a", "manager"},
    "protests:decision": {"staff_a", "manager"},
    "protests:decision_list": {"staff_a", "manager"},
    "protests:decision_list_status": {"staff_a", "manager"},
    "protests:decision_list_problems": {"staff_a", "manager"},
    "protests:withdraw": {"staff_a", "manager"},
    # Staff mark or clear flags on several entries at once.
    "entries:bulk": {"staff_a", "manager"},
}
# Pages with nothing to show until something is uploaded (the logo has none in this world).
EMPTY_404 = {"clients:letterhead_logo"}

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


def _url(name, params, w, slug=None):
    kwargs = {"client_slug": slug or w.client.slug}
    extra = [p for p in params if p != "client_slug"]
    if extra:
        assert name in OBJECT_KWARGS, f"{name} takes {extra}: add it to OBJECT_KWARGS so the matrix covers it"
        kwargs.update(OBJECT_KWARGS[name](w))
    return reverse(name, kwargs=kwargs)


def visit(client, url):
    response = client.get(url)
    if response.status_code == 405:  # an action: try it the way a form would send it
        response = client.post(url, {})
    return response


def test_matrix_covers_every_client_page():
    names = {name for name, _ in CLIENT_PAGES}
    assert {"clients:overview", "clients:team", "entries:list", "refunds:claims"} <= names
    assert len(CLIENT_PAGES) >= 15


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "params"), CLIENT_PAGES, ids=[n for n, _ in CLIENT_PAGES])
def test_client_page_access(client, world, request, name, params, role):
    url = _url(name, params, world)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    response = visit(client, url)

    if role in ("anonymous", "inactive_a"):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    elif role == "staff_nomfa_a":
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    elif role in OUTSIDERS:
        assert response.status_code == 404, f"{role} must not reach {url}"
    elif role == "member_a" and name in ADMIN_ONLY:
        assert response.status_code == 404
    elif name in ONLY_ROLES and role not in ONLY_ROLES[name]:
        assert response.status_code == 404, f"{role} must not use {url}"
    elif name in EMPTY_404:
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 302), f"{role} should reach {url}, got {response.status_code}"
        if response.status_code == 302:
            assert response.url.startswith(f"/c/{world.client.slug}/")
    if role not in INSIDERS:
        assert_no_a_data(response, url, role)
    elif response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        html = response.content.decode()  # the CSP forbids inline script: no page may need any
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), f"inline script on {url}"
    ledger.record("client page", url, role, response.status_code)


# Parameters that name one of A's objects (not a fixed kind or checklist key).
OBJECT_PARAMS = {"public_id", "membership_id", "invitation_id", "importer_id", "entry_number"}
OBJECT_PAGES = [(n, p) for n, p in CLIENT_PAGES if OBJECT_PARAMS & set(p)]


@pytest.mark.parametrize("role", ["member_b", "admin_b", "staff_b", "manager"])
@pytest.mark.parametrize(("name", "params"), OBJECT_PAGES, ids=[n for n, _ in OBJECT_PAGES])
def test_a_object_under_b_url_is_404(client, world, client_b, request, name, params, role):
    """Everyone who may open client B asks for A's object through B's pages: it is not there."""
    url = _url(name, params, world, slug=client_b.slug)
    client.force_login(request.getfixturevalue(role))

    response = visit(client, url)

    assert response.status_code == 404, f"{role} reached client A's object through {url}"
    assert_no_a_data(response, url, role)
    ledger.record("A's object under B's URL", url, role, response.status_code)


@pytest.mark.parametrize("role", ["member_a", "admin_a", "staff_a", "manager"])
def test_client_pages_render_200_for_insiders(client, world, request, role):
    client.force_login(request.getfixturevalue(role))
    for name, params in CLIENT_PAGES:
        if name in OBJECT_KWARGS or name in EMPTY_404 or (role == "member_a" and name in ADMIN_ONLY):
            continue
        if name in ONLY_ROLES and role not in ONLY_ROLES[name]:
            continue
        response = client.get(_url(name, params, world))
        if response.status_code == 405:
            continue
        assert response.status_code == 200, name
        if not response["Content-Type"].startswith("text/html"):
            continue  # a download (the importer's own CAPE file): a CBP template has no room for a name
        html = response.content.decode()
        assert world.client.legal_name in html, f"{name} must show whose data it is"
        # the CSP forbids inline script: none is needed
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), name


def test_unknown_client_and_forbidden_client_look_the_same(client, world, member_b):
    client.force_login(member_b)
    forbidden = client.get(reverse("clients:overview", kwargs={"client_slug": world.client.slug}))
    missing = client.get(reverse("clients:overview", kwargs={"client_slug": "no-such-client"}))
    assert forbidden.status_code == missing.status_code == 404
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", forbidden.content) == token.sub(b"", missing.content)
