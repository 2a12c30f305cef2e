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
from .models import BrokerageDeadlineChange, BrokerageDeadlineFigures, DeadlineFigures, Entry, PathFigures

ZERO, CENT = Decimal("0"), Decimal("0.01")
_ZERO = Value(ZERO, output_field=DecimalField(max_digits=18, decimal_places=2))
_LOCK_NAMESPACE = 7007  # pg_advisory_xact_lock(namespace, client id): one refresh of a client at a time
_FOLD_LOCK = (7008, 0)  # one fold or rebuild of the brokerage-wide sums at a time


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
    """Every client's figures, one client per transaction, then the brokerage-wide sums rebuilt whole.

    Returns the number of clients.
    """
    from clients.models import Client

    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    for client_id in ids:
        with transaction.atomic():
            asynchronous_commit()  # idempotent, one commit per client: see reclassify_all_clients
            figures_refresh(client_id=client_id)
    brokerage_figures_rebuild()
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
    stored = {
        (k, d): (pk, n, s)
        for pk, k, d, n, s in DeadlineFigures.objects.filter(client_id=client_id)
        .values_list("pk", "kind", "day", "entries", "ieepa")
        .order_by()
    }
    new = {(k, d): (n, s) for k, d, n, s in days}
    # The change goes in first: a rebuild that waits for this transaction then sees the rows it changed.
    _record_changes(old={key: (n, s) for key, (_pk, n, s) in stored.items()}, new=new)
    # Only the days that changed are written: the nightly refresh of 2,000 clients, most unchanged, used to
    # delete and insert every stored day (hundreds of thousands of dead rows for the caseload's probes).
    DeadlineFigures.objects.filter(
        pk__in=[pk for key, (pk, _n, _s) in stored.items() if key not in new]
    ).delete()
    DeadlineFigures.objects.bulk_update(
        [
            DeadlineFigures(pk=pk, entries=new[key][0], ieepa=new[key][1])
            for key, (pk, n, s) in stored.items()
            if key in new and new[key] != (n, s)
        ],
        ["entries", "ieepa"],
        batch_size=1000,
    )
    DeadlineFigures.objects.bulk_create(
        [
            DeadlineFigures(client_id=client_id, kind=k, day=d, entries=n, ieepa=s)
            for (k, d), (n, s) in new.items()
            if (k, d) not in stored
        ],
        batch_size=2000,
    )


def _figures_of(rows) -> dict:
    return {(k, d): (n, s) for k, d, n, s in rows.values_list("kind", "day", "entries", "ieepa").order_by()}


def _record_changes(*, old: dict, new: dict) -> None:
    """Append what changed between a client's old and new DeadlineFigures to the brokerage-wide changes."""
    changes = []
    for key in old.keys() | new.keys():
        n_old, s_old = old.get(key, (0, ZERO))
        n_new, s_new = new.get(key, (0, ZERO))
        if (n_old, s_old) != (n_new, s_new):
            changes.append(
                BrokerageDeadlineChange(kind=key[0], day=key[1], entries=n_new - n_old, ieepa=s_new - s_old)
            )
    BrokerageDeadlineChange.objects.bulk_create(changes, batch_size=2000)


def client_figures_removed(*, client_id: int) -> None:
    """A client's rows are about to go (the client deleted): take its days out of the brokerage-wide sums."""
    with scopes_disabled():  # by client id: the caller is deleting this client
        _record_changes(old=_figures_of(DeadlineFigures.objects.filter(client_id=client_id)), new={})


def brokerage_deadline_days(*, first, last) -> dict:
    """{(kind, day): (entries, IEEPA duty)} over every client, for the days first..last (inclusive).

    The folded sums plus the changes not yet folded, in one statement (one snapshot: a refresh committing
    meanwhile is either wholly in or wholly out).
    """
    base, changes = BrokerageDeadlineFigures._meta.db_table, BrokerageDeadlineChange._meta.db_table
    sql = (
        f"SELECT kind, day, SUM(entries), SUM(ieepa) FROM ("
        f"SELECT kind, day, entries, ieepa FROM {base} WHERE day >= %s AND day <= %s UNION ALL "
        f"SELECT kind, day, entries, ieepa FROM {changes} WHERE day >= %s AND day <= %s"
        f") AS figures GROUP BY kind, day"
    )
    converter = BrokerageDeadlineFigures._meta.get_field("day")
    with connection.cursor() as cursor:
        cursor.execute(sql, [first, last, first, last])
        rows = cursor.fetchall()
    result = {}
    for kind, day, entries, ieepa in rows:
        if entries:  # a day every client has left (its changes not folded yet)
            day = converter.to_python(day)  # SQLite returns text
            result[(kind, day)] = (int(entries), Decimal(str(ieepa)).quantize(CENT))
    return result


def fold_brokerage_changes() -> int:
    """Fold the appended changes into BrokerageDeadlineFigures (every few minutes, by beat). Returns how many.

    Deletes exactly the changes it adds (DELETE ... RETURNING): one appended meanwhile, not yet committed,
    is folded the next time.
    """
    table = BrokerageDeadlineChange._meta.db_table
    with transaction.atomic():
        _fold_lock()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} RETURNING kind, day, entries, ieepa")
            rows = cursor.fetchall()
        sums: dict = {}
        for kind, day, entries, ieepa in rows:
            n, s = sums.get((kind, str(day)), (0, ZERO))
            sums[(kind, str(day))] = (n + entries, s + Decimal(str(ieepa)))
        _add_to_base([(k, d, n, s.quantize(CENT)) for (k, d), (n, s) in sorted(sums.items()) if n or s])
    return len(rows)


def brokerage_figures_rebuild() -> None:
    """BrokerageDeadlineFigures summed again from every client's DeadlineFigures (nightly; the migration).

    Repairs anything written behind the services' back. On PostgreSQL the changes table is locked against
    new changes first, so every refresh is either committed before the sums are read or appended after.
    """
    base, changes = BrokerageDeadlineFigures._meta.db_table, BrokerageDeadlineChange._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        _fold_lock()
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {changes} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {changes}")
        cursor.execute(f"DELETE FROM {base}")
        cursor.execute(
            f"INSERT INTO {base} (kind, day, entries, ieepa) SELECT kind, day, SUM(entries), SUM(ieepa) "
            f"FROM {DeadlineFigures._meta.db_table} GROUP BY kind, day"
        )


def _fold_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_FOLD_LOCK))


def _add_to_base(rows: list[tuple]) -> None:
    base = BrokerageDeadlineFigures._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {base} (kind, day, entries, ieepa) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (kind, day) DO UPDATE SET entries = {base}.entries + excluded.entries, "
            f"ieepa = {base}.ieepa + excluded.ieepa",
            rows,
        )
        cursor.execute(f"DELETE FROM {base} WHERE entries = 0")
