"""End-to-end in Chromium: staff preview and generate a letter (the PDF rendered by the real Celery worker),
download it; a user of the client downloads it too; a user of another client gets 404 on its addresses."""

import io
import re

import pytest
from pypdf import PdfReader

from tests.e2e.conftest import login, shot
from tests.factories import ClientFactory, UserFactory, assign, importer_number, member, staff_user, with_totp

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NOTES = "The account was last used in March 2024 for entries under 19-528224900."


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-"), content[:20]
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def test_staff_generate_letter_client_downloads_outsider_gets_404(page, new_page, celery_worker_process):
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    importer_number(acme, "19-528224900")
    member(acme, UserFactory(email="ben@acme.example"))
    beta = ClientFactory(slug="beta", legal_name="Beta Trading Inc.")
    importer_number(beta, "34-370224800")
    member(beta, UserFactory(email="olga@beta.example"), role="client_admin")
    staff = staff_user(mfa=False, email="sam@broker.example")
    secret = with_totp(staff)
    assign(acme, staff)

    # Staff: pick the kind, check the details, preview, generate.
    login(page, "sam@broker.example", totp_secret=secret)
    page.goto(page.base + "/c/acme/letters/")
    page.click("a:has-text('ACE account reactivation request')")
    page.wait_for_url(re.compile(r"/c/acme/letters/new/reactivation/$"))
    assert page.get_by_label("Company name").input_value() == "Acme Imports LLC"
    assert page.get_by_label("Importer numbers (one per line)").input_value() == "19-528224900"
    assert page.locator("button:has-text('Generate PDF')").count() == 0  # only once previewed
    page.get_by_label("Signed by").fill("Dana Alvarez")
    page.get_by_label("Signer's title").fill("President")
    page.get_by_label("Notes for CBP (optional)").fill(NOTES)
    page.click("button:has-text('Preview')")
    preview = page.frame_locator("iframe[title='Letter preview']")
    preview.locator("body").get_by_text(NOTES).wait_for()
    assert "Acme Imports LLC" in preview.locator("body").inner_text()
    shot(page, "15-letter-preview")

    page.click("button:has-text('Generate PDF')")
    page.wait_for_selector("text=is being rendered")
    letter_url = page.url
    assert re.search(r"/c/acme/letters/[0-9a-f-]{36}/$", letter_url), letter_url
    # htmx re-polls the job row until the worker has rendered the PDF and the Download link appears.
    page.wait_for_selector(".job-status a:has-text('Download')", timeout=60_000)
    assert page.inner_text(".job-status strong") == "Done"
    shot(page, "16-letter-generated")
    with page.expect_download() as download:
        page.click(".job-status a:has-text('Download')")
    assert download.value.suggested_filename.endswith(".pdf")
    staff_pdf = open(download.value.path(), "rb").read()
    text = _pdf_text(staff_pdf)
    assert "Acme Imports LLC" in text and "19-528224900" in text and NOTES in text
    download_url = page.base + page.get_attribute(".job-status a:has-text('Download')", "href")
    assert not page.console_errors, page.console_errors

    # A user of the same client finds it on the Letters tab and downloads the same file.
    ben = new_page()
    login(ben, "ben@acme.example")
    ben.goto(page.base + "/c/acme/letters/")
    row = ben.locator("tbody tr", has_text="ACE account reactivation request")
    assert row.count() == 1 and "v1" in row.inner_text() and "Done" in row.inner_text()
    assert ben.locator("a[href*='/letters/new/']").count() == 0  # only staff generate letters
    shot(ben, "17-letter-client-view")
    with ben.expect_download() as download:
        row.locator("a:has-text('Download PDF')").click()
    assert open(download.value.path(), "rb").read() == staff_pdf

    # A user of another client: 404 on the letter's page and its PDF, under either client's address.
    olga = new_page()
    login(olga, "olga@beta.example")
    for target in [
        letter_url,
        download_url,
        letter_url.replace("/c/acme/", "/c/beta/"),
        download_url.replace("/c/acme/", "/c/beta/"),
    ]:
        response = olga.goto(target)
        assert response.status == 404, target
        assert "Acme Imports LLC" not in olga.content() and not olga.content().startswith("%PDF")
    olga.goto(page.base + "/c/beta/letters/")
    assert "No letter yet" in olga.inner_text("main")
