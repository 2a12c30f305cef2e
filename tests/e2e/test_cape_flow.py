"""End-to-end in Chromium: staff build a CAPE declaration, download its file, record the filing, upload
CBP's results with one rejection (matched by the real Celery worker) and see the next action."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from domain.entry_numbers import display
from entries.ingestion.services import report_import, report_upload
from entries.models import Entry
from tests.e2e.conftest import login, shot
from tests.entries.helpers import SAMPLE_IORS, SAMPLES
from tests.factories import (
    ClientFactory,
    UserFactory,
    assign,
    importer_number,
    member,
    seed_reference_data,
    staff_user,
    with_totp,
)
from tests.refunds.helpers import make_ready

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CLAIM = "CAPE2026001234"
PROTEST_REASON = "Entry is subject to an active protest"


@pytest.fixture
def rejection_reasons(transactional_db):
    """The reason -> next action table as its data migration seeds it.

    Transactional tests flush every table when they end, so the migration's rows are gone for the tests
    that follow (serialized_rollback would restore them, but collides with the content types re-created
    by those flushes); the migration's own function puts them back.
    """
    seed_reference_data()


def _client_with_entries():
    """Acme, ready to file, with the entries of the basic sample ES-003 report classified as of today."""
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    numbers = SAMPLE_IORS["es003_basic.csv"]
    for number in numbers:
        importer_number(acme, number)
    admin = member(acme, UserFactory(email="ines@acme.example"), role="client_admin")
    make_ready(acme, admin, importer_numbers=numbers)
    with scope(client=acme):
        report, _ = report_upload(
            actor=admin,
            client=acme,
            uploaded=SimpleUploadedFile("es003_basic.csv", (SAMPLES / "es003_basic.csv").read_bytes()),
            enqueue=False,
        )
        report_import(report=report, as_of=timezone.localdate())
        on_cape_path = set(
            Entry.objects.filter(client=acme, refund_path__in=["cape_phase1", "cape_phase2"]).values_list(
                "entry_number", flat=True
            )
        )
        others = Entry.objects.filter(client=acme).exclude(entry_number__in=on_cape_path).count()
    assert on_cape_path and others, "the sample should hold entries on a CAPE path and entries not on one"
    return acme, on_cape_path


def test_staff_build_download_file_record_results_and_next_action(
    page, celery_worker_process, rejection_reasons, tmp_path
):
    acme, on_cape_path = _client_with_entries()
    staff = staff_user(mfa=False, email="sam@broker.example")
    secret = with_totp(staff)
    assign(acme, staff)

    login(page, "sam@broker.example", totp_secret=secret)
    page.goto(page.base + "/c/acme/claims/")
    page.click("text=Prepare a declaration")
    page.wait_for_url(re.compile(r"/claims/new/"))
    assert page.input_value("input[name=as_of]") == timezone.localdate().isoformat()
    page.click("#preview-form button:has-text('Preview')")
    page.wait_for_url(re.compile(r"as_of="))
    count = page.inner_text("#preview-totals .stat .value >> nth=0")
    assert count == str(len(on_cape_path))
    previewed = {
        code.strip() for code in page.locator("#preview-entries tbody td:first-child code").all_inner_texts()
    }
    assert previewed == {display(number) for number in on_cape_path}  # dashed, as a person reads them
    shot(page, "10-cape-preview")

    page.click("button:has-text('Build 1 draft declaration')")
    page.wait_for_selector(f"text={len(on_cape_path)} entries reserved in 1 draft declaration.")
    filename = page.inner_text("#batch-files tbody code")
    assert re.fullmatch(rf"cape_acme_{timezone.localdate():%Y%m%d}_all_01of01\.csv", filename)
    page.click(f"#batch-files a:has-text('{filename}')")
    page.wait_for_selector("text=Draft declaration")

    with page.expect_download() as download:
        page.click(f"a:has-text('Download {filename}')")
    assert download.value.suggested_filename == filename
    content = open(download.value.path(), "rb").read()
    # CBP's template: ASCII, no BOM, "Entry Number" then one 11-character entry number per CRLF line.
    assert content.isascii() and not content.startswith(b"\xef\xbb\xbf")
    assert content.endswith(b"\r\n") and b"\n" not in content.replace(b"\r\n", b"")
    lines = content.decode().split("\r\n")[:-1]
    assert lines[0] == "Entry Number"
    assert all(re.fullmatch(r"[0-9A-Z]{11}", line) for line in lines[1:]), lines
    assert lines[1:] == sorted(on_cape_path)

    page.fill("input[name=claim_number]", CLAIM)
    assert page.input_value("input[name=filed_on]") == timezone.localdate().isoformat()
    page.click("button:has-text('Record as filed')")
    page.wait_for_selector(f"text=Filing recorded: {filename} is CAPE claim {CLAIM}.")
    assert page.inner_text("#declaration-status") == "Filed"
    shot(page, "11-cape-filed")

    # CBP's validation results: every entry accepted but one, rejected for a protest.
    rejected, *accepted = lines[1:]
    results = ["Claim Number,Entry Number,Status,Reason"]
    results += [f"{CLAIM},{rejected},Rejected,{PROTEST_REASON}"]
    results += [f"{CLAIM},{number},Accepted," for number in accepted]
    upload = tmp_path / "cape_validation_results.csv"
    upload.write_text("\r\n".join(results) + "\r\n")

    page.click("text=Upload CBP's validation results or refund reports")
    page.wait_for_url(re.compile(r"/claims/reports/$"))
    page.select_option("select[name=kind]", label="CAPE validation results")
    page.set_input_files("input[name=file]", str(upload))
    page.click("button:has-text('Upload and match')")
    page.wait_for_selector("text=cape_validation_results.csv received")
    page.wait_for_selector("#report-summary", timeout=60_000)  # htmx re-polls until the worker is done
    summary = page.inner_text("#report-summary")
    assert re.search(rf"Matched\s+{len(lines) - 1}\b", summary), summary
    assert re.search(r"Not matched\s+0\b", summary), summary
    shot(page, "12-cape-results-matched")

    # The claims page lists the rejected entry with CBP's reason and what to do next.
    page.click("nav[aria-label=breadcrumb] >> text=Claims")
    page.wait_for_selector("#declarations")
    declaration_row = page.locator("#declarations tbody tr", has_text=CLAIM)
    assert "Accepted with Error(s)" in declaration_row.inner_text()
    rejections = page.locator("#rejections tbody tr")
    assert rejections.count() == 1
    assert display(rejected) in rejections.inner_text() and PROTEST_REASON in rejections.inner_text()
    assert "The protest decides the refund" in rejections.inner_text()
    shot(page, "13-cape-claims-next-action")

    # And the declaration's page, entry by entry.
    declaration_row.locator(f"a:has-text('{CLAIM}')").click()
    page.wait_for_selector("#ledger")
    assert page.inner_text("#declaration-status") == "Accepted with Error(s)"
    row = page.locator("#ledger tbody tr.table-danger")
    assert row.count() == 1 and display(rejected) in row.inner_text()  # dashed, as a person reads it
    assert PROTEST_REASON in row.inner_text() and "The protest decides the refund" in row.inner_text()
    assert page.locator("#ledger tbody tr", has_text="Accepted").count() == len(accepted)
    shot(page, "14-cape-declaration-rejection")
    assert not page.console_errors, page.console_errors
