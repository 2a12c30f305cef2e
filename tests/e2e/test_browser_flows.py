"""End-to-end in Chromium: what people do, on a live server with a real Celery worker on Redis."""

import csv
import re
import time
from datetime import timedelta

import pyotp
import pytest
from django.core import mail
from django_scopes import scopes_disabled

from tests.e2e.conftest import shot
from tests.entries.helpers import es003_report_of_entries
from tests.factories import (
    PASSWORD,
    ClientFactory,
    UserFactory,
    assign,
    importer_number,
    member,
    staff_user,
    with_totp,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def login(page, email: str, password: str = PASSWORD, totp_secret: str | None = None, *, offset: int = 0):
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    if totp_secret:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill("input[name=code]", pyotp.TOTP(totp_secret).at(time.time() + offset))
        page.click("main button[type=submit]")
    page.wait_for_load_state()


def logout(page):
    page.click("nav >> text=" + page.locator("nav .dropdown-toggle").last.inner_text().strip())
    page.click("button:has-text('Log out')")
    page.wait_for_load_state()
    if "/accounts/logout/" in page.url:  # allauth asks to confirm when JavaScript did not post directly
        page.click("main button[type=submit]")
        page.wait_for_load_state()


def test_invitation_password_totp_and_mfa_login(page, settings):
    # One TOTP window of tolerance lets the test use the next window's code instead of waiting 30 s
    # (allauth refuses a code twice, and activation already used the current one).
    settings.MFA_TOTP_TOLERANCE = 1
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    staff = staff_user(mfa=False, email="sam@broker.example")
    staff_secret = with_totp(staff)
    assign(acme, staff)

    login(page, "sam@broker.example", totp_secret=staff_secret)
    assert page.url.endswith("/staff/")
    page.goto(page.base + "/c/acme/team/")
    page.fill("input[name=email]", "ines@acme.example")
    page.select_option("select[name=role]", "client_admin")
    page.click("button:has-text('Send invitation')")
    page.wait_for_selector("text=Invitation sent to ines@acme.example")
    shot(page, "01-staff-invites")

    link = re.search(r"https?://\S+/invite/\S+/", mail.outbox[-1].body).group(0)
    admin = page.context.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.goto(link)
    admin.fill("input[name=full_name]", "Ines Alvarez")
    admin.fill("input[name=password1]", PASSWORD)
    admin.fill("input[name=password2]", PASSWORD)
    admin.click("button:has-text('Create my account')")
    admin.wait_for_url(re.compile(r"/c/acme/$"))
    assert admin.locator("#client-name").inner_text() == "Acme Imports LLC"
    shot(admin, "02-client-admin-joined")

    admin.goto(page.base + "/accounts/2fa/totp/activate/")
    if "/reauthenticate/" in admin.url:
        admin.fill("input[name=password]", PASSWORD)
        admin.click("main button[type=submit]")
        admin.wait_for_url(re.compile(r"/2fa/totp/activate/"))
    secret = admin.input_value("#authenticator_secret")
    admin.fill("input[name=code]", pyotp.TOTP(secret).now())
    admin.click("main button[type=submit]")
    admin.wait_for_load_state()
    shot(admin, "03-totp-activated")

    admin.context.clear_cookies()
    admin.base = page.base
    login(admin, "ines@acme.example", totp_secret=secret, offset=30)
    admin.wait_for_url(re.compile(r"/c/acme/$"))
    assert "Acme Imports LLC" in admin.content()
    admin.context.close()


def test_upload_progress_errors_entries_filter_and_export(page, celery_worker_process, tmp_path):
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    importer_number(acme, "19-528224900")
    member(acme, UserFactory(email="lena@acme.example"), role="client_admin")
    report = tmp_path / "es003_full_year.csv"
    report.write_bytes(es003_report_of_entries(100_000, "19-528224900"))

    login(page, "lena@acme.example")
    page.goto(page.base + "/c/acme/reports/")
    page.set_input_files("input[name=files]", str(report))
    page.click("button:has-text('Upload and import')")
    page.wait_for_selector("text=received")
    page.click("table a:has-text('es003_full_year.csv')")

    seen = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        bar = page.locator("#report-status [role=progressbar]")
        seen.add(int(bar.get_attribute("aria-valuenow") or 0))
        if page.locator("#report-summary").count():
            break
        if len(seen) == 2:
            shot(page, "04-import-in-progress")
        time.sleep(0.25)
    assert page.locator("#report-summary").count(), f"import did not finish; progress seen {sorted(seen)}"
    assert any(0 < v < 100 for v in seen), f"the bar never showed a step between 0 and 100: {sorted(seen)}"
    shot(page, "05-import-summary")
    assert "Entries created" in page.inner_text("#report-summary")
    assert "check digit should be" in page.inner_text("#rejections")

    with page.expect_download() as download:
        page.click("text=Download the error report (CSV)")
    rows = list(csv.reader(open(download.value.path())))
    assert (
        rows[0] == ["row", "entry_number", "column", "reason"] and len(rows) == 6
    )  # the 5 rows of the bad entry

    page.goto(page.base + "/c/acme/entries/")
    total = page.inner_text("p.text-secondary.small")
    assert "19,999 entries" in total
    page.select_option("#f-window", "30")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"window=30"))
    shot(page, "06-entries-deadline-30-days")
    with scopes_disabled():
        from django.utils import timezone

        from entries.models import Entry

        today = timezone.localdate()
        due = Entry.objects.filter(
            client=acme,
            next_deadline_kind__in=["cape_window_closes", "protest_deadline"],
            next_deadline__gte=today,
            next_deadline__lte=today + timedelta(days=30),
        ).count()
    with page.expect_download() as download:
        page.click("text=Export CSV")
    exported = list(csv.reader(open(download.value.path())))
    assert len(exported) - 1 == due
    assert not page.console_errors, page.console_errors
