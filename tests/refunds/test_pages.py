"""The CAPE pages: preview, build, files, filing, CBP report uploads, the entry page's next action, the staff
page; and the outsider's 404 on declarations, files and reports with client A's data present."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from refunds.models import CbpReport, Declaration
from tests.refunds.helpers import (
    FILED_ON,
    RESULTS,
    build,
    csv_bytes,
    declarations_of,
    entry_number,
    file_bytes,
    make_entries,
    make_ready,
    process,
)


def url(name, client, **kwargs):
    return reverse(f"refunds:{name}", kwargs={"client_slug": client.slug, **kwargs})


@pytest.fixture
def a_world(client_a, staff_a, admin_a):
    """Client A with a filed declaration, CBP's results (some rows unmatched) and a draft."""
    make_ready(client_a, admin_a)
    make_entries(client_a, 6)
    (declaration,) = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        from refunds.services import declaration_record_filing

        declaration = declaration_record_filing(
            actor=staff_a, declaration=declaration, claim_number="CAPE-0001", filed_on=FILED_ON
        )
    report = process(client_a, staff_a, "results", csv_bytes(RESULTS))
    make_entries(client_a, 2, start=100)
    (draft,) = declarations_of(build(client_a, staff_a))
    return {"declaration": declaration, "draft": draft, "report": report}


def _object_urls(client, world) -> list[str]:
    d, draft, r = world["declaration"], world["draft"], world["report"]
    return [
        url("declaration", client, public_id=d.public_id),
        url("declaration_file", client, public_id=d.public_id),
        url("declaration_file", client, public_id=draft.public_id),
        url("batch", client, public_id=d.batch.public_id),
        url("batch_zip", client, public_id=draft.batch.public_id),
        url("report", client, public_id=r.public_id),
        url("report_problems", client, public_id=r.public_id),
        url("report_file", client, public_id=r.public_id),
    ]


@pytest.mark.parametrize("outsider", ["member_b", "staff_b"])
def test_outsider_gets_404_on_declarations_files_and_reports(
    client, request, client_a, client_b, a_world, outsider
):
    client.force_login(request.getfixturevalue(outsider))
    # Through client A's pages, and through their own client's pages with A's object ids.
    for target in _object_urls(client_a, a_world) + _object_urls(client_b, a_world):
        response = client.get(target)
        assert response.status_code == 404, target
        assert b"Entry Number" not in response.content and b"CAPE-0001" not in response.content


def test_insiders_download_the_exact_file_and_the_zip(client, member_a, client_a, a_world):
    client.force_login(member_a)
    draft = a_world["draft"]

    response = client.get(url("declaration_file", client_a, public_id=draft.public_id))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert draft.filename in response["Content-Disposition"]
    assert response.content == file_bytes(draft)

    archive = client.get(url("batch_zip", client_a, public_id=draft.batch.public_id))
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.namelist() == [draft.filename]
        assert opened.read(draft.filename) == file_bytes(draft)


def test_preview_then_build_then_record_the_filing(client, staff_a, admin_a, client_a):
    make_ready(client_a, admin_a)
    make_entries(client_a, 3)
    make_entries(client_a, 1, start=10, path="cape_phase2")
    client.force_login(staff_a)

    preview = client.get(url("declaration_new", client_a), {"as_of": "2026-11-23", "importer_number": ""})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "cape_client-a_20261123_all_01of01.csv" in page
    assert "Type 09 reconciliation entry" in page
    assert entry_number(10) in page
    with scope(client=client_a):
        assert not Declaration.objects.exists()  # a preview reserves nothing

    built = client.post(url("declaration_new", client_a), {"as_of": "2026-11-23", "importer_number": ""})
    assert built.status_code == 302
    with scope(client=client_a):
        declaration = Declaration.objects.get()
    assert built.url == declaration.batch.get_absolute_url()
    assert client.get(built.url).status_code == 200

    filed = client.post(
        url("declaration_filing", client_a, public_id=declaration.public_id),
        {"claim_number": "CAPE-77", "filed_on": FILED_ON.isoformat()},
    )
    assert filed.status_code == 302
    detail = client.get(filed.url).content.decode()
    assert "CAPE claim CAPE-77" in detail and "Filed" in detail


def test_filing_page_shows_why_a_client_is_not_ready(client, staff_a, client_a):
    make_entries(client_a, 1)
    (declaration,) = declarations_of(build(client_a, staff_a))
    client.force_login(staff_a)

    response = client.post(
        url("declaration_filing", client_a, public_id=declaration.public_id),
        {"claim_number": "C1", "filed_on": FILED_ON.isoformat(), "override_reason": "please"},
    )

    assert response.status_code == 200
    assert "Only a staff manager" in response.content.decode()


def test_members_and_client_admins_cannot_build_by_default(client, member_a, admin_a, client_a, settings):
    make_entries(client_a, 1)
    for person in (member_a, admin_a):
        client.force_login(person)
        assert client.get(url("declaration_new", client_a)).status_code == 404
        assert client.post(url("declaration_new", client_a), {"as_of": "2026-11-23"}).status_code == 404
        assert "Prepare a declaration" not in client.get(url("claims", client_a)).content.decode()

    settings.CAPE_CLIENT_ADMINS_MAY_BUILD = True
    client.force_login(admin_a)
    assert client.get(url("declaration_new", client_a)).status_code == 200
    assert client.post(url("declaration_new", client_a), {"as_of": "2026-11-23"}).status_code == 302
    client.force_login(member_a)
    assert client.get(url("declaration_new", client_a)).status_code == 404


def test_discarding_a_draft_from_its_page(client, staff_a, member_a, client_a, a_world):
    draft = a_world["draft"]
    client.force_login(member_a)
    assert client.post(url("declaration_discard", client_a, public_id=draft.public_id)).status_code == 404

    client.force_login(staff_a)
    response = client.post(url("declaration_discard", client_a, public_id=draft.public_id))

    assert response.status_code == 302
    with scope(client=client_a):
        assert Declaration.objects.get(pk=draft.pk).status == "discarded"


def test_uploading_a_cbp_report_from_the_page(
    client, staff_a, member_a, client_a, a_world, django_capture_on_commit_callbacks
):
    content = csv_bytes(
        [
            ["Claim Number", "Entry Number", "Principal", "Interest"],
            ["CAPE-0001", entry_number(0), "100", "2"],
        ]
    )
    client.force_login(member_a)
    assert (
        client.post(
            url("reports", client_a), {"kind": "es022", "file": SimpleUploadedFile("e.csv", content)}
        ).status_code
        == 404
    )

    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("reports", client_a), {"kind": "es022", "file": SimpleUploadedFile("e.csv", content)}
        )

    assert response.status_code == 302
    with scope(client=client_a):
        report = CbpReport.objects.get(kind="es022")
    assert report.status == "succeeded" and report.rows_matched == 1
    page = client.get(response.url).content.decode()
    assert "1 row read: 1 matched, 0 not matched; 1 ledger entry updated." in page
    claims = client.get(url("claims", client_a)).content.decode()
    assert "$100.00" in claims and "$2.00" in claims


def test_report_page_lists_unmatched_rows_and_their_csv(client, member_a, client_a, a_world):
    client.force_login(member_a)
    report = a_world["report"]

    page = client.get(url("report", client_a, public_id=report.public_id)).content.decode()
    csv_text = b"".join(
        client.get(url("report_problems", client_a, public_id=report.public_id)).streaming_content
    )

    assert "not one of this client&#x27;s entries" in page
    assert csv_text.decode().splitlines()[0] == "row,entry_number,claim_number,reason"
    assert len(csv_text.decode().splitlines()) == 1 + report.rows_unmatched


def test_entry_page_shows_a_rejected_entrys_next_action(client, member_a, client_a, a_world):
    client.force_login(member_a)

    page = client.get(
        reverse("entries:detail", kwargs={"client_slug": "client-a", "entry_number": entry_number(3)})
    )

    text = page.content.decode()
    assert page.status_code == 200
    assert "Rejected by CBP in claim CAPE-0001" in text
    assert "The protest decides the refund" in text
    assert "CAPE filing history" in text


def test_staff_allow_refiling_from_the_declaration_page(client, staff_a, client_a, a_world):
    client.force_login(staff_a)
    declaration = a_world["declaration"]

    response = client.post(
        url("declaration_allow_refile", client_a, public_id=declaration.public_id),
        {"entry_number": entry_number(5), "note": "PSC accepted"},
    )

    assert response.status_code == 302
    assert "goes into the next declaration" in client.get(response.url).content.decode()


def test_staff_cape_page_shows_caseload_totals_and_the_queue(
    client, staff_a, staff_b, member_a, client_a, a_world
):
    client.force_login(staff_a)
    page = client.get(reverse("staff:cape")).content.decode()
    assert "Alpha Imports LLC" in page and "The protest decides the refund" in page

    client.force_login(staff_b)
    page = client.get(reverse("staff:cape")).content.decode()
    assert "Alpha Imports LLC" not in page and entry_number(3) not in page

    client.force_login(member_a)
    assert client.get(reverse("staff:cape")).status_code == 404


def test_claims_page_queries_do_not_grow_with_declarations(client, staff_a, client_a):
    client.force_login(staff_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("claims", client_a)).status_code == 200
        return len(captured)

    make_entries(client_a, 1)
    build(client_a, staff_a)
    one = queries()
    for i in (1, 2):
        make_entries(client_a, 1, start=i)
        build(client_a, staff_a)

    assert queries() == one
