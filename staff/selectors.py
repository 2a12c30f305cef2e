"""The staff caseload dashboard and deadline alerts, read from each client's stored figures.

The sums over entries and the CAPE ledger are kept per client by entries.figures (recomputed by the
services that change them), so a page reads a few rows per client, however many entries there are.
The date-dependent figures (amount at risk, next deadline, the 90-day chart) are decided here from the
absolute deadline days stored, so they are right on any day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Subquery,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django_scopes import scopes_disabled

from brokerage.lookups import client_ids_in
from clients.models import Client, StaffAssignment, User
from clients.onboarding.checklist import readiness
from clients.selectors import caseload_clients
from domain.eligibility import open_paths
from domain.vocabulary import REMINDED_DEADLINE_KINDS
from entries.figures import brokerage_deadline_days
from entries.models import DeadlineFigures, Entry, LedgerFigures, PathFigures, RefundPath
from entries.selectors import DUE_DAYS, headline_figures

CHART_WEEKS = 13  # the next 90 days, week by week
ZERO = Decimal("0")
LEDGER_FIGURES = ("filed", "accepted", "refunded", "refunded_principal")
# A client's ledger figures before its first declaration (it has no LedgerFigures row).
NO_LEDGER = {"filed": 0, "accepted": 0, "refunded": 0, "refunded_principal": ZERO}


@dataclass
class ClientRow:
    client_id: int
    slug: str
    legal_name: str
    is_active: bool
    created_at: datetime
    blocked: bool
    ready: bool = False
    missing: tuple[str, ...] = ()
    ieepa: Decimal = ZERO
    refundable: Decimal = ZERO
    at_risk: Decimal = ZERO
    needs_review: int = 0
    entries: int = 0
    next_deadline: date | None = None
    ledger: dict = field(default_factory=dict)
    open_rejections: int = 0
    protests: dict = field(default_factory=dict)  # drafts, pending, allowed, denied (protests app)
    protest_deadline: date | None = None  # the nearest protest deadline of its entries (stored figures)

    @cached_property
    def client(self) -> Client:
        """The client as a model instance, built when asked for: for the rows shown, not the whole caseload.

        A manager's caseload reads 2,000 clients to sort and sum them; building a model instance for each was
        a large part of the page's time.
        """
        # As .only() would load it: another field read from it is fetched, not silently a default.
        return Client.from_db(
            "default",
            ["id", "slug", "legal_name", "is_active", "created_at"],
            [self.client_id, self.slug, self.legal_name, self.is_active, self.created_at],
        )

    @property
    def queue_rank(self) -> int:
        if self.blocked:
            return 0
        if self.needs_review or self.open_rejections:
            return 1
        return 2


@dataclass
class Dashboard:
    # Every client of the caseload, in order. Their refundable and at_risk are filled for the rows of the
    # page only when the caseload is every client and the sort is by neither (the totals are exact either way).
    rows: list[ClientRow]
    page: Page  # the rows shown, with their onboarding readiness
    pipeline: list[tuple[str, Decimal]]  # (path label, IEEPA duty)
    weeks: list[tuple[date, Decimal]]  # (week start, IEEPA duty with a deadline that week)
    totals: dict
    has_ledger: bool = True


SORTS = {
    "queue": lambda r: (r.queue_rank, r.next_deadline or date.max, r.legal_name),
    "name": lambda r: r.legal_name.lower(),
    "ieepa": lambda r: -r.ieepa,
    "refundable": lambda r: -r.refundable,
    "at_risk": lambda r: -r.at_risk,
    "deadline": lambda r: (r.next_deadline or date.max, r.legal_name),
}


def _of_caseload(rows, client_ids: list[int] | None):
    """The rows of the caseload's clients; None: the caseload is every client (a manager's, unfiltered).

    Every client needs no filter, and 2,000 ids sent with each query were a good part of the page's time.
    """
    return rows if client_ids is None else rows.filter(client_ids_in(client_ids))


def _ledger_figures(client_ids: list[int] | None):
    """(client, filed, accepted, refunded, refunded principal, open rejections): its LedgerFigures row, if any."""
    return (
        _of_caseload(LedgerFigures.objects, client_ids)
        .values_list("client_id", *LEDGER_FIGURES, "open_rejections")
        .order_by()
    )


def _client_figures(client_ids: list[int] | None):
    """(client, entries, IEEPA duty, entries needing review): one row per client, summed by the database."""
    review = Case(When(refund_path=RefundPath.NEEDS_DATA, then="entries"), default=0)
    return (
        _of_caseload(PathFigures.objects, client_ids)
        .values("client_id")
        .annotate(n=Sum("entries"), ieepa=Sum("ieepa"), review=Sum(review))
        .values_list("client_id", "n", "ieepa", "review")
        .order_by()
    )


def _pipeline(client_ids: list[int] | None):
    """(refund path, IEEPA duty) over the caseload: one row per path."""
    return (
        _of_caseload(PathFigures.objects, client_ids)
        .values("refund_path")
        .annotate(ieepa=Sum("ieepa"))
        .values_list("refund_path", "ieepa")
        .order_by()
    )


NEAREST = ("nearest_deadline", "nearest_protest_deadline")


def _nearest_deadline_annotations(today: date) -> dict:
    """The client's nearest stored deadline day from today on, of any kind and of a protest, read with the clients.

    One probe of a DeadlineFigures index per client and figure: however many entries or stored days a client
    has (grouping every future day of every client, or MIN over its entries, grows with them).
    """
    ahead = DeadlineFigures.objects.filter(client_id=OuterRef("pk"), day__gte=today).order_by("day")
    return {
        "nearest_deadline": Subquery(ahead.values("day")[:1]),
        "nearest_protest_deadline": Subquery(ahead.filter(kind="protest_deadline").values("day")[:1]),
    }


def _brokerage_days(today: date) -> dict:
    """Every client's stored deadline days (summed per kind and day) for the chart's 13 weeks and the 30-day
    total, read once for both."""
    return brokerage_deadline_days(
        first=today, last=today + timedelta(days=max(7 * CHART_WEEKS - 1, DUE_DAYS))
    )


def _chart_weeks(client_ids: list[int] | None, today: date, brokerage_days: dict | None):
    """(week, IEEPA duty with a deadline that week) over the caseload, for the 13 chart weeks.

    Summed by the database per week and per client separately: with thousands of clients, one row per
    (client, week) was tens of thousands of rows for the page to read. Every client's: the brokerage-wide
    sums per day (a few hundred rows, not every client's days).
    """
    if client_ids is None:  # every client: the brokerage-wide days
        weeks: dict[int, Decimal] = {}
        for (_kind, day), (_entries, amount) in brokerage_days.items():
            week = (day - today).days // 7
            if week >= CHART_WEEKS:
                continue
            weeks[week] = weeks.get(week, ZERO) + amount
        return weeks.items()
    week = Case(
        *(When(day__lt=today + timedelta(days=7 * (w + 1)), then=Value(w)) for w in range(CHART_WEEKS)),
        default=Value(CHART_WEEKS),
        output_field=IntegerField(),
    )
    return (
        DeadlineFigures.objects.filter(
            client_ids_in(client_ids), day__gte=today, day__lt=today + timedelta(days=7 * CHART_WEEKS)
        )
        .values(week=week)
        .annotate(amount=Sum("ieepa"))
        .values_list("week", "amount")
        .order_by()
    )


# A protest's status counted in the caseload's protest column (partially allowed counts as allowed).
PROTEST_COLUMNS = {
    "draft": "drafts",
    "filed": "pending",
    "allowed": "allowed",
    "partially_allowed": "allowed",
    "denied": "denied",
}


def _protest_figures(rows: dict[int, ClientRow], client_ids: list[int] | None, today: date) -> None:
    """Protests per client by status: one grouped query."""
    from domain.protests.drafting import URGENT_DAYS
    from protests.models import Protest

    for row in rows.values():
        row.protests = dict.fromkeys(("drafts", "pending", "allowed", "denied"), 0) | {"urgent": False}
    for client_id, status, count, nearest in (
        _of_caseload(Protest.objects, client_ids)
        .filter(status__in=list(PROTEST_COLUMNS))
        .values("client_id", "status")
        .annotate(n=Count("id"), nearest=Min("earliest_deadline"))
        .values_list("client_id", "status", "n", "nearest")
        .order_by()
    ):
        if (row := rows.get(client_id)) is None:  # a client added since the caseload was read
            continue
        row.protests[PROTEST_COLUMNS[status]] += count
        if status == "draft" and nearest is not None and (nearest - today).days < URGENT_DAYS:
            row.protests["urgent"] = True  # a draft is urgent everywhere, the caseload too


def _headline(rows: dict[int, ClientRow], client_ids: list[int], today: date) -> None:
    """ "Refundable through CAPE now" and "deadline within 30 days": the one definition (entries.selectors)."""
    for client_id, figures in headline_figures(client_ids=client_ids, today=today).items():
        rows[client_id].refundable = figures["cape_now"]
        rows[client_id].at_risk = figures["due_30"]


def caseload_dashboard(
    *,
    user: User,
    today: date,
    staff_id: int | None = None,
    search: str = "",
    sort: str = "queue",
    page: str | int | None = 1,
    page_size: int = 50,
) -> Dashboard:
    """Figures for every client on the caseload (totals, charts, queue order); onboarding detail for one page."""
    from clients.models import ChecklistItem
    from clients.onboarding.selectors import onboarding_records  # four queries for any number of clients

    with scopes_disabled():  # aggregates over the clients the user may see (ids from caseload_clients)
        blocked = ChecklistItem.objects.filter(client=OuterRef("pk"), status="blocked")
        # Values, not model instances: the rows are sorted and summed over the whole caseload, and a model
        # instance is built only for the rows shown (ClientRow.client).
        listed = (
            caseload_clients(user=user, staff_id=staff_id, search=search)
            .prefetch_related(None)  # the assigned staff are loaded for the page shown only, below
            .annotate(blocked=Exists(blocked), **_nearest_deadline_annotations(today))
            .values_list("id", "slug", "legal_name", "is_active", "created_at", "blocked", *NEAREST)
        )
        rows = {
            values[0]: ClientRow(
                *values[:6], next_deadline=values[6], protest_deadline=values[7], ledger=dict(NO_LEDGER)
            )
            for values in listed
        }
        # A manager's whole caseload is every client: its figures need no list of ids, and its totals come
        # from the brokerage-wide sums (the per-client headline figures then only for the rows shown).
        everyone = user.is_staff_manager and not staff_id and not search
        caseload = None if everyone else list(rows)
        for client_id, *ledger, open_rejections in _ledger_figures(caseload):
            if (row := rows.get(client_id)) is not None:  # None: a client added since the caseload was read
                row.ledger = dict(zip(LEDGER_FIGURES, ledger, strict=True))
                row.open_rejections = open_rejections
        every_headline = not everyone or sort in ("refundable", "at_risk")  # sorted by them: all needed
        if every_headline:
            _headline(rows, list(rows), today)
        for client_id, count, ieepa, review in _client_figures(caseload):
            if (row := rows.get(client_id)) is not None:
                row.entries, row.ieepa, row.needs_review = count, ieepa, review
        pipeline = dict(_pipeline(caseload))
        _protest_figures(rows, caseload, today)
        weeks = [ZERO] * CHART_WEEKS
        brokerage_days = _brokerage_days(today) if everyone else None
        for week, amount in _chart_weeks(caseload, today, brokerage_days):
            weeks[week] = amount
    ordered = sorted(rows.values(), key=SORTS.get(sort, SORTS["queue"]))
    shown = Paginator(ordered, page_size).get_page(page)
    if every_headline:
        totals = {name: sum((getattr(r, name) for r in ordered), ZERO) for name in ("refundable", "at_risk")}
    else:
        with scopes_disabled():  # the rows shown, of the caseload above
            _headline(rows, [row.client_id for row in shown], today)
        totals = {
            "refundable": sum((pipeline.get(path) or ZERO for path in open_paths(today)), ZERO),
            "at_risk": _due_within(brokerage_days, today),
        }
    with scopes_disabled():  # the checklists and staff of the clients on this page only (same ids as above)
        onboarding = onboarding_records([row.client for row in shown])
        prefetch_related_objects(
            [row.client for row in shown],
            Prefetch("staff_assignments", queryset=StaffAssignment.objects.select_related("staff")),
        )
    for row in shown:
        ready = readiness(onboarding[row.client.pk].state)
        row.ready, row.missing = ready.ready, ready.missing
    labels = dict(RefundPath.choices)
    return Dashboard(
        rows=ordered,
        page=shown,
        pipeline=sorted(
            ((labels.get(path, "Not classified"), amount) for path, amount in pipeline.items() if amount),
            key=lambda p: -p[1],
        ),
        weeks=[(today + timedelta(days=7 * w), amount) for w, amount in enumerate(weeks)],
        totals=totals
        | {
            "ieepa": sum((r.ieepa for r in ordered), ZERO),
            "clients": len(ordered),
            "open_rejections": sum(r.open_rejections for r in ordered),
        },
    )


def _due_within(brokerage_days: dict, today: date) -> Decimal:
    """Every client's IEEPA duty with a deadline within DUE_DAYS (today included): the headline's "due_30" summed."""
    last = today + timedelta(days=DUE_DAYS)
    return sum((amount for (_kind, day), (_n, amount) in brokerage_days.items() if day <= last), ZERO)


def _nearest_of_each_client(due, client_ids: list[int], count: int) -> list[Entry]:
    """The first `count` entries of `due` (ordered by deadline and entry number) over the clients.

    On PostgreSQL each client's first `count` are read through its (client, next_deadline) index (a LATERAL
    join per client id), then merged: with every client of a caseload in one `client_id = ANY(...)`, the
    planner misjudged how many rows fall due and read the whole entries table (0.3-0.8 s at 5,000,000
    entries, growing with them), while the probes cost the same at any size.
    """
    if connection.vendor != "postgresql":
        return list(due.filter(client_ids_in(client_ids))[:count])
    per_client, params = due.filter(client_id=RawSQL("caseload.id", ()))[:count].query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner costs the 2,000 probes highly and so compiled the query (JIT): at 5,000,000 entries
        # that took 1-1.5 s of a query that runs in 0.4 s under load without it.
        cursor.execute("SET LOCAL jit = off")
        return list(
            Entry.objects.raw(
                f"SELECT due.* FROM unnest(%s::bigint[]) AS caseload(id) CROSS JOIN LATERAL ({per_client}) AS due "
                "ORDER BY due.next_deadline, due.entry_number LIMIT %s",
                [client_ids, *params, count],
            )
        )


def _due_per_day(client_ids: list[int] | None, first: date, last: date) -> list[tuple[date, int]]:
    """(day, entries whose reminded deadline falls that day) over the caseload (None: every client), in order."""
    if client_ids is None:
        per_day: dict[date, int] = {}
        for (_kind, day), (entries, _amount) in brokerage_deadline_days(first=first, last=last).items():
            per_day[day] = per_day.get(day, 0) + entries
        return sorted(per_day.items())
    return list(
        DeadlineFigures.objects.filter(client_ids_in(client_ids), day__gte=first, day__lte=last)
        .values("day")
        .annotate(count=Sum("entries"))
        .values_list("day", "count")
        .order_by("day")
    )


def _held_by_a_protest(entry_ids: list[int]) -> set[int]:
    """The entries among these that a protest (draft or filed) holds: the alerts flag the others near their
    protest deadline. Asked for the page's entries only (an EXISTS per due entry read thousands of them)."""
    from protests.models import ProtestEntry

    with scopes_disabled():  # the ids are the page's entries, read within the caseload
        return set(
            ProtestEntry.objects.filter(entry_id__in=entry_ids)
            .exclude(status__in=[ProtestEntry.Status.RELEASED, ProtestEntry.Status.WITHDRAWN])
            .values_list("entry_id", flat=True)
        )


@dataclass
class AlertGroup:
    client: Client
    entries: list[Entry]
    amount: Decimal


@dataclass
class Alerts:
    groups: list[AlertGroup]  # this page's entries by client (clients by their nearest deadline)
    total: int  # every entry due in the window
    shown: int
    next_after: tuple[date, str] | None  # where the next page starts (keyset), if there is one


ALERT_PAGE = 100


def deadline_alerts(
    *,
    user: User,
    today: date,
    days: int,
    staff_id: int | None = None,
    after: tuple[date, str] | None = None,
    limit: int = ALERT_PAGE,
) -> Alerts:
    """Entries across the caseload whose CAPE window or protest deadline falls within `days`, nearest first.

    A page of `limit` entries from `after` (the deadline and entry number of the last one already
    shown): keyset pagination, so a later page costs what the first does.
    """
    everyone = user.is_staff_manager and not staff_id  # every client: no list of ids to read or send
    visible = (
        caseload_clients(user=user, staff_id=staff_id).prefetch_related(None).only("id", "slug", "legal_name")
    )
    clients = None if everyone else {client.pk: client for client in visible}
    client_ids = None if clients is None else list(clients)
    last = today + timedelta(days=days)
    start = max(after[0], today) if after else today
    with scopes_disabled():  # across the clients the user may see (ids from caseload_clients)
        # The stored count per deadline day gives the total and the day by which this page's entries all
        # fall (the after-day's own are not counted: some were on earlier pages), so the entries are
        # read through (client, next_deadline) up to that day only.
        total, ahead, cutoff = 0, 0, None
        for day, count in _due_per_day(client_ids, today, last):
            total += count
            if day > start:
                ahead += count
                if cutoff is None and ahead > limit:
                    cutoff = day
        due = Entry.objects.filter(
            next_deadline_kind__in=REMINDED_DEADLINE_KINDS,
            next_deadline__gte=start,
            next_deadline__lte=last,
        ).only(
            "client_id", "entry_number", "refund_path", "ieepa_duty", "next_deadline", "next_deadline_kind"
        )
        if after:  # a row comparison: the index's own order, so a late page starts where it left off
            due = due.filter(
                RawSQL(
                    '("entries_entry"."next_deadline", "entries_entry"."entry_number") > (%s, %s)',
                    [after[0], after[1]],
                    output_field=BooleanField(),
                )
            )
        due = due.order_by("next_deadline", "entry_number")
        if everyone:  # in order through the entries_due_by_day index: the page's own entries only
            entries = list(due[: limit + 1])
        else:
            entries = _nearest_of_each_client(
                due.filter(next_deadline__lte=cutoff or last), client_ids, limit + 1
            )
            if cutoff and len(entries) <= limit:  # the stored counts were ahead of the rows (stale): read on
                entries = _nearest_of_each_client(due, client_ids, limit + 1)
        if clients is None:  # every client: read those of the page's entries only
            clients = {client.pk: client for client in visible.filter(pk__in={e.client_id for e in entries})}
    more = len(entries) > limit
    entries = entries[:limit]
    held = _held_by_a_protest([entry.pk for entry in entries])
    groups: dict[int, AlertGroup] = {}
    for entry in entries:
        entry.client = clients[entry.client_id]
        entry.in_protest = entry.pk in held
        group = groups.setdefault(entry.client_id, AlertGroup(clients[entry.client_id], [], ZERO))
        group.entries.append(entry)
        group.amount += entry.ieepa_duty
    return Alerts(
        groups=list(groups.values()),
        total=total,
        shown=len(entries),
        next_after=(entries[-1].next_deadline, entries[-1].entry_number) if more else None,
    )
