"""End-to-end in Chromium: staff build a protest draft, generate its Form 19 PDF, record the filing, then CBP's
denial; the court deadline (denial + 180 days) appears on the client's private calendar feed."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope

from domain.entry_numbers import display
from entries.models import Entry, EntryLine
from entries.reminders.services import calendar_feed_create
from protests.authorization import protest_authorization_grant
from tests.e2e.conftest import login, shot
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
from tests.refunds.helpers import entry_number

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

IOR = "19-528224900"
PROTEST_NUMBER = "2704-26-100123"


@pytest.fixture
def protest_templates(transactional_db):
    """The objection templates and interest rates as their data migrations seed them (transactional tests flush
    every table)."""
    seed_reference_data()


def _client_with_a_protest_entry():
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    importer_number(acme, IOR)
    admin = member(acme, UserFactory(email="ines@acme.example"), role="client_admin")
    liquidated = timezone.localdate() - timedelta(days=120)
    with scope(client=acme):
        entry = Entry.objects.create(
            client=acme,
            entry_number=entry_number(42),
            entry_type="01",
            importer_number=IOR,
            port="2704",
            entry_date=liquidated - timedelta(days=300),
            entry_summary_date=liquidated - timedelta(days=290),
            liquidation_status="liquidated",
            liquidation_date=liquidated,
            ieepa_duty=Decimal("4321.09"),
            refund_path="protest",
        )
        EntryLine.objects.create(client=acme, entry=entry, hts="8471300100", duty=Decimal("100.00"))
        protest_authorization_grant(actor=admin, client=acme, importer_numbers=[IOR], ip_address="127.0.0.1")
    return acme, admin, entry


def test_draft_filed_denied_and_the_court_deadline_on_the_clients_calendar(page, protest_templates):
    acme, admin, entry = _client_with_a_protest_entry()
    staff = staff_user(mfa=False, email="sam@broker.example")
    secret = with_totp(staff)
    assign(acme, staff)

    login(page, "sam@broker.example", totp_secret=secret)
    page.goto(page.base + "/c/acme/protests/")
    page.click("text=Prepare protest drafts")
    page.wait_for_url(re.compile(r"/protests/new/"))
    assert page.inner_text("#preview-totals .stat .value >> nth=1") == "1"
    assert "2704" in page.inner_text("#preview-drafts") and IOR in page.inner_text("#preview-drafts")
    shot(page, "protests-01-preview")
    page.click("#build-form button")
    page.wait_for_url(re.compile(r"/protests/$"))
    drafts = page.inner_text("#drafts")
    assert "2704" in drafts and "$4,321.09" in drafts

    page.click("#drafts a")
    page.wait_for_url(re.compile(r"/protests/[0-9a-f-]{36}/$"))
    assert display(entry.entry_number) in page.inner_text("#protest-entries")  # dashed, as a person reads it
    assert "Acme Imports LLC" in page.inner_text("#contents") and "8471.30.0100" in page.content()
    page.click("#pdf-generate")
    page.wait_for_selector("#pdf-download")
    with page.expect_download() as download:
        page.click("#pdf-download")
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    with page.expect_download() as download:
        page.click("#csv-download")
    lines = open(download.value.path()).read().splitlines()
    assert lines[0] == "Entry Number,Entry Date,Liquidation Date" and lines[1].startswith(entry.entry_number)
    shot(page, "protests-02-draft")

    page.fill("#filing-form input[name=protest_number]", PROTEST_NUMBER)
    page.fill("#filing-form input[name=filed_on]", (timezone.localdate() - timedelta(days=10)).isoformat())
    page.select_option("#filing-form select[name=filed_by_party]", "broker")
    page.click("#filing-form button[type=submit]")
    page.wait_for_selector("text=Filing recorded")
    assert "Filed, pending" in page.inner_text("#protest-status")
    with scope(client=acme):
        assert Entry.objects.get(pk=entry.pk).refund_path == "excluded"  # under protest at once
    shot(page, "protests-03-filed")

    denied_on = timezone.localdate() - timedelta(days=2)
    court = denied_on + timedelta(days=180)
    page.select_option("#decision-form select[name=decision]", "denied")
    page.fill("#decision-form input[name=decided_on]", denied_on.isoformat())
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("text=CBP's decision recorded")
    assert "Denied" in page.inner_text("#protest-status")
    assert page.inner_text("#protest-entries .court-deadline") == court.isoformat()
    shot(page, "protests-04-denied")

    # The client's admin subscribes to their calendar: the court deadline is on it.
    token = calendar_feed_create(user=admin)
    feed = page.request.get(f"{page.base}/feeds/{token}.ics").text()
    assert f"DTSTART;VALUE=DATE:{court:%Y%m%d}" in feed
    assert "Court deadline" in feed and entry.entry_number in feed
    page.goto(page.base + f"/c/acme/entries/{entry.entry_number}/")
    shot(page, "protests-05-entry-court-deadline")
    assert not page.console_errors
