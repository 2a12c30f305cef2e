"""The staff caseload dashboard and deadline alerts: every figure aggregated in the database.

One grouped query over entries gives each client's figures, the pipeline by path and the deadlines of the
next 90 days per week (conditional sums), whatever the number of entries; the ledger figures come from
refunds.selectors when that app is installed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, DecimalField, Exists, Min, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django_scopes import scopes_disabled

from clients.models import Client, User
from clients.onboarding import readiness
from clients.selectors import caseload_clients

from .models import Entry, RefundPath
from .reminders import REMINDED_KINDS

AT_RISK_DAYS = 30
FIGURES_TTL = 120  # seconds a client's entry figures stay cached (the page says how old they are)
CHART_WEEKS = 13  # the next 90 days, week by week
ZERO = Decimal("0")
_MONEY = Value(ZERO, output_field=DecimalField(max_digits=18, decimal_places=2))


def _sum(condition=None):
    return Coalesce(Sum("ieepa_duty", filter=condition), _MONEY)


try:  # the ledger (filed, accepted, refunded, open rejections) exists once the refunds app is installed
    from refunds import selectors as refund_selectors
except ImportError:  # pragma: no cover - the refunds app ships with the portal; kept optional on purpose
    refund_selectors = None


@dataclass
class ClientRow:
    client: Client
    ready: bool
    missing: tuple[str, ...]
    blocked: bool
    ieepa: Decimal = ZERO
    refundable: Decimal = ZERO
    at_risk: Decimal = ZERO
    needs_review: int = 0
    entries: int = 0
    next_deadline: date | None = None
    ledger: dict = field(default_factory=dict)
    open_rejections: int = 0

    @property
    def queue_rank(self) -> int:
        if self.blocked:
            return 0
        if self.needs_review or self.open_rejections:
            return 1
        return 2


@dataclass
class Dashboard:
    rows: list[ClientRow]
    page: Page  # the rows shown, with their onboarding readiness
    pipeline: list[tuple[str, Decimal]]  # (path label, IEEPA duty)
    weeks: list[tuple[date, Decimal]]  # (week start, IEEPA duty with a deadline that week)
    totals: dict
    has_ledger: bool


SORTS = {
    "queue": lambda r: (r.queue_rank, r.next_deadline or date.max, r.client.legal_name),
    "name": lambda r: r.client.legal_name.lower(),
    "ieepa": lambda r: -r.ieepa,
    "refundable": lambda r: -r.refundable,
    "at_risk": lambda r: -r.at_risk,
    "deadline": lambda r: (r.next_deadline or date.max, r.client.legal_name),
}


def _entry_aggregates(today: date) -> dict:
    soon = Q(
        next_deadline_kind__in=REMINDED_KINDS,
        next_deadline__gte=today,
        next_deadline__lte=today + timedelta(days=AT_RISK_DAYS),
    )
    aggregates = {
        "entries": Count("pk"),
        "ieepa": _sum(),
        "at_risk": _sum(soon),
        "nearest": Min(
            "next_deadline", filter=Q(next_deadline_kind__in=REMINDED_KINDS, next_deadline__gte=today)
        ),
    }
    for week in range(CHART_WEEKS):
        start = today + timedelta(days=7 * week)
        aggregates[f"w{week}"] = _sum(
            Q(
                next_deadline_kind__in=REMINDED_KINDS,
                next_deadline__gte=start,
                next_deadline__lt=start + timedelta(days=7),
            )
        )
    return aggregates


def _entry_figures(clients: list[Client], today: date) -> list[dict]:
    """Each client's entry figures per refund path: cached per client for a short while, the rest in one query.

    Summing a million entries takes about a second, too slow for a page staff reload all day; the figures
    move with imports and the daily re-classification, so a client's stay cached FIGURES_TTL seconds.
    """
    # The creation time tells a client apart from a deleted one whose id was reused.
    keys = {
        c.pk: f"dashboard:entries:{c.pk}:{c.created_at.timestamp():.6f}:{today.isoformat()}" for c in clients
    }
    cached = cache.get_many(list(keys.values()))
    missing = [client_id for client_id, key in keys.items() if key not in cached]
    fresh: dict[int, list[dict]] = {client_id: [] for client_id in missing}
    if missing:
        for group in (
            Entry.objects.filter(client_id__in=missing)
            .values("client_id", "refund_path")
            .annotate(**_entry_aggregates(today))
            .order_by()
        ):
            fresh[group["client_id"]].append(group)
        cache.set_many({keys[client_id]: groups for client_id, groups in fresh.items()}, FIGURES_TTL)
    return [group for groups in cached.values() for group in groups] + [
        group for groups in fresh.values() for group in groups
    ]


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
    from clients.onboarding_selectors import _load  # the checklist loader: four queries for any number

    with scopes_disabled():  # aggregates over the clients the user may see (ids from caseload_clients)
        blocked = ChecklistItem.objects.filter(client=OuterRef("pk"), status="blocked")
        clients = list(
            caseload_clients(user=user, staff_id=staff_id, search=search).annotate(blocked=Exists(blocked))
        )
        grouped = _entry_figures(clients, today)
        rows = {c.pk: ClientRow(client=c, ready=False, missing=(), blocked=c.blocked) for c in clients}
        pipeline: dict[str, Decimal] = defaultdict(lambda: ZERO)
        weeks = [ZERO] * CHART_WEEKS
        for g in grouped:
            row = rows[g["client_id"]]
            row.entries += g["entries"]
            row.ieepa += g["ieepa"]
            row.at_risk += g["at_risk"]
            if g["refund_path"] == RefundPath.CAPE_PHASE1:
                row.refundable += g["ieepa"]
            if g["refund_path"] == RefundPath.NEEDS_DATA:
                row.needs_review += g["entries"]
            if g["nearest"] and (row.next_deadline is None or g["nearest"] < row.next_deadline):
                row.next_deadline = g["nearest"]
            pipeline[g["refund_path"] or ""] += g["ieepa"]
            for week in range(CHART_WEEKS):
                weeks[week] += g[f"w{week}"]
        has_ledger = refund_selectors is not None
        if has_ledger:
            _add_ledger(rows)
    ordered = sorted(rows.values(), key=SORTS.get(sort, SORTS["queue"]))
    shown = Paginator(ordered, page_size).get_page(page)
    with scopes_disabled():  # the checklists of the clients on this page only (same ids as above)
        onboarding = _load([row.client for row in shown])
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
        totals={
            name: sum((getattr(r, name) for r in ordered), ZERO)
            for name in ("ieepa", "refundable", "at_risk")
        }
        | {"clients": len(ordered), "open_rejections": sum(r.open_rejections for r in ordered)},
        has_ledger=has_ledger,
    )


def _add_ledger(rows: dict[int, ClientRow]) -> None:
    """Filed, accepted, refunded (refunds' own totals) and open rejections per client, in one grouped query."""
    from refunds.models import DeclarationEntry

    # refunds.selectors owns both rules: the ledger totals and "rejected and not re-filed since".
    open_rejections = refund_selectors._open_rejections().filter(pk=OuterRef("pk"))
    grouped = (
        DeclarationEntry.objects.filter(client_id__in=list(rows))
        .exclude(status=DeclarationEntry.Status.RELEASED)
        .values("client_id")
        .annotate(
            **refund_selectors._totals_aggregates(),
            open_rejections=Count("pk", filter=Q(Exists(open_rejections))),
        )
        .order_by()
    )
    for totals in grouped:
        row = rows[totals.pop("client_id")]
        row.open_rejections = totals.pop("open_rejections")
        row.ledger = totals


@dataclass
class AlertGroup:
    client: Client
    entries: list[Entry]
    amount: Decimal


ALERT_LIMIT = 500


def deadline_alerts(
    *, user: User, today: date, days: int, staff_id: int | None = None
) -> tuple[list[AlertGroup], int]:
    """Entries across the caseload whose CAPE window or protest deadline falls within `days`, by client.

    Returns the groups (nearest deadline first within a client; clients by their nearest) and the total
    count, which may exceed the ALERT_LIMIT rows shown.
    """
    clients = {c.pk: c for c in caseload_clients(user=user, staff_id=staff_id)}
    with scopes_disabled():  # across the clients the user may see (ids from caseload_clients)
        due = Entry.objects.filter(
            client_id__in=list(clients),
            next_deadline_kind__in=REMINDED_KINDS,
            next_deadline__gte=today,
            next_deadline__lte=today + timedelta(days=days),
        )
        total = due.count()
        entries = list(
            due.only(
                "client_id",
                "entry_number",
                "refund_path",
                "ieepa_duty",
                "next_deadline",
                "next_deadline_kind",
            ).order_by("next_deadline", "entry_number")[:ALERT_LIMIT]
        )
    groups: dict[int, AlertGroup] = {}
    for entry in entries:
        entry.client = clients[entry.client_id]
        group = groups.setdefault(entry.client_id, AlertGroup(clients[entry.client_id], [], ZERO))
        group.entries.append(entry)
        group.amount += entry.ieepa_duty
    return list(groups.values()), total
