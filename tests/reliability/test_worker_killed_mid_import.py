"""Drill: a worker killed (SIGKILL) in the middle of importing a large report.

The message is delivered again (Redis after its visibility timeout when the whole worker dies; at once
when only the pool process dies and the worker rejects the message), the new run takes the import over
from the dead one (its lease died with its database session), and the entries, lines and rejections
stored are exactly those of an uninterrupted import of the same file.
"""

import os
import random
import re
import signal
import time
from pathlib import Path

import pytest
from django.core.files import File
from django.db import connection
from django_scopes import scope, scopes_disabled

from entries.ingestion import services as ingestion_services
from entries.ingestion.services import report_import, report_upload
from entries.models import Entry, EntryReport
from tests.conftest import wait_for
from tests.factories import ClientFactory, importer_number
from tests.reliability.helpers import IMPORTERS, ROWS, large_report, record_figures

pytestmark = pytest.mark.services

VISIBILITY_TIMEOUT = 5  # seconds; production waits an hour (CELERY_VISIBILITY_TIMEOUT)

# What a user sees of an entry and a line: every column but ids, owners and timestamps.
ENTRY_COLUMNS = [
    f.column
    for f in Entry._meta.concrete_fields
    if f.column not in ("id", "client_id", "last_report_id", "updated_at")
]
LINE_COLUMNS = (
    "row_number",
    "line_number",
    "ordinal",
    "hts",
    "goods_value",
    "duty",
    "country_of_origin",
    "program",
)


def _client(slug: str):
    client = ClientFactory(slug=slug)
    for number in IMPORTERS:
        importer_number(client, number)
    return client


def _upload(client, path: Path, *, enqueue: bool, reprocess: bool = False) -> EntryReport:
    with scope(client=client), path.open("rb") as handle:
        report, created = report_upload(
            actor=None,
            client=client,
            uploaded=File(handle, name=path.name),
            enqueue=enqueue,
            reprocess=reprocess,
        )
    assert created
    return report


def _report(pk: int) -> EntryReport:
    with scopes_disabled():
        return EntryReport.objects.get(pk=pk)


def _lease_held(report_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s",
            [ingestion_services._LOCK_IMPORT, report_id],
        )
        return cursor.fetchone()[0] > 0


def _pool_process(worker) -> int:
    """The prefork pool's one child. The worker may report ready a moment before its pool has forked (CI saw
    no child at the first look once), so wait for it; any of the worker's threads may be its parent."""

    def one_child():
        children = []
        for task in Path(f"/proc/{worker.pid}/task").iterdir():
            try:
                children += (task / "children").read_text().split()
            except FileNotFoundError:  # a thread that ended while we looked
                continue
        assert len(children) <= 1, children  # concurrency 1: never two pool processes
        return int(children[0]) if children else None

    return wait_for(one_child, timeout=30, interval=0.05, message="the worker's pool process to start")


@pytest.mark.parametrize("victim", ["worker", "pool-process", "worker-storing"])
def test_worker_killed_mid_import_redelivers_and_stores_exactly_an_uninterrupted_import(
    start_celery_worker, tmp_path, victim
):
    client = _client("killed")
    path = tmp_path / "es003_large.csv"
    large_report(path)
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    pool = "prefork" if victim == "pool-process" else "solo"
    worker = start_celery_worker(env=env, pool=pool)

    report = _upload(client, path, enqueue=True)  # committed at once: queued through Redis
    target = _pool_process(worker) if victim == "pool-process" else worker.pid

    # Somewhere in the middle of reading the file, early enough that the import's coarse progress steps (the
    # two halves report in chunks; on a quiet machine 45,000 rows passed between two polls) cannot carry it past
    # the 80 % guard below before the kill.
    kill_from = random.uniform(0.15, 0.5) * ROWS

    def mid_way():
        rows = _report(report.pk).rows_read
        if rows >= ROWS * 0.8:
            pytest.fail(f"the import was at {rows:,} rows before it could be interrupted")
        return rows if rows >= kill_from else None

    def storing():  # the file is read; its entries are being merged, in one transaction
        current = _report(report.pk)
        if current.is_finished:
            pytest.fail("the import finished before it could be interrupted")
        return current.rows_read if current.message.startswith("Storing") else None

    if victim == "worker-storing":
        rows_at_kill = wait_for(storing, timeout=90, interval=0.02, message="the import to be storing")
    else:
        rows_at_kill = wait_for(mid_way, timeout=60, interval=0.05, message="the import to be mid-way")
    os.kill(target, signal.SIGKILL)
    killed_at = time.monotonic()
    if victim != "pool-process":
        worker.wait(timeout=10)
        # The dead worker's server process ends (at once when idle or reading the file; within a second
        # in the middle of the merge, thanks to client_connection_check_interval) and frees the lease.
        wait_for(
            lambda: not _lease_held(report.pk), timeout=30, interval=0.05, message="the lease to be freed"
        )
        lease_freed_after = time.monotonic() - killed_at
        left = _report(report.pk)
        assert left.status == EntryReport.Status.RUNNING  # what the page shows until someone takes over
        with scope(client=client):
            assert not Entry.objects.exists()  # staging is not storing: nothing half-imported is visible
        start_celery_worker(env=env, pool=pool)  # the supervisor (docker, systemd) starts a new worker
        restarted_after = time.monotonic() - killed_at

    def finished():
        current = _report(report.pk)
        return current if current.is_finished else None

    done = wait_for(finished, timeout=120, interval=0.1, message="the redelivered import to finish")
    recovered_after = time.monotonic() - killed_at
    assert done.status == EntryReport.Status.SUCCEEDED, done.message
    assert done.attempts == 2  # the killed run and the one that took over
    assert done.rows_read == ROWS

    # The reference: the same file imported again, uninterrupted, into the same client emptied of what
    # the drill stored (importer numbers belong to one client, so it cannot be another client).
    projections = {
        "entries": f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries_entry WHERE client_id = %s",
        "lines": (
            f"SELECT e.entry_number, {', '.join(f'l.{c}' for c in LINE_COLUMNS)} FROM entries_entryline l "
            "JOIN entries_entry e ON e.id = l.entry_id WHERE l.client_id = %s"
        ),
        "rejections": (
            'SELECT row_number, entry_number, "column", reason FROM entries_rowrejection WHERE report_id = %s'
        ),
    }
    keys = {"entries": client.pk, "lines": client.pk, "rejections": report.pk}
    with connection.cursor() as cursor:
        for name, sql in projections.items():
            cursor.execute(f"CREATE TEMPORARY TABLE drill_{name} AS {sql}", [keys[name]])
        for table in ("entries_entryline", "entries_entryhistory", "entries_entry"):
            cursor.execute(f"DELETE FROM {table} WHERE client_id = %s", [client.pk])
    started = time.monotonic()
    reference = _upload(client, path, enqueue=False, reprocess=True)
    with scope(client=client):
        report_import(report=reference)
    reference_seconds = time.monotonic() - started
    reference.refresh_from_db()
    assert reference.status == EntryReport.Status.SUCCEEDED, reference.message

    keys["rejections"] = reference.pk
    figures = {}
    with connection.cursor() as cursor:
        for name, sql in projections.items():
            drill, uninterrupted = f"SELECT * FROM drill_{name}", sql.replace("%s", str(int(keys[name])))
            cursor.execute(
                f"SELECT (SELECT COUNT(*) FROM ({drill}) a), (SELECT COUNT(*) FROM ({uninterrupted}) b)"
            )
            count, expected = cursor.fetchone()
            assert count == expected, name
            for a, b, what in (
                (drill, uninterrupted, "added or duplicated"),
                (uninterrupted, drill, "missing"),
            ):
                cursor.execute(f"SELECT COUNT(*) FROM (({a}) EXCEPT ALL ({b})) d")
                assert cursor.fetchone()[0] == 0, f"{name} {what} by the interrupted import"
            figures[name] = count
    assert figures["entries"] > ROWS // 6 and figures["lines"] > ROWS * 0.9  # the file's rows were stored
    assert figures["rejections"] == 2
    assert (done.entries_created, done.rows_rejected) == (reference.entries_created, reference.rows_rejected)

    log = "".join(Path(p).read_text() for p in sorted(tmp_path.glob("worker-*.log")))
    # Received, then again. A copy may come a third time (Redis restores a message unacked for longer than
    # the visibility timeout while a live pool process still works on it): it finds the lease held or the
    # import done and returns at once; attempts == 2 above says only one run took over.
    deliveries = len(re.findall(r"import_entry_report\[[^\]]+\] received", log))
    assert deliveries >= 2
    record_figures(
        f"worker_killed_{victim.replace('-', '_')}",
        {
            "rows": ROWS,
            "rows_read_when_killed": rows_at_kill,
            "visibility_timeout_s": VISIBILITY_TIMEOUT if victim != "pool-process" else None,
            "lease_freed_after_s": round(lease_freed_after, 2) if victim != "pool-process" else None,
            "new_worker_started_after_s": round(restarted_after, 1) if victim != "pool-process" else None,
            "kill_to_succeeded_s": round(recovered_after, 1),
            "uninterrupted_import_s": round(reference_seconds, 1),
            "compared": figures,
            "differences": 0,
            "attempts": done.attempts,
            "deliveries": deliveries,
        },
    )
