"""The entries page (filters, totals, export), the entry detail page, staff flags, and the overview."""

import csv
import io

import pytest
from django.urls import reverse
from django_scopes import scope
from openpyxl import load_workbook

from clients.models import AuditEvent
from entries.models import Entry, EntryHistory
from tests.entries.helpers import upload
from tests.factories import assign, member, staff_user


@pytest.fixture
def loaded(importer):
    upload(importer, "es003_basic.csv")
    return importer


def _list(client, **params):
    return client.get(reverse("entries:list", kwargs={"client_slug": "importer"}), params)


def test_filter_by_path_shows_only_that_path(client, loaded):
    client.force_login(member(loaded))
    with scope(client=loaded):
        protest = set(Entry.objects.filter(refund_path="protest").values_list("entry_number", flat=True))
    html = _list(client, path="protest").content.decode()
    assert f"{len(protest)} entr" in html
    with scope(client=loaded):
        for e in Entry.objects.exclude(refund_path="protest"):
            assert str(e) not in html


@pytest.mark.parametrize("query", ["{n}", "{dashed}", "{lower}"])
def test_search_by_entry_number_with_or_without_dashes(client, loaded, query):
    client.force_login(member(loaded))
    with scope(client=loaded):
        entry = Entry.objects.order_by("entry_number").first()
    n = entry.entry_number
    text = query.format(n=n, dashed=str(entry), lower=str(entry).lower())
    html = _list(client, q=text).content.decode()
    assert "1 entry" in html and str(entry) in html


def test_deadline_window_filter(client, loaded):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(member(loaded))
    today = timezone.localdate()
    with scope(client=loaded):
        soon = Entry.objects.filter(
            next_deadline_kind__in=["cape_window_closes", "protest_deadline"],
            next_deadline__gte=today,
            next_deadline__lte=today + timedelta(days=30),
        ).count()
    html = _list(client, window="30").content.decode()
    if soon:
        assert f"{soon} entr" in html
    else:
        assert "No entry matches these filters" in html


def test_totals_add_up_the_stored_duties(client, loaded):
    client.force_login(member(loaded))
    with scope(client=loaded):
        paid = sum(e.ieepa_duty for e in Entry.objects.all())
        cape = sum(e.ieepa_duty for e in Entry.objects.filter(refund_path__in=["cape_phase1", "cape_phase2"]))
    html = _list(client).content.decode()
    assert f"${paid:,.2f}" in html and f"${cape:,.2f}" in html


def test_csv_export_of_the_filtered_list(client, loaded):
    client.force_login(member(loaded))
    response = _list(client, path="cape_phase1", export="csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:8] == [
        "entry_number",
        "refund_path",
        "exclusion_reason",
        "ieepa_duty",
        "section_122_duty",
        "projected_liquidation",
        "cape_window_closes",
        "protest_deadline",
    ]
    with scope(client=loaded):
        expected = Entry.objects.filter(refund_path="cape_phase1").count()
    assert len(rows) - 1 == expected and all(r[1] == "cape_phase1" for r in rows[1:])


def test_xlsx_export_opens_in_a_spreadsheet(client, loaded):
    client.force_login(member(loaded))
    response = _list(client, export="xlsx")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "entry_number" and len(rows) == 61


def test_entries_page_query_count_is_the_same_for_1_and_3_entries(
    client, importer, django_assert_num_queries, django_assert_max_num_queries
):
    from tests.entries.helpers import SAMPLES

    client.force_login(member(importer))
    lines = (SAMPLES / "es003_basic.csv").read_text().splitlines()
    numbers = list(dict.fromkeys(line.split(",")[0] for line in lines[1:]))

    def only(n):
        keep = [line for line in lines[1:] if line.split(",")[0] in numbers[:n]]
        return ("\n".join([lines[0], *keep]) + "\n").encode()

    upload(importer, "one.csv", only(1))
    with django_assert_max_num_queries(50) as one:
        _list(client)
    upload(importer, "three.csv", only(3))
    with django_assert_num_queries(len(one.captured_queries)):
        _list(client)


def test_entry_detail_shows_facts_lines_explanation_and_timeline(client, loaded):
    client.force_login(member(loaded))
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="protest").first()
        lines = entry.lines.count()
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "File a protest" in html or "protest" in html.lower()
    assert html.count("<code>9903") + html.count("<code>") >= lines
    assert "Protest deadline (liquidation + 180 days)" in html
    assert entry.last_report.original_name in html
    dashed = reverse("entries:detail", kwargs={"client_slug": "importer", "entry_number": str(entry)})
    assert client.get(dashed).status_code == 200


def test_interest_estimate_is_labelled_as_an_estimate(client, loaded):
    client.force_login(member(loaded))
    with scope(client=loaded):
        entry = Entry.objects.filter(ieepa_duty__gt=0).exclude(entry_summary_date=None).first()
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "Interest estimate" in html and "An estimate" in html


def test_staff_marks_protest_and_the_entry_is_reclassified_with_history_and_audit(client, loaded):
    staff = staff_user()
    assign(loaded, staff)
    client.force_login(staff)
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="cape_phase1").first()
    response = client.post(
        entry.get_absolute_url(), {"protest": "on", "note": "Protest 2704-26-100123 filed"}
    )
    assert response.status_code == 302
    with scope(client=loaded):
        entry.refresh_from_db()
        assert entry.refund_path == "excluded" and entry.exclusion_reason == "active_protest"
        fields = set(EntryHistory.objects.filter(entry=entry).values_list("field", flat=True))
        assert {"flag", "refund_path"} <= fields
        event = AuditEvent.objects.get(action="entries.flags_changed")
        assert event.actor == staff and event.data["note"] == "Protest 2704-26-100123 filed"
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "marked by staff" in html and "Protest 2704-26-100123 filed" in html


@pytest.mark.parametrize(
    ("mark", "label", "reason"),
    [
        ("surety_paid", "Surety paid the IEEPA duty", "surety_paid"),
        ("reconciliation_filed", "Type 09 reconciliation entry filed", "reconciliation_filed"),
    ],
)
def test_staff_set_and_clear_the_2026_2_marks_with_history_and_audit(client, loaded, mark, label, reason):
    staff = staff_user()
    assign(loaded, staff)
    client.force_login(staff)
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="cape_phase1").order_by("entry_number").first()
    page = client.get(entry.get_absolute_url()).content.decode()
    assert f'name="{mark}"' in page and label in page

    assert (
        client.post(entry.get_absolute_url(), {mark: "on", "note": "Surety bond claim 4411"}).status_code
        == 302
    )
    with scope(client=loaded):
        entry.refresh_from_db()
        assert getattr(entry, f"marked_{mark}") is True
        assert (entry.refund_path, entry.exclusion_reason) == ("excluded", reason)
        flag = EntryHistory.objects.get(entry=entry, field="flag")
        assert (flag.from_value, flag.to_value) == (f"{mark}: no", f"{mark}: yes")
        event = AuditEvent.objects.get(action="entries.flags_changed")
        assert event.actor == staff and event.data["changes"] == {mark: True}
    html = client.get(entry.get_absolute_url()).content.decode()
    assert f"{label}: yes (marked by staff)" in html

    # Cleared the same way: the entry goes back to its path.
    assert client.post(entry.get_absolute_url(), {"note": "Entered in error"}).status_code == 302
    with scope(client=loaded):
        entry.refresh_from_db()
        assert getattr(entry, f"marked_{mark}") is False
        assert entry.refund_path == "cape_phase1"
        assert AuditEvent.objects.filter(action="entries.flags_changed").count() == 2


def test_flag_change_needs_a_note(client, loaded):
    staff = staff_user()
    assign(loaded, staff)
    client.force_login(staff)
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="cape_phase1").first()
    response = client.post(entry.get_absolute_url(), {"drawback": "on", "note": ""})
    assert response.status_code == 200 and "Say why" in response.content.decode()
    with scope(client=loaded):
        entry.refresh_from_db()
        assert not entry.marked_drawback


def test_client_users_cannot_change_flags(client, loaded):
    client.force_login(member(loaded, role="client_admin"))
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="cape_phase1").first()
    assert client.post(entry.get_absolute_url(), {"protest": "on", "note": "x"}).status_code == 404
    with scope(client=loaded):
        entry.refresh_from_db()
        assert not entry.marked_protest


def test_staff_flags_survive_a_reimport(client, loaded):
    from entries.services import entry_set_flags

    staff = staff_user()
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="cape_phase1").first()
        entry_set_flags(
            actor=staff, entry=entry, drawback=True, protest=False, reconciliation=False, note="claim 7"
        )
    upload(loaded, "es003_basic.csv", reprocess=True)
    with scope(client=loaded):
        entry.refresh_from_db()
        assert (
            entry.marked_drawback and entry.refund_path == "excluded" and entry.exclusion_reason == "drawback"
        )


def test_overview_shows_the_path_chart_and_upcoming_deadlines(client, loaded):
    client.force_login(member(loaded))
    html = client.get(reverse("clients:overview", kwargs={"client_slug": "importer"})).content.decode()
    assert html.count('<svg class="path-chart"') >= 3 and html.count('<rect class="bar') >= 3
    assert "Upcoming deadlines" in html and "CAPE Phase 1" in html


def test_overview_query_count_is_the_same_for_1_and_3_entries(
    client, importer, django_assert_max_num_queries
):
    from tests.entries.helpers import SAMPLES

    client.force_login(member(importer))
    lines = (SAMPLES / "es003_basic.csv").read_text().splitlines()
    numbers = list(dict.fromkeys(line.split(",")[0] for line in lines[1:]))

    def only(n):
        keep = [line for line in lines[1:] if line.split(",")[0] in numbers[:n]]
        return ("\n".join([lines[0], *keep]) + "\n").encode()

    url = reverse("clients:overview", kwargs={"client_slug": "importer"})
    upload(importer, "one.csv", only(1))
    with django_assert_max_num_queries(50) as one:
        client.get(url)
    upload(importer, "three.csv", only(3))
    with django_assert_max_num_queries(len(one.captured_queries)) as three:
        client.get(url)
    assert len(three.captured_queries) == len(one.captured_queries)
