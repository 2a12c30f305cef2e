"""At 390 px wide (a phone) no page scrolls sideways, for a client user and for staff (issue 15, "Small
screens"). Each page is screenshotted to test-artifacts/screenshots/390-*.png for a reviewer."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from entries.ingestion.services import report_import, report_upload
from entries.models import Entry, EntryReport
from refunds.services import declaration_batch_build
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

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

CLIENT_PAGES = [
    ("overview", "/c/acme/"),
    ("onboarding", "/c/acme/onboarding/"),
    ("reports", "/c/acme/reports/"),
    ("report", "{report}"),
    ("entries", "/c/acme/entries/"),
    ("entry", "{entry}"),
    ("claims", "/c/acme/claims/"),
    ("protests", "/c/acme/protests/"),
    ("declaration", "{declaration}"),
    ("letters", "/c/acme/letters/"),
    ("team", "/c/acme/team/"),
    ("company", "/c/acme/profile/"),
    ("audit", "/c/acme/audit/"),
    ("reminders", "/reminders/"),
    ("password", "/accounts/password/change/"),
]
STAFF_PAGES = [
    ("staff-caseload", "/staff/"),
    ("staff-deadlines", "/staff/deadlines/"),
    ("staff-onboarding", "/staff/onboarding/"),
    ("staff-clients", "/staff/clients/"),
    ("staff-assignments", "/staff/assignments/"),
    ("staff-reports", "/staff/reports/"),
    ("staff-cape", "/staff/cape/"),
    ("staff-letters", "/staff/letters/"),
    ("staff-protests-new", "/c/acme/protests/new/"),
    ("staff-entries", "/c/acme/entries/"),
    ("staff-entry", "{entry}"),
    ("staff-declaration-new", "/c/acme/claims/new/"),
    ("staff-declaration", "{declaration}"),
    ("staff-letter-new", "/c/acme/letters/new/replacement_refund/"),
    ("staff-two-factor", "/accounts/2fa/"),
]
ANONYMOUS_PAGES = [("login", "/accounts/login/"), ("password-reset", "/accounts/password/reset/")]


@pytest.fixture
def acme():
    """Acme with the basic sample report imported, ready to file, and a draft CAPE declaration.

    Transactional tests flush every table when they end, data migrations' rows too: the interest rates
    the pages estimate with are seeded again by their migration's own function.
    """
    seed_reference_data()
    client = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    numbers = SAMPLE_IORS["es003_basic.csv"]
    for number in numbers:
        importer_number(client, number)
    admin = member(
        client, UserFactory(email="ines@acme.example", full_name="Ines Okafor"), role="client_admin"
    )
    member(client, UserFactory(email="ben@acme.example"))
    make_ready(client, admin, importer_numbers=numbers)
    staff = staff_user(mfa=False, email="sam@broker.example", full_name="Sam Reyes")
    secret = with_totp(staff)
    assign(client, staff)
    with scope(client=client):
        report, _ = report_upload(
            actor=admin,
            client=client,
            uploaded=SimpleUploadedFile("es003_basic.csv", (SAMPLES / "es003_basic.csv").read_bytes()),
            enqueue=False,
        )
        report_import(report=report, as_of=timezone.localdate())
        report = EntryReport.objects.get(pk=report.pk)
        entry = Entry.objects.filter(client=client).order_by("-line_count", "entry_number").first()
        batch = declaration_batch_build(actor=staff, client=client, as_of=timezone.localdate())
        declaration = batch.declarations.first()
    return {
        "report": report.get_absolute_url(),
        "entry": entry.get_absolute_url(),
        "declaration": declaration.get_absolute_url(),
        "staff_secret": secret,
    }


def _overflow(page, name: str, url: str) -> int | None:
    page.goto(page.base + url)
    page.wait_for_load_state("networkidle")
    shot(page, f"390-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    return width if width > PHONE["width"] else None


def _visit_all(page, pages, acme) -> dict[str, int]:
    too_wide = {}
    for name, url in pages:
        url = url.format(**acme)
        if (width := _overflow(page, name, url)) is not None:
            too_wide[f"{name} ({url})"] = width
    return too_wide


def test_no_page_scrolls_sideways_at_390px(page, new_page, acme):
    page.set_viewport_size(PHONE)
    too_wide = _visit_all(page, ANONYMOUS_PAGES, acme)

    login(page, "ines@acme.example")
    too_wide |= _visit_all(page, CLIENT_PAGES, acme)

    staff = new_page()
    staff.set_viewport_size(PHONE)
    login(staff, "sam@broker.example", totp_secret=acme["staff_secret"])
    too_wide |= _visit_all(staff, STAFF_PAGES, acme)

    assert not too_wide, f"pages wider than {PHONE['width']} px (scrollWidth): {too_wide}"


# A figure tile's value is clipped (wider than its box) or wrapped (taller than one line); a table's amount
# cell is clipped. Table cells have padding, so only the tiles are measured for wrapping.
AMOUNTS_CUT = """() => [...document.querySelectorAll('.stat .value, td.text-end')]
    .filter(el => el.offsetParent !== null)
    .filter(el => el.scrollWidth > el.clientWidth + 1
        || (el.matches('.stat .value')
            && el.getBoundingClientRect().height > 1.8 * parseFloat(getComputedStyle(el).fontSize)))
    .map(el => el.textContent.trim())"""


def test_amounts_are_never_cut_at_390px(page, new_page, acme):
    """The figures show in full on one line: nothing clipped, no amount broken over two lines."""
    page.set_viewport_size(PHONE)
    login(page, "ines@acme.example")
    staff = new_page()
    staff.set_viewport_size(PHONE)
    login(staff, "sam@broker.example", totp_secret=acme["staff_secret"])
    for person, url in [
        (page, "/c/acme/"),
        (page, "/c/acme/entries/"),
        (page, acme["entry"]),
        (staff, "/staff/"),
        (staff, "/c/acme/protests/new/?as_of=" + timezone.localdate().isoformat()),
        (staff, "/c/acme/claims/new/?as_of=" + timezone.localdate().isoformat()),
    ]:
        person.goto(person.base + url)
        assert person.locator(".stat .value, td.text-end").count(), url  # the page shows amounts
        cut = person.evaluate(AMOUNTS_CUT)
        assert not cut, f"amounts cut on {url}: {cut}"
    # The overview's table of paths fits its card: every amount in view without scrolling the card.
    page.goto(page.base + "/c/acme/")
    assert page.evaluate(
        "() => [...document.querySelectorAll('figure.table-responsive')].every(f => f.scrollWidth <= f.clientWidth)"
    )
