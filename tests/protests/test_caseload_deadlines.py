"""The caseload's "next deadline" and "protest by" columns follow every change to the entries' deadlines.

Both are read from the stored per-client figures (entries.figures), not from the entries: so after each kind of
change (an import, the daily re-classification, a protest filed, decided or withdrawn, a staff mark) the page
must show what the entries themselves now say. The entries come from real ES-003 reports, classified by the
import, as a client's would.
"""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from domain.entry_numbers import check_digit
from entries.ingestion.services import report_import, report_upload
from entries.models import Entry
from entries.services import entries_bulk_mark
from entries.tasks import reclassify_all_clients
from protests import following, services
from tests.protests.helpers import IOR_A, build, today

HEADER = (
    "Entry Summary Number,Entry Type Code,Importer Number,Port of Entry Code,Entry Date,Entry Summary Date,"
    "Entry Summary Line Number,Tariff Ordinal Number,HTS Number - Full,Line Tariff Goods Value Amount,"
    "Line Tariff Duty Amount,Country of Origin Code,Liquidation Status,Liquidation Date"
)


def number(serial: int) -> str:
    first_ten = f"PD4{serial:07d}"
    return first_ten + str(check_digit(first_ten))


# Liquidated this many days before today: on the protest path (180 days) or inside the CAPE window (80 days).
SOON, LATER, CAPE = number(1), number(2), number(3)


def report(liquidated_days_ago: dict[str, int]) -> bytes:
    """An ES-003 report of client A's entries, each liquidated the given number of days ago, with IEEPA duty."""
    rows = [HEADER]
    for entry, days in liquidated_days_ago.items():
        liquidated = today() - timedelta(days=days)
        facts = f"{entry},01,{IOR_A},2704,03/10/2025,03/12/2025,1"
        status = f"LIQUIDATED,{liquidated:%m/%d/%Y}"
        rows.append(f"{facts},1,8471.30.0100,5000.00,0.00,CN,{status}")
        rows.append(f"{facts},2,9903.01.25,5000.00,500.00,CN,{status}")
    return ("\n".join(rows) + "\n").encode()


def import_report(client, liquidated_days_ago: dict[str, int], *, as_of=None, name="report.csv"):
    with scope(client=client):
        uploaded, created = report_upload(
            actor=None,
            client=client,
            uploaded=SimpleUploadedFile(name, report(liquidated_days_ago)),
            reprocess=True,
            enqueue=False,
        )
        assert created
        report_import(report=uploaded, as_of=as_of or today())
        uploaded.refresh_from_db()
    assert uploaded.status == "succeeded", uploaded.message


def deadline(client, entry_number: str, kind: str):
    """The entry's next deadline as stored, checked to be of the kind the arrangement means."""
    with scope(client=client):
        entry = Entry.objects.get(entry_number=entry_number)
    assert entry.next_deadline_kind == kind, (entry_number, entry.next_deadline_kind, entry.refund_path)
    return entry.next_deadline


def nearest_of_the_entries(client) -> tuple:
    """The oracle, from the entries themselves: (nearest deadline of any reminded kind, nearest protest deadline)."""
    with scope(client=client):
        ahead = Entry.objects.filter(next_deadline__gte=today())
        kinds = ("cape_window_closes", "protest_deadline", "court_deadline")
        any_kind = ahead.filter(next_deadline_kind__in=kinds).order_by("next_deadline").first()
        protest = ahead.filter(next_deadline_kind="protest_deadline").order_by("next_deadline").first()
    return (any_kind and any_kind.next_deadline, protest and protest.next_deadline)


def caseload_row(http, client) -> str:
    html = http.get(reverse("staff:caseload")).content.decode()
    start = html.index(f'data-client="{client.slug}">')
    return html[start : html.index("</tr>", start)]


def assert_caseload_shows(http, client, *, next_deadline, protest_by) -> None:
    assert nearest_of_the_entries(client) == (next_deadline, protest_by)  # the arrangement is what it says
    row = caseload_row(http, client)
    assert f"<td>{next_deadline:%b %-d, %Y}</td>" in row
    if protest_by is None:
        assert "protest by" not in row
    else:
        assert f"protest by {protest_by:%b %-d, %Y}" in row


def test_an_import_and_a_later_report_move_the_protest_deadline(client, client_a, staff_a):
    client.force_login(staff_a)
    import_report(client_a, {SOON: 150, LATER: 100, CAPE: 40})
    soon = deadline(client_a, SOON, "protest_deadline")
    assert_caseload_shows(client, client_a, next_deadline=soon, protest_by=soon)

    # A later report: the first entry was in fact liquidated 60 days ago, so it is inside its CAPE window.
    import_report(client_a, {SOON: 60}, name="correction.csv")
    window = deadline(client_a, SOON, "cape_window_closes")
    later = deadline(client_a, LATER, "protest_deadline")
    assert_caseload_shows(client, client_a, next_deadline=window, protest_by=later)


def test_the_daily_reclassification_moves_an_entry_from_its_cape_window_to_its_protest_deadline(
    client, client_a, staff_a
):
    client.force_login(staff_a)
    import_report(client_a, {CAPE: 90}, as_of=today() - timedelta(days=30))
    window = deadline(client_a, CAPE, "cape_window_closes")  # as of 30 days ago: 60 days after liquidation
    assert window < today()
    assert nearest_of_the_entries(client_a) == (None, None)
    row = caseload_row(client, client_a)
    assert '<td><span class="text-secondary">none</span></td>' in row and "protest by" not in row

    reclassify_all_clients(as_of=today().isoformat())
    protest = deadline(client_a, CAPE, "protest_deadline")
    assert protest > today()
    assert_caseload_shows(client, client_a, next_deadline=protest, protest_by=protest)


def test_filing_and_denial_of_a_protest_move_the_protest_deadline_to_the_next_entry(
    client, client_a, staff_a
):
    client.force_login(staff_a)
    import_report(client_a, {SOON: 150, LATER: 100})
    later = deadline(client_a, LATER, "protest_deadline")
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        protest = services.protest_entry_remove(actor=staff_a, protest=protest, entry_number=LATER)
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number="2704-26-000001",
            filed_on=today() - timedelta(days=20),
            filed_by_party="importer",
        )
    # The filed entry's protest deadline is met: the next one is the other entry's.
    assert_caseload_shows(client, client_a, next_deadline=later, protest_by=later)

    with scope(client=client_a):
        following.protest_decide(
            actor=staff_a, protest=protest, decision="denied", decided_on=today() - timedelta(days=5)
        )
    court = deadline(client_a, SOON, "court_deadline")
    assert court > later  # still the later entry's protest deadline first; a court deadline is no protest's
    assert_caseload_shows(client, client_a, next_deadline=later, protest_by=later)


def test_withdrawal_puts_the_cape_window_back_without_calling_it_a_protest_deadline(
    client, client_a, staff_a
):
    client.force_login(staff_a)
    import_report(client_a, {LATER: 100, CAPE: 60})
    later = deadline(client_a, LATER, "protest_deadline")
    (protest,) = build(client_a, staff_a)  # the protest path's entry only
    with scope(client=client_a):
        services.protest_entry_remove(actor=staff_a, protest=protest, entry_number=LATER)
        protest = services.protest_entry_add(actor=staff_a, protest=protest, entry_number=CAPE)
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number="2704-26-000002",
            filed_on=today(),
            filed_by_party="importer",
        )
    with scope(client=client_a):
        assert Entry.objects.get(entry_number=CAPE).next_deadline is None  # under the filed protest
    assert_caseload_shows(client, client_a, next_deadline=later, protest_by=later)

    with scope(client=client_a):
        following.protest_withdraw(actor=staff_a, protest=protest)
    window = deadline(client_a, CAPE, "cape_window_closes")
    assert window < later
    assert_caseload_shows(client, client_a, next_deadline=window, protest_by=later)


def test_a_staff_mark_and_its_clearing_move_the_protest_deadline(client, client_a, staff_a):
    client.force_login(staff_a)
    import_report(client_a, {SOON: 150, LATER: 100})
    soon, later = deadline(client_a, SOON, "protest_deadline"), deadline(client_a, LATER, "protest_deadline")

    def mark(value: bool) -> None:
        with scope(client=client_a):
            changed = entries_bulk_mark(
                actor=staff_a,
                client=client_a,
                entry_numbers=[SOON],
                mark="protest",
                value=value,
                note="Protest 2704-26-000009 filed by the importer",
            )
        assert changed == 1

    mark(True)  # a protest on file outside the portal: the entry's own deadline no longer applies
    assert_caseload_shows(client, client_a, next_deadline=later, protest_by=later)
    mark(False)
    assert_caseload_shows(client, client_a, next_deadline=soon, protest_by=soon)
