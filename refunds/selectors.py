"""Reads on declarations, the ledger and CBP reports; access helpers 404 for both missing and not-yours."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_scopes import scopes_disabled

from clients.models import Client, ImporterNumber, User
from clients.tenancy import ClientAccess, visible_clients
from entries.models import Entry

from .ledgers import registered as other_ledgers
from .models import CbpReport, CbpReportProblem, Declaration, DeclarationBatch, DeclarationEntry

LIVE = [DeclarationEntry.Status.PENDING, DeclarationEntry.Status.ACCEPTED]
FILED_STATUSES = [
    Declaration.Status.FILED,
    Declaration.Status.ACCEPTED,
    Declaration.Status.PARTIALLY_REJECTED,
    Declaration.Status.REJECTED,
]


def may_build(access: ClientAccess) -> bool:
    """Staff build and file declarations; client admins too when the brokerage allows it in settings."""
    return access.is_staff or (access.is_client_admin and settings.CAPE_CLIENT_ADMINS_MAY_BUILD)


# --- Access helpers ------------------------------------------------------------------------------


def batch_for_client(*, client: Client, public_id) -> DeclarationBatch:
    return get_object_or_404(
        DeclarationBatch.objects.select_related("created_by"), client=client, public_id=public_id
    )


def declaration_for_client(*, client: Client, public_id) -> Declaration:
    return get_object_or_404(
        Declaration.objects.defer("content").select_related("batch", "filed_by"),
        client=client,
        public_id=public_id,
    )


def selected_entry_ids(
    *, client: Client, entry_numbers: Collection[str], entry_ids: Collection[int]
) -> set[int]:
    """The ids of the client's entries among those ticked (by entry number, as the entries page sends them,
    or by id): a number or id of another client's entry is simply not found."""
    from domain.entry_numbers import canonical

    numbers = {canonical(n) for n in entry_numbers if n.strip()}
    ids = set(entry_ids)
    if not numbers and not ids:
        return set()
    return set(
        Entry.objects.filter(client=client)
        .filter(Q(entry_number__in=numbers) | Q(pk__in=ids))
        .values_list("pk", flat=True)
    )


def declaration_content(*, declaration: Declaration) -> bytes:
    return bytes(
        Declaration.objects.filter(client=declaration.client, pk=declaration.pk).values_list(
            "content", flat=True
        )[0]
    )


def cbp_report_for_client(*, client: Client, public_id) -> CbpReport:
    return get_object_or_404(
        CbpReport.objects.select_related("declaration", "created_by"), client=client, public_id=public_id
    )


def ledger_row_for_declaration(*, declaration: Declaration, entry_number: str) -> DeclarationEntry:
    row = (
        DeclarationEntry.objects.filter(
            client=declaration.client, declaration=declaration, entry_number=entry_number
        )
        .select_related("reason")
        .first()
    )
    if row is None:
        raise Http404("No such entry in this declaration")
    return row


# --- Lists ---------------------------------------------------------------------------------------


def client_batches(*, client: Client):
    return DeclarationBatch.objects.filter(client=client).select_related("created_by")


def client_declarations(*, client: Client):
    return (
        Declaration.objects.filter(client=client)
        .defer("content")
        .select_related("client", "batch", "filed_by")
        .order_by("-created_at", "sequence")
    )


def batch_declarations(*, batch: DeclarationBatch):
    return (
        Declaration.objects.filter(client=batch.client, batch=batch)
        .defer("content")
        .select_related("client")
        .order_by("sequence")
    )


def declaration_ledger(*, declaration: Declaration):
    return (
        DeclarationEntry.objects.filter(client=declaration.client, declaration=declaration)
        .select_related("reason")
        .order_by("entry_number")
    )


def client_cbp_reports(*, client: Client):
    return CbpReport.objects.filter(client=client).select_related("client", "declaration", "created_by")


def report_problems(*, report: CbpReport):
    return CbpReportProblem.objects.filter(client=report.client, report=report).order_by("row_number", "id")


def entry_ledger(*, entry: Entry) -> list[DeclarationEntry]:
    """The entry's filing history across declarations, newest first."""
    return list(
        DeclarationEntry.objects.filter(client=entry.client, entry_number=entry.entry_number)
        .select_related("declaration__client", "reason")
        .order_by("-created_at", "-id")
    )


def importer_number_choices(*, client: Client) -> list[str]:
    # A pending number (typed by the client, not yet verified by staff) is not filed under.
    return list(
        ImporterNumber.objects.filter(client=client, verified_at__isnull=False).values_list(
            "number", flat=True
        )
    )


def entries_in_live_declaration() -> Q:
    """A Q on Entry: in a live CAPE declaration, so the client has acted on its CAPE deadline (the reminders'
    scan in entries asks through entries.hooks.in_live_declaration)."""
    return Q(Exists(DeclarationEntry.objects.filter(entry=OuterRef("pk"), status__in=DeclarationEntry.LIVE)))


# --- Totals ----------------------------------------------------------------------------------------

_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=18, decimal_places=2))


def _money(expression, condition=None):
    return Coalesce(Sum(expression, filter=condition), _ZERO)


def _refund_aggregates() -> dict:
    refund = DeclarationEntry.RefundStatus
    paid = Coalesce("principal_refunded", _ZERO) + Coalesce("interest_refunded", _ZERO)
    return {
        "refunded": Count("pk", filter=Q(principal_refunded__isnull=False)),
        "refunded_principal": _money("principal_refunded"),
        "refunded_interest": _money("interest_refunded"),
        "diverted": Count("pk", filter=Q(refund_status=refund.DIVERTED)),
        "diverted_amount": _money(paid, Q(refund_status=refund.DIVERTED)),
        "returned": Count("pk", filter=Q(refund_status=refund.ACH_RETURNED)),
        "returned_amount": _money(paid, Q(refund_status=refund.ACH_RETURNED)),
    }


def _totals_aggregates() -> dict:
    filed = Q(declaration__status__in=FILED_STATUSES)
    status = DeclarationEntry.Status
    return {
        "draft": Count("pk", filter=Q(declaration__status=Declaration.Status.DRAFT)),
        "filed": Count("pk", filter=filed),
        "filed_ieepa": _money("ieepa_duty", filed),
        "pending": Count("pk", filter=filed & Q(status=status.PENDING)),
        "accepted": Count("pk", filter=filed & Q(status=status.ACCEPTED)),
        "rejected": Count("pk", filter=filed & Q(status=status.REJECTED)),
        **_refund_aggregates(),
    }


_MONEY_TOTALS = {
    "filed_ieepa",
    "refunded_principal",
    "refunded_interest",
    "diverted_amount",
    "returned_amount",
    "outside_cape_principal",
}
# What the refunds outside CAPE (refunds.ledgers: allowed protests) add to the totals, and apart.
OUTSIDE_CAPE = ("outside_cape", "outside_cape_principal")


def other_refund_totals(*, client_ids: Collection[int]) -> dict[int, dict]:
    """Per client: the refund figures of entries refunded outside CAPE (allowed protests), as the ledger's."""
    result: dict[int, dict] = {}
    for other in other_ledgers():
        with scopes_disabled():  # grouped over the given clients, which the caller may see
            rows = (
                other.model.objects.filter(other.refundable, client_id__in=list(client_ids))
                .values("client_id")
                .annotate(**_refund_aggregates())
                .order_by()
            )
            for row in rows:
                totals = result.setdefault(row.pop("client_id"), {})
                for name, value in row.items():
                    totals[name] = totals.get(name, 0) + value
    return result


def _with_other_refunds(totals: dict, other: dict | None) -> dict:
    totals["outside_cape"] = other["refunded"] if other else 0
    totals["outside_cape_principal"] = other["refunded_principal"] if other else Decimal("0")
    for name, value in (other or {}).items():
        totals[name] += value
    return totals


def ledger_totals(*, client: Client) -> dict:
    """Filed, accepted, rejected, refunded (principal and interest apart), diverted and returned: one query
    for the CAPE ledger, one for the refunds of allowed protests, which the refunded figures include."""
    totals = (
        DeclarationEntry.objects.filter(client=client)
        .exclude(status=DeclarationEntry.Status.RELEASED)
        .aggregate(**_totals_aggregates())
    )
    return _with_other_refunds(totals, other_refund_totals(client_ids=[client.pk]).get(client.pk))


@dataclass
class CaseloadRow:
    client: Client
    totals: dict


def caseload_ledger_totals(*, user: User) -> tuple[list[CaseloadRow], dict]:
    """The same totals for each client the staff user may see that has a ledger (or a refunded protest), and
    their sum: one query for the CAPE ledgers and one for the protests, grouped by client."""
    clients = list(visible_clients(user).order_by("legal_name"))
    ids = [c.pk for c in clients]
    with scopes_disabled():  # one grouped query over the clients the user may see (filtered by their ids)
        grouped = {
            row.pop("client_id"): row
            for row in DeclarationEntry.objects.filter(client_id__in=ids)
            .exclude(status=DeclarationEntry.Status.RELEASED)
            .values("client_id")
            .annotate(**_totals_aggregates())
            .order_by()
        }
    others = other_refund_totals(client_ids=ids)
    rows = [
        CaseloadRow(
            client=c, totals=_with_other_refunds(grouped.get(c.pk) or _empty_totals(), others.get(c.pk))
        )
        for c in clients
        if c.pk in grouped or c.pk in others
    ]
    overall = _empty_totals()
    for row in rows:
        for name in overall:
            overall[name] += row.totals[name]
    return rows, overall


def _empty_totals() -> dict:
    names = (*_totals_aggregates(), *OUTSIDE_CAPE)
    return {name: (Decimal("0") if name in _MONEY_TOTALS else 0) for name in names}


def _open_rejections():
    newer_live = DeclarationEntry.objects.filter(entry=OuterRef("entry"), status__in=LIVE)
    return (
        DeclarationEntry.objects.filter(status=DeclarationEntry.Status.REJECTED)
        .annotate(refiled=Exists(newer_live))
        .filter(refiled=False)
        .select_related("reason", "declaration__client")
        .order_by("result_on", "entry_number")
    )


def client_rejections(*, client: Client):
    """Rejected entries of the client not yet in a new pending or accepted declaration."""
    return _open_rejections().filter(client=client)


def rejection_queue(*, user: User, limit: int = 500) -> list[DeclarationEntry]:
    """The staff queue: rejected entries across the clients the user may see, oldest result first."""
    client_ids = list(visible_clients(user).values_list("pk", flat=True))
    with scopes_disabled():  # across the user's clients; client_ids is what they may see
        return list(_open_rejections().filter(client_id__in=client_ids).select_related("client")[:limit])
