""" "Refundable through CAPE now" and "deadline within 30 days": one definition, the same figures everywhere.

The same client on the same day shows the same two amounts on its overview, its entries page, the staff
caseload and the reminder email, each with the figure's definition as its help text.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from entries.figures import figures_refresh
from entries.models import Entry
from entries.reminders.services import reminders_send
from entries.selectors import FIGURES, headline_figures

CAPE_NOW, DUE_30 = "$3,390.00", "$1,500.00"


def _entry(client, number, *, path, duty, days=None, kind=""):
    with scope(client=client):
        Entry.objects.create(
            client=client,
            entry_number=number,
            refund_path=path,
            ieepa_duty=Decimal(duty),
            next_deadline=timezone.localdate() + timedelta(days=days) if days is not None else None,
            next_deadline_kind=kind,
        )


@pytest.fixture
def figures_data(client_a, client_b):
    """Client A's entries, each counted in one figure, both or neither; client B's could leak into A's."""
    _entry(client_a, "ABC12345676", path="cape_phase1", duty="1000.00", days=10, kind="cape_window_closes")
    _entry(client_a, "ABC12345684", path="cape_phase2", duty="2000.00", days=45, kind="cape_window_closes")
    _entry(client_a, "ABC12345692", path="protest", duty="500.00", days=20, kind="protest_deadline")
    # Unliquidated: on the Phase 1 path, its next date a projected liquidation (not a deadline) in 5 days.
    _entry(client_a, "ABC12345700", path="cape_phase1", duty="300.00", days=5, kind="projected_liquidation")
    _entry(client_a, "ABC12345718", path="finally_liquidated", duty="7000.00")
    _entry(client_a, "ABC12345726", path="cape_phase1", duty="90.00", days=31, kind="cape_window_closes")
    _entry(client_b, "ABC12345734", path="cape_phase1", duty="50000.00", days=3, kind="cape_window_closes")
    for client in (client_a, client_b):
        figures_refresh(client_id=client.pk)


def _stat(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">(.*?)</div></div>', html, re.S).group(1)


def test_the_selector_counts_each_figure_by_its_definition(figures_data, client_a):
    assert headline_figures(client_ids=[client_a.pk], today=timezone.localdate()) == {
        client_a.pk: {"cape_now": Decimal("3390.00"), "due_30": Decimal("1500.00")}
    }


def test_same_client_same_day_same_figures_on_overview_caseload_and_email(
    figures_data, client, client_a, admin_a, staff_a
):
    client.force_login(admin_a)
    overview = client.get(reverse("clients:overview", kwargs={"client_slug": "client-a"})).content.decode()
    entries = client.get(reverse("entries:list", kwargs={"client_slug": "client-a"})).content.decode()
    client.force_login(staff_a)
    caseload = client.get(reverse("staff:caseload")).content.decode()
    reminders_send(today=timezone.localdate())
    (email,) = [m for m in mail.outbox if admin_a.email in m.to]

    for page in (overview, entries):
        assert CAPE_NOW in _stat(page, "figure-cape-now") and DUE_30 in _stat(page, "figure-due-30")
    assert f'id="total-refundable">{CAPE_NOW}' in caseload and f'id="total-at-risk">{DUE_30}' in caseload
    row = re.search(r'data-client="client-a">(.*?)</tr>', caseload, re.S).group(1)
    assert CAPE_NOW in row and DUE_30 in row
    assert f"Refundable through CAPE now: {CAPE_NOW}" in email.body
    assert f"Deadline within 30 days: {DUE_30}" in email.body
    html = email.alternatives[0][0]
    assert f"<strong>{CAPE_NOW}</strong>" in html and f"<strong>{DUE_30}</strong>" in html


def test_each_figure_shows_its_definition_as_help_text(figures_data, client, admin_a, staff_a):
    client.force_login(admin_a)
    overview = client.get(reverse("clients:overview", kwargs={"client_slug": "client-a"})).content.decode()
    client.force_login(staff_a)
    caseload = client.get(reverse("staff:caseload")).content.decode()
    reminders_send(today=timezone.localdate())
    body = mail.outbox[0].body

    for name in ("cape_now", "due_30"):
        label, help_text = FIGURES[name]["label"], FIGURES[name]["help"]
        assert label in overview and help_text in overview
        assert label in caseload and help_text in caseload
        assert f"{label}: {help_text}" in body


def test_the_deadline_filter_lists_the_entries_the_figure_adds_up(figures_data, client, member_a):
    client.force_login(member_a)

    html = client.get(reverse("entries:list", kwargs={"client_slug": "client-a"}), {"window": "30"})

    listed = set(re.findall(r'href="/c/client-a/entries/([A-Z0-9]{11})/"', html.content.decode()))
    assert listed == {"ABC12345676", "ABC12345692"}  # $1,000 + $500: not the projected liquidation's $300
