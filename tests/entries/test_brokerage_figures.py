"""The brokerage-wide deadline sums (a manager's caseload, chart and alerts) stay every client's own sums.

Each step a broker's day brings (an import, a deadline moving, a client deleted, the fold every few minutes,
the nightly rebuild) is followed by the same check: the sums read for the caseload equal the entries' own,
grouped by deadline kind and day over every client.
"""

import re
import threading
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from clients.models import Client
from domain.vocabulary import REMINDED_DEADLINE_KINDS
from entries.figures import (
    brokerage_deadline_days,
    brokerage_figures_rebuild,
    figures_refresh,
    figures_refresh_all,
    fold_brokerage_changes,
)
from entries.models import BrokerageDeadlineChange, DeadlineFigures, Entry
from staff.selectors import caseload_dashboard, deadline_alerts
from tests.factories import ClientFactory, assign, staff_user

WINDOW = 400  # days: every deadline these tests make


def _entry(client, number, *, days, duty="100.00", kind="cape_window_closes"):
    with scope(client=client):
        Entry.objects.create(
            client=client,
            entry_number=number,
            refund_path="cape_phase1",
            ieepa_duty=Decimal(duty),
            next_deadline=timezone.localdate() + timedelta(days=days),
            next_deadline_kind=kind,
        )
    figures_refresh(client_id=client.pk)


def _entries_own_sums() -> dict:
    sums: dict = defaultdict(lambda: (0, Decimal("0.00")))
    with scopes_disabled():
        for kind, day, duty in Entry.objects.filter(
            next_deadline_kind__in=REMINDED_DEADLINE_KINDS, next_deadline__isnull=False
        ).values_list("next_deadline_kind", "next_deadline", "ieepa_duty"):
            n, s = sums[(kind, day)]
            sums[(kind, day)] = (n + 1, s + duty)
    return dict(sums)


def _read() -> dict:
    today = timezone.localdate()
    return brokerage_deadline_days(first=today - timedelta(days=WINDOW), last=today + timedelta(days=WINDOW))


def test_the_sums_follow_every_change_to_the_entries(client_a, client_b):
    _entry(client_a, "ABC00000010", days=10, duty="100.00")
    _entry(client_a, "ABC00000011", days=10, duty="50.00")
    _entry(client_b, "BBB00000010", days=10, duty="7.00")  # the same day, another client
    _entry(client_b, "BBB00000011", days=90, duty="1.25", kind="protest_deadline")
    today = timezone.localdate()
    assert _read() == _entries_own_sums()
    assert _read()[("cape_window_closes", today + timedelta(days=10))] == (3, Decimal("157.00"))

    # A deadline moves (the daily re-classification, a protest filed): the old day loses it, the new one has it.
    with scope(client=client_a):
        Entry.objects.filter(entry_number="ABC00000011").update(
            next_deadline=today + timedelta(days=40), next_deadline_kind="protest_deadline"
        )
    figures_refresh(client_id=client_a.pk)
    assert _read() == _entries_own_sums()
    assert _read()[("cape_window_closes", today + timedelta(days=10))] == (2, Decimal("107.00"))

    folded = fold_brokerage_changes()
    assert folded > 0 and not BrokerageDeadlineChange.objects.exists()
    assert _read() == _entries_own_sums()

    # A client deleted: its days leave the sums (its rows went by cascade, which no refresh sees).
    client_b.delete()
    assert _read() == _entries_own_sums()
    assert ("protest_deadline", today + timedelta(days=90)) not in _read()
    fold_brokerage_changes()
    assert _read() == _entries_own_sums()

    # An entry deleted, refreshed: a day nobody has any more is not read as a day with no entries.
    with scope(client=client_a):
        Entry.objects.filter(entry_number="ABC00000010").delete()
    figures_refresh(client_id=client_a.pk)
    fold_brokerage_changes()
    assert (
        _read()
        == _entries_own_sums()
        == {("protest_deadline", today + timedelta(days=40)): (1, Decimal("50.00"))}
    )


def test_the_nightly_rebuild_repairs_rows_written_behind_the_services_back(client_a, client_b):
    _entry(client_a, "ABC00000010", days=5)
    _entry(client_b, "BBB00000010", days=6)
    with scopes_disabled():  # a stored day changed by hand, no refresh: the brokerage sums do not know
        DeadlineFigures.objects.filter(client=client_b).delete()
        Entry.objects.filter(client=client_b).delete()
    assert _read() != _entries_own_sums()
    brokerage_figures_rebuild()
    assert _read() == _entries_own_sums() and not BrokerageDeadlineChange.objects.exists()

    _entry(client_b, "BBB00000011", days=6)
    assert figures_refresh_all() == 2  # the nightly refresh ends with the rebuild
    assert _read() == _entries_own_sums() and not BrokerageDeadlineChange.objects.exists()


def test_a_refresh_writes_only_the_days_that_changed(client_a):
    """The nightly refresh of every client rewrote every stored day: dead rows by the hundred thousand."""
    _entry(client_a, "ABC00000010", days=5)
    _entry(client_a, "ABC00000011", days=9)
    with scopes_disabled():
        before = dict(DeadlineFigures.objects.values_list("day", "pk"))
    changes = BrokerageDeadlineChange.objects.count()
    figures_refresh(client_id=client_a.pk)  # nothing changed: nothing written
    with scopes_disabled():
        assert dict(DeadlineFigures.objects.values_list("day", "pk")) == before
    assert BrokerageDeadlineChange.objects.count() == changes

    with scope(client=client_a):  # one entry's deadline moves from day 9 to day 5
        Entry.objects.filter(entry_number="ABC00000011").update(
            next_deadline=timezone.localdate() + timedelta(days=5)
        )
    figures_refresh(client_id=client_a.pk)
    with scopes_disabled():
        after = {day: (pk, n) for day, pk, n in DeadlineFigures.objects.values_list("day", "pk", "entries")}
    day5, day9 = (timezone.localdate() + timedelta(days=d) for d in (5, 9))
    assert after == {day5: (before[day5], 2)}  # the same row, updated; day 9's row gone
    assert _read() == _entries_own_sums()


def test_a_manager_sees_the_same_chart_and_totals_as_a_staff_member_with_every_client(client_a, client_b):

    for n, (client, days) in enumerate(
        [(client_a, 3), (client_a, 29), (client_a, 31), (client_b, 0), (client_b, 70)]
    ):
        _entry(client, f"{client.slug[-1].upper() * 3}0000001{n}", days=days, duty=f"{n + 1}0.00")
    _entry(ClientFactory(slug="client-c"), "CCC00000010", days=20, duty="0.50", kind="protest_deadline")
    manager, everyone = staff_user(manager=True), staff_user()
    for client in (client_a, client_b):
        assign(client, everyone)
    with scopes_disabled():
        assign(Client.objects.get(slug="client-c"), everyone)
    today = timezone.localdate()
    for sort in ("queue", "at_risk", "name"):
        by_manager = caseload_dashboard(user=manager, today=today, sort=sort)  # the brokerage-wide sums
        by_staff = caseload_dashboard(user=everyone, today=today, sort=sort)  # each client's stored days
        assert by_manager.weeks == by_staff.weeks
        assert by_manager.totals == by_staff.totals
        assert [(r.client_id, r.at_risk, r.refundable) for r in by_manager.page] == [
            (r.client_id, r.at_risk, r.refundable) for r in by_staff.page
        ]
    assert by_manager.totals["at_risk"] == Decimal("10.00") + Decimal("20.00") + Decimal("40.00") + Decimal(
        "0.50"
    )
    assert by_manager.weeks[0] == (today, Decimal("50.00"))  # days 0-6: 10.00 (day 3) and 40.00 (day 0)


def test_a_managers_alerts_page_through_the_same_entries_as_a_staff_member_with_every_client(
    client_a, client_b
):

    numbers = {
        client_a: ["ABC00000030", "ABC00000010", "ABC00000050"],
        client_b: ["BBB00000020", "AAA00000040"],
    }
    for client, entries in numbers.items():
        for n, number in enumerate(entries):
            _entry(
                client,
                number,
                days=4 if n < 2 else 12,
                kind="protest_deadline" if n else "cape_window_closes",
            )
    manager, everyone = staff_user(manager=True), staff_user()
    assign(client_a, everyone)
    assign(client_b, everyone)

    def pages(user) -> list[list[str]]:
        seen, after = [], None
        while True:
            alerts = deadline_alerts(user=user, today=timezone.localdate(), days=30, after=after, limit=2)
            assert alerts.total == 5
            seen.append([e.entry_number for group in alerts.groups for e in group.entries])
            if alerts.next_after is None:
                return seen
            after = alerts.next_after

    assert pages(manager) == pages(everyone)
    # Day 4: every client's, by entry number; day 12 after.
    expected = ["AAA00000040", "ABC00000010", "ABC00000030", "BBB00000020", "ABC00000050"]
    assert sum(pages(manager), []) == expected


@pytest.mark.django_db(transaction=True)
def test_refreshes_of_clients_sharing_days_neither_wait_for_each_other_nor_lose_a_change(postgresql):
    """Two imports of two clients end in refreshes of the same days at the same moment: both commit, at once."""
    clients = [ClientFactory(slug=f"client-{n}") for n in range(2)]
    for client in clients:
        _entry(client, f"ABC0000001{client.pk % 10}", days=7)
    inside = threading.Barrier(2)
    outcomes: list = []

    def refresh(client) -> None:
        try:
            with transaction.atomic():
                with scope(client=client):
                    Entry.objects.create(
                        client=client,
                        entry_number=f"ABC0000002{client.pk % 10}",
                        refund_path="cape_phase1",
                        ieepa_duty=Decimal("3.00"),
                        next_deadline=timezone.localdate() + timedelta(days=7),
                        next_deadline_kind="cape_window_closes",
                    )
                figures_refresh(client_id=client.pk)
                # Both transactions hold their changes of the same day here: neither may wait for the other.
                inside.wait(timeout=10)
            outcomes.append("committed")
        except Exception as error:  # a lock wait would break the barrier; a deadlock would raise
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == ["committed", "committed"]
    day = timezone.localdate() + timedelta(days=7)
    assert _read() == _entries_own_sums()
    assert _read()[("cape_window_closes", day)] == (4, Decimal("206.00"))
    fold_brokerage_changes()
    assert _read()[("cape_window_closes", day)] == (4, Decimal("206.00"))


def _entries_plan(run) -> str:
    with CaptureQueriesContext(connection) as queries:
        run()
    (sql,) = [q["sql"] for q in queries.captured_queries if 'FROM "entries_entry"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a test table is tiny: ask which index the plan can use
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    return plan


def test_a_managers_alerts_read_through_the_due_by_day_index_from_where_the_page_starts(
    postgresql, client_a, manager
):
    """Not every entry due on the first day (thousands over every client): the index gives them in order, and
    a later page starts at its keyset in the index instead of reading the earlier pages' entries again."""
    _entry(client_a, "ABC00000010", days=3)
    today = timezone.localdate()
    first = _entries_plan(lambda: deadline_alerts(user=manager, today=today, days=30))
    assert "entries_due_by_day" in first, first
    assert "Sort" not in first.split("entries_due_by_day")[0], first  # read in order, not read then sorted
    after = (today + timedelta(days=3), "ABC00000005")
    later = _entries_plan(lambda: deadline_alerts(user=manager, today=today, days=30, after=after))
    assert "entries_due_by_day" in later, later
    (condition,) = [line for line in later.splitlines() if "Index Cond" in line]
    assert re.search(r"ROW\(next_deadline, \(?entry_number\)?(::text)?\) > ROW", condition), later
