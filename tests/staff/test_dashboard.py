"""The staff caseload dashboard and the deadline alerts page: figures, queue order, charts, access, queries."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from clients.models import ChecklistItem
from entries.figures import figures_refresh
from entries.models import Entry
from staff.selectors import caseload_dashboard, deadline_alerts
from tests.factories import ClientFactory, assign


def _entry(client, number, *, path="cape_phase1", duty="1000.00", days=None, kind="cape_window_closes"):
    """An entry as an import leaves it: stored, and the client's dashboard figures refreshed."""
    with scope(client=client):
        entry = Entry.objects.create(
            client=client,
            entry_number=number,
            refund_path=path,
            ieepa_duty=Decimal(duty),
            next_deadline=timezone.localdate() + timedelta(days=days) if days is not None else None,
            next_deadline_kind=kind if days is not None else "",
        )
    figures_refresh(client_id=client.pk)
    return entry


def _order(html: str) -> list[str]:
    return re.findall(r'class="caseload-row" data-client="([^"]+)"', html)


def _row(html: str, slug: str) -> str:
    return re.search(rf'data-client="{slug}">(.*?)</tr>', html, re.S).group(1)


def test_dashboard_shows_each_clients_figures(client, client_a, staff_a):
    _entry(client_a, "ABC12345676", duty="1000.00", days=10)
    _entry(client_a, "ABC12345684", path="protest", duty="500.00", days=60, kind="protest_deadline")
    _entry(client_a, "ABC12345692", path="needs_data", duty="200.00")
    client.force_login(staff_a)
    html = client.get(reverse("staff:caseload")).content.decode()
    row = _row(html, "client-a")
    assert "$1,700.00" in row  # IEEPA paid
    assert row.count("$1,000.00") == 2  # refundable now, and at risk (CAPE window in 10 days)
    assert (timezone.localdate() + timedelta(days=10)).strftime("%b %-d, %Y") in row
    assert "1 needs review" in row
    assert 'id="total-at-risk">$1,000.00' in html
    assert "Filed" in html and "Open rejections" in html  # the ledger columns (refunds app installed)


def test_dashboard_queue_blocked_first_then_review_then_nearest_deadline(client, manager):
    later, blocked, sooner, review = (ClientFactory(slug=s) for s in ("later", "blocked", "sooner", "review"))
    _entry(later, "ABC12345676", days=50)
    _entry(sooner, "ABC12345684", days=5)
    _entry(review, "ABC12345692", path="needs_data")
    _entry(blocked, "ABC12345700", days=80)
    with scope(client=blocked):
        ChecklistItem.objects.create(client=blocked, key="ace_account", status="blocked")
    client.force_login(manager)
    html = client.get(reverse("staff:caseload")).content.decode()
    assert _order(html) == ["blocked", "review", "sooner", "later"]
    assert "blocked</span>" in _row(html, "blocked")


def test_dashboard_sorts_and_searches(client, manager):
    small, big = (
        ClientFactory(slug="small", legal_name="Zed Small Co"),
        ClientFactory(slug="big", legal_name="Acme Big Co"),
    )
    _entry(small, "ABC12345676", duty="10.00")
    _entry(big, "ABC12345684", duty="99999.00")
    client.force_login(manager)

    def order(**params):
        return _order(client.get(reverse("staff:caseload"), params).content.decode())

    assert order(sort="ieepa") == ["big", "small"]
    assert order(sort="name") == ["big", "small"]
    assert order(sort="deadline", q="co") == ["big", "small"]
    assert order(q="zed") == ["small"]
    assert order(sort="bogus") == ["big", "small"]  # an unknown sort falls back to the queue


def test_dashboard_filters_by_staff_member_for_managers(client, client_a, client_b, staff_a, manager):
    client.force_login(manager)
    html = client.get(reverse("staff:caseload"), {"staff": staff_a.pk}).content.decode()
    assert _order(html) == ["client-a"]


def test_dashboard_charts_are_server_side_svg(client, client_a, staff_a):
    _entry(client_a, "ABC12345676", duty="1000.00", days=10)
    _entry(client_a, "ABC12345684", path="protest", duty="500.00", days=60, kind="protest_deadline")
    client.force_login(staff_a)
    html = client.get(reverse("staff:caseload")).content.decode()
    assert html.count("<svg") == 2
    assert "<title>CAPE Phase 1: $1,000</title>" in html and "<title>Protest: $500</title>" in html
    week = timezone.localdate() + timedelta(days=7)
    assert f"<title>{week:%b} {week.day}: $1,000</title>" in html  # the CAPE window falls in week 2
    assert "cdn" not in html.lower()


def test_dashboard_and_alerts_show_outsiders_nothing(client, client_a, client_b, member_a, admin_a, staff_b):
    _entry(client_a, "ABC12345676", duty="4321.00", days=10)
    for user in (member_a, admin_a):
        client.force_login(user)
        assert client.get(reverse("staff:caseload")).status_code == 404
        assert client.get(reverse("staff:deadlines")).status_code == 404
    client.force_login(staff_b)  # staff, but not assigned to client A
    for name in ("staff:caseload", "staff:deadlines"):
        html = client.get(reverse(name)).content.decode()
        assert "Alpha Imports LLC" not in html and "4,321" not in html and "ABC12345676" not in html


def test_dashboard_and_alerts_need_login(client):
    for name in ("staff:caseload", "staff:deadlines"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["staff:caseload", "staff:deadlines"])
def test_dashboard_query_count_does_not_grow_with_entries_or_clients(client, manager, name):
    client.force_login(manager)
    first = ClientFactory()
    _entry(first, "ABC00000001", days=3)
    few = _queries(client, reverse(name))
    for n in range(4):
        c = ClientFactory()
        assign(c, manager)
        for i in range(25):
            _entry(c, f"C{n}{i:09d}", days=i, duty="10.00")
    assert _queries(client, reverse(name)) == few


def test_alerts_list_entries_within_the_window_grouped_by_client(client, client_a, client_b, manager):
    _entry(client_a, "ABC12345676", duty="1000.00", days=10)
    _entry(client_a, "ABC12345684", duty="700.00", days=40)
    _entry(client_b, "BBB12345676", path="protest", duty="300.00", days=5, kind="protest_deadline")
    _entry(client_b, "BBB12345684", days=3, kind="projected_liquidation")  # not a deadline to act on
    client.force_login(manager)

    html = client.get(reverse("staff:deadlines")).content.decode()
    assert "2 entries" in html
    sections = re.findall(r'<section class="mb-4" data-client="([^"]+)"', html)
    assert sections == ["client-b", "client-a"]  # the nearest deadline first
    assert "ABC12345676" in html and "ABC12345684" not in html and "BBB12345684" not in html
    assert reverse("refunds:declaration_new", kwargs={"client_slug": "client-a"}) in html
    assert "Protest before the deadline" in html
    assert (
        reverse("entries:detail", kwargs={"client_slug": "client-b", "entry_number": "BBB12345676"}) in html
    )

    wider = client.get(reverse("staff:deadlines"), {"days": "45"}).content.decode()
    assert "ABC12345684" in wider and "3 entries" in wider
    assert "30 days" in client.get(reverse("staff:deadlines"), {"days": "nonsense"}).content.decode()


def test_alerts_for_staff_cover_only_their_caseload(client, client_a, client_b, staff_a):
    _entry(client_a, "ABC12345676", days=10)
    _entry(client_b, "BBB12345676", days=10)
    client.force_login(staff_a)
    html = client.get(reverse("staff:deadlines")).content.decode()
    assert "ABC12345676" in html and "BBB12345676" not in html


def test_dashboard_figures_move_with_the_date_without_any_refresh(client_a, staff_a):
    _entry(client_a, "ABC12345676", duty="1000.00", days=40)
    _entry(client_a, "ABC12345684", duty="300.00", days=2)
    today = timezone.localdate()
    (row,) = caseload_dashboard(user=staff_a, today=today).rows
    assert (row.at_risk, row.next_deadline) == (Decimal("300.00"), today + timedelta(days=2))
    # Twelve days on: 28 days left on the first, the second has passed; nothing was refreshed.
    later = caseload_dashboard(user=staff_a, today=today + timedelta(days=12))
    assert (later.rows[0].at_risk, later.rows[0].next_deadline) == (
        Decimal("1000.00"),
        today + timedelta(days=40),
    )
    assert later.weeks[4] == (today + timedelta(days=40), Decimal("1000.00"))


def test_dashboard_pages_the_table_but_totals_cover_every_client(client, manager):
    for n in range(53):
        _entry(ClientFactory(slug=f"c{n:02d}"), f"ABC{n:08d}", duty="10.00", days=n + 1)
    client.force_login(manager)
    first = client.get(reverse("staff:caseload")).content.decode()
    second = client.get(reverse("staff:caseload"), {"page": 2}).content.decode()
    assert len(_order(first)) == 50 and _order(second) == ["c50", "c51", "c52"]
    assert "Page 1 of 2 (53 clients)" in first
    assert 'id="total-ieepa">$530.00' in first
    assert "steps left</span>" in _row(second, "c52")  # onboarding readiness for the rows shown


def test_alerts_page_through_every_entry_once_nearest_first(client, client_a, client_b, manager):
    days = {"ABC00000010": 9, "ABC00000011": 9, "BBB00000012": 9, "ABC00000013": 1, "BBB00000014": 20}
    for number, day in days.items():
        _entry(client_a if number.startswith("ABC") else client_b, number, days=day)
    _entry(client_a, "ABC00000099", days=31)  # outside the window
    seen, after = [], None
    while True:
        alerts = deadline_alerts(user=manager, today=timezone.localdate(), days=30, after=after, limit=2)
        assert alerts.total == 5
        seen += [e.entry_number for group in alerts.groups for e in group.entries]
        if alerts.next_after is None:
            break
        after = alerts.next_after
    assert seen == ["ABC00000013", "ABC00000010", "ABC00000011", "BBB00000012", "BBB00000014"]

    client.force_login(manager)
    day = timezone.localdate() + timedelta(days=9)
    html = client.get(reverse("staff:deadlines"), {"after": f"{day}:ABC00000011"}).content.decode()
    assert "BBB00000012" in html and "BBB00000014" in html and "ABC00000011" not in html
    assert "Nearest first" in html


def test_alerts_page_is_complete_even_when_the_stored_counts_are_stale(client_a, manager):
    for n in range(4):
        _entry(client_a, f"ABC0000002{n}", days=5 + n)
    with scope(client=client_a):  # rows changed behind the services' back: the figures still say 9 days
        Entry.objects.filter(entry_number="ABC00000020").update(
            next_deadline=timezone.localdate() + timedelta(days=20)
        )
    alerts = deadline_alerts(user=manager, today=timezone.localdate(), days=30, limit=2)
    assert [e.entry_number for g in alerts.groups for e in g.entries] == ["ABC00000021", "ABC00000022"]
    assert alerts.next_after is not None


def test_dashboard_figures_of_several_clients_are_each_clients_own_sums(client_a, client_b, manager):
    """Per-client sums, the pipeline and the chart weeks are summed by the database apart: none may mix."""
    _entry(client_a, "ABC12345676", duty="1000.00", days=10)
    _entry(client_a, "ABC12345684", path="protest", duty="500.00", days=60, kind="protest_deadline")
    _entry(client_a, "ABC12345692", path="needs_data", duty="200.00")
    _entry(client_b, "BBB12345676", duty="70.00", days=3)
    _entry(client_b, "BBB12345684", path="needs_data", duty="5.00")
    _entry(client_b, "BBB12345692", path="needs_data", duty="6.00")
    today = timezone.localdate()
    board = caseload_dashboard(user=manager, today=today)
    rows = {row.client.slug: row for row in board.rows}
    a, b = rows["client-a"], rows["client-b"]
    assert (a.entries, a.ieepa, a.needs_review, a.next_deadline) == (
        3,
        Decimal("1700.00"),
        1,
        today + timedelta(days=10),
    )
    assert (b.entries, b.ieepa, b.needs_review, b.next_deadline) == (
        3,
        Decimal("81.00"),
        2,
        today + timedelta(days=3),
    )
    pipeline = dict(board.pipeline)
    assert sorted(pipeline.values()) == [Decimal("211.00"), Decimal("500.00"), Decimal("1070.00")]
    weeks = dict(board.weeks)
    assert weeks[today] == Decimal("70.00")  # days 0-6: client B's
    assert weeks[today + timedelta(days=7)] == Decimal("1000.00")  # days 7-13: client A's
    assert weeks[today + timedelta(days=56)] == Decimal("500.00")  # day 60 is in the ninth week
    assert sum(weeks.values()) == Decimal("1570.00")


def test_dashboard_shows_each_clients_ledger_figures_and_zeros_before_a_declaration(
    client, client_a, client_b, manager
):
    from entries.models import LedgerFigures

    _entry(client_a, "ABC12345676", duty="1000.00", days=10)
    _entry(client_b, "BBB12345676", duty="70.00", days=3)
    with scope(client=client_a):  # as figures_refresh leaves them after filings and CBP's answers
        LedgerFigures.objects.create(
            client=client_a,
            filed=7,
            accepted=5,
            refunded=3,
            refunded_principal=Decimal("1234.50"),
            open_rejections=2,
        )
    client.force_login(manager)
    html = client.get(reverse("staff:caseload")).content.decode()
    cells = re.findall(r'<td class="text-end">(.*?)</td>', _row(html, "client-a"))
    assert cells[2:5] == ["7", "5", "$1,234.50"]  # after IEEPA and refundable: filed, accepted, refunded
    assert reverse("refunds:claims", kwargs={"client_slug": "client-a"}) + '">2</a>' in _row(html, "client-a")
    cells = re.findall(r'<td class="text-end">(.*?)</td>', _row(html, "client-b"))
    assert cells[2:5] == ["0", "0", "0"]
    assert 'Open rejections</div><div class="h5 mb-0">2</div>' in html  # the caseload's total
