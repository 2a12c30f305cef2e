"""What a user sees on the CAPE pages: one colour per declaration status on every page, a notice that counts
in words, one refund column that never shows two dashes, a CBP results page that links the declarations it
answered for with their accepted/rejected split, and no dead Letters page left in the refunds app.

Pages are read with a small HTML tree (tests/html_tree.py) so assertions name cells and classes, not bytes.
"""

import pytest
from django.urls import NoReverseMatch, resolve, reverse
from django.utils import timezone
from django_scopes import scope

from domain.entry_numbers import display
from refunds.services import declaration_record_filing
from tests.html_tree import Node, tree
from tests.refunds.helpers import (
    build,
    csv_bytes,
    declarations_of,
    entry_number,
    make_entries,
    make_ready,
    process,
)


def url(name, client, **kwargs):
    return reverse(f"refunds:{name}", kwargs={"client_slug": client.slug, **kwargs})


def _file(client, staff, claim_number: str):
    """Build and record the filing today (tests.refunds.helpers.FILED_ON is a fixed date, before a build made on a
    later day, which the filing refuses)."""
    (declaration,) = declarations_of(build(client, staff))
    with scope(client=client):
        return declaration_record_filing(
            actor=staff, declaration=declaration, claim_number=claim_number, filed_on=timezone.localdate()
        )


@pytest.fixture
def two_claims(client_a, staff_a, admin_a):
    """CAPE-0001 (3 entries, one of them Phase 2) and CAPE-0002 (2 entries), answered by one results file
    matched by claim number: CAPE-0001 partially rejected, CAPE-0002 accepted; then a draft."""
    make_ready(client_a, admin_a)
    make_entries(client_a, 2)
    make_entries(client_a, 1, start=2, path="cape_phase2")
    first = _file(client_a, staff_a, "CAPE-0001")
    make_entries(client_a, 2, start=100)
    second = _file(client_a, staff_a, "CAPE-0002")
    rows = [
        ["Claim Number", "Entry Number", "Status", "Reason"],
        ["CAPE-0001", entry_number(0), "Accepted", ""],
        ["CAPE-0001", entry_number(1), "Accepted", ""],
        ["CAPE-0001", entry_number(2), "Rejected", "Entry is subject to an active PROTEST"],
        ["CAPE-0002", entry_number(100), "Accepted", ""],
        ["CAPE-0002", entry_number(101), "Accepted", ""],
    ]
    report = process(client_a, staff_a, "results", csv_bytes(rows), name="cape_results.csv")
    assert report.status == "succeeded" and report.rows_matched == 5, report.message
    make_entries(client_a, 1, start=200)
    (draft,) = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        first.refresh_from_db()
        second.refresh_from_db()
    assert (first.status, second.status) == ("partially_rejected", "accepted")
    return {"first": first, "second": second, "draft": draft, "report": report}


def _row_of(table: Node, text: str) -> Node:
    (row,) = [tr for tr in table.find_all("tr") if text in tr.text()]
    return row


def _badge(node: Node) -> Node:
    """The declaration status badge inside node (other badges, such as "Phase 2", are left out)."""
    (badge,) = [
        span
        for span in node.find_all("span")
        if "badge" in span.classes and any(c.startswith("status-") for c in span.classes)
    ]
    return badge


def test_declaration_status_has_the_same_colour_on_claims_batch_and_declaration_pages(
    client, member_a, client_a, two_claims
):
    client.force_login(member_a)
    claims = tree(client.get(url("claims", client_a)))
    expected = {"first": "text-bg-danger", "second": "text-bg-success", "draft": "text-bg-secondary"}

    for key, colour in expected.items():
        declaration = two_claims[key]
        label = declaration.claim_number or declaration.filename
        on_claims = _badge(_row_of(claims.by_id("declarations"), label))
        page = tree(client.get(declaration.get_absolute_url()))
        on_page = page.by_id("declaration-status")
        batch = tree(client.get(declaration.batch.get_absolute_url()))
        on_batch = _badge(_row_of(batch.by_id("batch-files"), declaration.filename))

        assert colour in on_claims.classes, (key, on_claims.classes)
        assert colour in on_page.classes, (key, on_page.classes)
        assert colour in on_batch.classes, (key, on_batch.classes)
        assert on_claims.text() == on_page.text() == on_batch.text() == declaration.get_status_display()


def test_phase2_notice_counts_in_words(client, member_a, client_a, staff_a, two_claims):
    client.force_login(member_a)
    one = tree(client.get(two_claims["first"].get_absolute_url()))
    (notice,) = [d for d in one.find_all("div") if "alert-warning" in d.classes]
    assert notice.text().startswith("1 Phase 2 entry: this declaration must be accepted")
    assert "3 entries ·" in one.text()

    make_entries(client_a, 2, start=300, path="cape_phase2")
    (two,) = declarations_of(build(client_a, staff_a))
    page = tree(client.get(two.get_absolute_url()))
    (notice,) = [d for d in page.find_all("div") if "alert-warning" in d.classes]
    assert notice.text().startswith("2 Phase 2 entries: this declaration must be accepted")
    assert "2 entries ·" in page.text()

    no_phase2 = tree(client.get(two_claims["second"].get_absolute_url()))
    assert not [d for d in no_phase2.find_all("div") if "alert-warning" in d.classes]


def test_refund_is_one_column_with_one_dash_until_cbp_reports_it(
    client, member_a, client_a, staff_a, two_claims
):
    client.force_login(member_a)
    declaration = two_claims["second"]

    def ledger() -> Node:
        return tree(client.get(declaration.get_absolute_url())).by_id("ledger")

    table = ledger()
    headers = [th.text() for th in table.find_all("th")]
    assert headers[-1] == "Refund (principal + interest)"
    assert "Refund status" not in headers
    for number in (display(entry_number(100)), display(entry_number(101))):
        cells = _row_of(table, number).find_all("td")
        assert len(cells) == len(headers)
        assert cells[-1].text() == "—"
        assert "text-nowrap" in cells[1].classes and cells[1].text() == "Phase 1"
    assert "— —" not in table.text()

    es022 = [
        ["Claim Number", "Entry Number", "Principal", "Interest"],
        ["CAPE-0002", entry_number(100), "100", "2"],
    ]
    assert process(client_a, staff_a, "es022", csv_bytes(es022)).rows_matched == 1
    rev603 = [
        ["Claim Number", "Entry Number", "Refund Status", "Status Date"],
        ["CAPE-0002", entry_number(100), "Issued", "12/05/2026"],
        ["CAPE-0002", entry_number(101), "Sent", "12/01/2026"],
    ]
    assert process(client_a, staff_a, "rev603", csv_bytes(rev603)).rows_matched == 2

    table = ledger()
    assert (
        _row_of(table, display(entry_number(100))).find_all("td")[-1].text()
        == "$100.00 + $2.00 Issued 2026-12-05"
    )
    assert _row_of(table, display(entry_number(101))).find_all("td")[-1].text() == "Sent 2026-12-01"
    assert "—" not in table.text()


def test_results_report_page_links_each_declaration_with_its_split(client, member_a, client_a, two_claims):
    client.force_login(member_a)
    report = two_claims["report"]

    page = tree(client.get(url("report", client_a, public_id=report.public_id)))
    table = page.by_id("report-declarations")

    first, second = two_claims["first"], two_claims["second"]
    row = _row_of(table, "CAPE-0001")
    cells = [td.text() for td in row.find_all("td")]
    assert cells[:5] == ["CAPE claim CAPE-0001", "Accepted with Error(s)", "2", "1", "3"]
    assert "text-bg-danger" in _badge(row).classes
    links = {a.attrs["href"] for a in row.find_all("a")}
    assert links == {first.get_absolute_url(), first.get_absolute_url() + "#ledger"}
    assert "What to do about the rejected entry" in row.text()

    row = _row_of(table, "CAPE-0002")
    assert [td.text() for td in row.find_all("td")][:5] == ["CAPE claim CAPE-0002", "Accepted", "2", "0", "2"]
    assert {a.attrs["href"] for a in row.find_all("a")} == {second.get_absolute_url()}
    assert len(table.find_all("tbody")[0].find_all("tr")) == 2

    # And back: each declaration's page lists the results file that answered for it.
    for declaration in (first, second):
        listed = tree(client.get(declaration.get_absolute_url())).by_id("declaration-reports")
        (item,) = listed.find_all("li")
        assert item.find_all("a")[0].attrs["href"] == report.get_absolute_url()
        assert item.text().startswith("cape_results.csv · CAPE validation results ·")

    # The htmx refresh of the finished report carries the same table.
    polled = tree(client.get(url("report", client_a, public_id=report.public_id), HTTP_HX_REQUEST="true"))
    assert polled.by_id("report-declarations").text() == table.text()


def test_refund_reports_and_other_clients_show_no_declarations_table(
    client, member_a, member_b, client_a, staff_a, two_claims
):
    es022 = [
        ["Claim Number", "Entry Number", "Principal", "Interest"],
        ["CAPE-0002", entry_number(100), "1", "0"],
    ]
    refunds_report = process(client_a, staff_a, "es022", csv_bytes(es022))
    client.force_login(member_a)
    page = tree(client.get(url("report", client_a, public_id=refunds_report.public_id)))
    assert not page.find_all(id="report-declarations")

    client.force_login(member_b)
    assert client.get(url("report", client_a, public_id=two_claims["report"].public_id)).status_code == 404


def test_letters_address_is_the_clients_letters_page_only(client, staff_a, client_a):
    with pytest.raises(NoReverseMatch):
        reverse("refunds:letters", kwargs={"client_slug": client_a.slug})
    address = reverse("clients:letters", kwargs={"client_slug": client_a.slug})
    assert resolve(address).view_name == "clients:letters"

    client.force_login(staff_a)
    onboarding = client.get(reverse("clients:onboarding", kwargs={"client_slug": client_a.slug}))
    sub_account = tree(onboarding).by_id("item-sub_account")
    assert address in {a.attrs.get("href") for a in sub_account.find_all("a")}
    assert client.get(address).status_code == 200
