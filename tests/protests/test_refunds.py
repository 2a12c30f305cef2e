"""An allowed (or partially allowed) protest's refund lands in the refund ledger as a CAPE refund does: CBP's
ES-022, REV-603 and REV-613 reports match it by entry (fixtures in tests/fixtures/protests), and the ledger's
refunded figures (the claims page, the staff CAPE page, the caseload's stored figures) include it."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django_scopes import scope

from clients.models import ChecklistItem
from entries.models import LedgerFigures
from protests import following
from protests.models import ProtestEntry
from refunds.selectors import caseload_ledger_totals, ledger_totals
from tests.protests.helpers import build, protest_entries, today
from tests.refunds.helpers import process

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "protests"
PROTEST_NUMBER = "2704-26-000001"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def decided(client_a, staff_a):
    """A filed protest of three entries: allowed, partially allowed ($40.00 of $100.00) and denied."""
    allowed, partial, denied = protest_entries(client_a, 3)
    (protest,) = build(client_a, staff_a)
    on = today() - timedelta(days=5)
    with scope(client=client_a):
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number=PROTEST_NUMBER,
            filed_on=today() - timedelta(days=20),
            filed_by_party="importer",
        )
        decide = lambda decision, entry, **kw: following.protest_decide(  # noqa: E731
            actor=staff_a, protest=protest, decision=decision, decided_on=on, entry_numbers=[entry], **kw
        )
        decide("allowed", allowed.entry_number)
        decide(
            "partially_allowed", partial.entry_number, allowed_amounts={partial.entry_number: Decimal("40")}
        )
        decide("denied", denied.entry_number)
    return protest, allowed, partial, denied


def refunds_of(client) -> dict[str, tuple]:
    with scope(client=client):
        return {
            line.entry_number: (
                line.principal_refunded,
                line.interest_refunded,
                line.refunded_on,
                line.refund_status,
            )
            for line in ProtestEntry.objects.all()
        }


def test_es022_refunds_an_allowed_and_a_partially_allowed_protest_entry(client_a, staff_a, decided):
    protest, allowed, partial, denied = decided

    report = process(client_a, staff_a, "es022", fixture("es022_protest_refunds.csv"))

    assert report.status == "succeeded", report.message
    assert (report.rows_matched, report.rows_unmatched, report.entries_updated) == (2, 1, 2)
    refunds = refunds_of(client_a)
    assert refunds[allowed.entry_number][:3] == (Decimal("100.00"), Decimal("7.25"), date(2026, 11, 20))
    # matched by the protest number CBP put in the claim column
    assert refunds[partial.entry_number][:3] == (Decimal("40.00"), Decimal("2.10"), date(2026, 11, 20))
    assert refunds[denied.entry_number][0] is None
    with scope(client=client_a):
        (reason,) = report.problems.values_list("reason", flat=True)
    assert "ABC-0000002-8" in reason and "no pending or accepted declaration" in reason


def test_rev603_and_rev613_statuses_land_on_the_protest_entries(client_a, staff_a, decided):
    protest, allowed, partial, _ = decided
    process(client_a, staff_a, "es022", fixture("es022_protest_refunds.csv"))

    status = process(client_a, staff_a, "rev603", fixture("rev603_protest_refunds.csv"))

    assert status.status == "succeeded", status.message
    assert (status.rows_matched, status.rows_unmatched) == (3, 0)
    refunds = refunds_of(client_a)
    assert refunds[allowed.entry_number][3] == "issued"  # the latest of Sent to Treasury, Treasury Issued
    assert refunds[partial.entry_number][3] == "diverted"
    assert "diverted" in status.message
    with scope(client=client_a):
        assert ChecklistItem.objects.get(key="ach_enrollment").status == "blocked"  # reopened, as for CAPE

    returned = process(client_a, staff_a, "rev613", fixture("rev613_protest_refunds.csv"))

    assert (returned.rows_matched, returned.ach_returns) == (1, 1)
    with scope(client=client_a):
        line = ProtestEntry.objects.get(entry_number=allowed.entry_number)
    assert (line.refund_status, line.refund_status_on) == ("ach_returned", date(2026, 11, 30))
    assert line.refund_note == "R03 No account / unable to locate account"
    with scope(client=client_a):
        totals = ledger_totals(client=client_a)
    assert (totals["diverted"], totals["diverted_amount"]) == (1, Decimal("42.10"))
    assert (totals["returned"], totals["returned_amount"]) == (1, Decimal("107.25"))


def test_the_ledger_figures_include_refunds_on_allowed_protests(client, client_a, staff_a, member_a, decided):
    process(client_a, staff_a, "es022", fixture("es022_protest_refunds.csv"))

    with scope(client=client_a):
        totals = ledger_totals(client=client_a)
    assert (totals["refunded"], totals["refunded_principal"], totals["refunded_interest"]) == (
        2,
        Decimal("140.00"),
        Decimal("9.35"),
    )
    assert (totals["filed"], totals["outside_cape"], totals["outside_cape_principal"]) == (
        0,
        2,
        Decimal("140"),
    )
    # The caseload's stored figures, refreshed by the reconciliation.
    with scope(client=client_a):
        figures = LedgerFigures.objects.get(client=client_a)
    assert (figures.refunded, figures.refunded_principal) == (2, Decimal("140.00"))
    # The staff CAPE page lists the client although it has no CAPE ledger, with the protests' refunds.
    rows, overall = caseload_ledger_totals(user=staff_a)
    assert [(r.client, r.totals["refunded_principal"]) for r in rows] == [(client_a, Decimal("140.00"))]
    assert overall["refunded"] == 2
    # What the client's users see on the claims page.
    client.force_login(member_a)
    page = client.get(reverse("refunds:claims", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "$140.00" in page and "$140.00 of it on allowed protests (2 entries)" in page
    client.force_login(staff_a)
    page = client.get(reverse("staff:cape")).content.decode()
    assert "Alpha Imports LLC" in page and "$140.00" in page
    page = client.get(reverse("staff:caseload")).content.decode()  # the caseload's refunded column
    assert "$140.00" in page


def test_a_refund_for_a_pending_protest_entry_is_not_matched(client_a, staff_a):
    (entry,) = protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number=PROTEST_NUMBER,
            filed_on=today(),
            filed_by_party="importer",
        )
    body = f"Entry Number,Principal Amount\r\n{entry.entry_number},100.00\r\n".encode()

    report = process(client_a, staff_a, "es022", body)

    assert (report.rows_matched, report.rows_unmatched) == (0, 1)
    assert refunds_of(client_a)[entry.entry_number][0] is None
    with scope(client=client_a):
        assert ledger_totals(client=client_a)["refunded"] == 0
