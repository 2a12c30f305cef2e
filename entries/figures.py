"""The caseload dashboard's stored figures: each client's sums, recomputed from the client's own rows.

Summing a million entries on every dashboard load takes about a second; one client's sums are one
grouped query over that client's entries (milliseconds). So every service that writes entries or the CAPE
ledger calls figures_refresh for the client it changed, inside its own transaction, and the daily
re-classification refreshes every client (the safety net for rows written behind the services' back).
What moves with the date is not stored: DeadlineFigures keeps absolute days per deadline kind, and "within
30 days", "next" or "the nearest protest deadline" is decided when the dashboard reads them.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce
from django_scopes import scopes_disabled

from brokerage.bulk import asynchronous_commit
from domain.vocabulary import REMINDED_DEADLINE_KINDS

from . import hooks
from .models import DeadlineFigures, Entry, PathFigures

_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=18, decimal_places=2))
_LOCK_NAMESPACE = 7007  # pg_advisory_xact_lock(namespace, client id): one refresh of a client at a time


def figures_refresh(*, client_id: int, entries: bool = True, ledger: bool = True) -> None:
    """Recompute a client's stored figures from its entries and/or its CAPE ledger (call after changing them).

    Call it inside the transaction that changed the rows, as its last step: refreshes of one client are
    serialised by a lock held to the end of the transaction, so the later one reads what the earlier
    committed and the stored figures end as the rows are.
    """
    with transaction.atomic(), scopes_disabled():  # by client id: the caller changed this client's rows
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, client_id])
        if entries:
            _refresh_entries(client_id)
        if ledger:  # the CAPE ledger is refunds', which sits above entries: it provides this hook
            hooks.ledger_figures_refresh(client_id)


def figures_refresh_all() -> int:
    """Every client's figures, one client per transaction. Returns the number of clients."""
    from clients.models import Client

    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    for client_id in ids:
        with transaction.atomic():
            asynchronous_commit()  # idempotent, one commit per client: see reclassify_all_clients
            figures_refresh(client_id=client_id)
    return len(ids)


def _refresh_entries(client_id: int) -> None:
    rows = Entry.objects.filter(client_id=client_id).order_by()
    sums = {"n": Count("pk"), "ieepa": Coalesce(Sum("ieepa_duty"), _ZERO)}
    paths = rows.values("refund_path").annotate(**sums).values_list("refund_path", "n", "ieepa")
    days = (
        rows.filter(next_deadline_kind__in=REMINDED_DEADLINE_KINDS, next_deadline__isnull=False)
        .values("next_deadline_kind", "next_deadline")
        .annotate(**sums)
        .values_list("next_deadline_kind", "next_deadline", "n", "ieepa")
    )
    PathFigures.objects.filter(client_id=client_id).delete()
    PathFigures.objects.bulk_create(
        [PathFigures(client_id=client_id, refund_path=p, entries=n, ieepa=s) for p, n, s in paths]
    )
    DeadlineFigures.objects.filter(client_id=client_id).delete()
    DeadlineFigures.objects.bulk_create(
        [DeadlineFigures(client_id=client_id, kind=k, day=d, entries=n, ieepa=s) for k, d, n, s in days],
        batch_size=2000,
    )
