"""Issue 16, line by line: what the other protest tests did not yet show — the objection template is copied
into each draft; a filing puts the entry under protest in the export and the reminders at once; a court deadline
reaches the staff deadline alerts."""

from datetime import timedelta

from django.urls import reverse
from django_scopes import scope

from domain.entry_numbers import display
from entries.exports import entry_export_rows
from entries.reminders.services import reminders_plan
from protests import following
from protests.models import Protest, ProtestTemplate
from tests.protests.helpers import build, protest_entries, today


def test_a_template_edit_changes_later_drafts_not_earlier_ones(client_a, staff_a):
    protest_entries(client_a, 1)
    (earlier,) = build(client_a, staff_a)
    template = ProtestTemplate.objects.get(category="ieepa")
    template.justification = "The duties were assessed without statutory authority (revised wording)."
    template.save()
    with scope(client=client_a):
        Protest.objects.filter(pk=earlier.pk).update(
            status="discarded"
        )  # its entries stay drafted: add new ones
    protest_entries(client_a, 1, start=5, port="1001")

    (later,) = build(client_a, staff_a)

    with scope(client=client_a):
        earlier.refresh_from_db()
    assert "revised wording" not in earlier.objections[0]["justification"]
    assert "Learning Resources" in earlier.objections[0]["justification"]
    assert later.objections[0]["justification"].endswith("(revised wording).")


def test_a_filing_puts_the_entry_under_protest_in_the_export_and_the_reminders(client_a, staff_a, member_a):
    (entry,) = protest_entries(client_a, 1, days=160, next_deadline_kind="protest_deadline")
    with scope(client=client_a):
        type(entry).objects.filter(pk=entry.pk).update(
            next_deadline=entry.liquidation_date + timedelta(days=180)
        )
    before = reminders_plan(today=today())
    assert any(i.deadline_kind == "protest_deadline" for p in before.values() for i in p.items)
    (protest,) = build(client_a, staff_a)

    with scope(client=client_a):
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number="2704-26-000011",
            filed_on=today(),
            filed_by_party="importer",
        )
        (row,) = list(entry_export_rows(client=client_a, as_of=today()))

    assert (row[0], row[1], row[2]) == (entry.entry_number, "excluded", "active_protest")
    after = reminders_plan(today=today())
    assert not any(i.deadline_kind == "protest_deadline" for p in after.values() for i in p.items)


def test_a_court_deadline_reaches_the_staff_deadline_alerts(client, client_a, staff_a):
    (entry,) = protest_entries(client_a, 1, days=179)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number="2704-26-000012",
            filed_on=today() - timedelta(days=170),
            filed_by_party="importer",
        )
        following.protest_decide(
            actor=staff_a, protest=protest, decision="denied", decided_on=today() - timedelta(days=165)
        )
    client.force_login(staff_a)

    page = client.get(reverse("staff:deadlines")).content.decode()

    assert display(entry.entry_number) in page and "Contest the denial in court" in page
    assert (
        f"{today() + timedelta(days=15):%Y-%m-%d}" in page
        or f"{today() + timedelta(days=15):%b %-d, %Y}" in page
    )
