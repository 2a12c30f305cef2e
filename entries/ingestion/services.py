"""Writes on ES-003 reports: upload, the import (its lease, claim and result), the sweeper of queued reports.

Keyword-only; each owns its transaction and records an audit event. The import itself (streamed, staged,
merged) is importer.py; this module is what runs around it: who may upload what, one import of a file at a
time, a redelivered task taking over a dead worker's import, and the job row the page shows.
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import contextmanager
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from brokerage.queueing import enqueue, enqueue_on_commit
from brokerage.storage import local_path
from brokerage.words import plural
from clients import audit
from clients.jobs import job_claim, job_fail, job_progress, job_start, job_succeed
from clients.models import Client, ImporterNumber, User
from domain.es003 import parsing

from ..models import EntryReport
from ..registry import current_registry
from . import upload_checks
from .importer import AllRowsRejected, import_report

logger = logging.getLogger(__name__)

# Queued on upload and again by the sweeper (reports_sweep_queued) when the broker was down.
IMPORT_TASK = "entries.tasks.import_entry_report"


def check_upload_size(uploaded) -> None:
    name = uploaded.name or "report"
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"{name} is {uploaded.size / 1_000_000:.0f} MB; the limit is {settings.UPLOAD_MAX_BYTES / 1_000_000:.0f} MB. "
            "Export a shorter date range from ACE, or ask your broker to import it."
        )
    if uploaded.size == 0:
        raise ValidationError(
            f"{name} was refused: the file is empty. Export the ES-003 report from ACE again."
        )


def _sha256(uploaded) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def previous_import(*, client: Client, sha256: str) -> EntryReport | None:
    """The earlier successful import of the very same file, if any."""
    return (
        EntryReport.objects.filter(client=client, sha256=sha256, status=EntryReport.Status.SUCCEEDED)
        .order_by("-created_at")
        .first()
    )


def _import_in_flight(*, client: Client, sha256: str) -> EntryReport | None:
    """An upload of the very same file still waiting or being imported."""
    waiting = (EntryReport.Status.PENDING, EntryReport.Status.RUNNING)
    return EntryReport.objects.filter(client=client, sha256=sha256, status__in=waiting).first()


# PostgreSQL advisory locks are keyed by two 32-bit numbers: the first says what the second is.
_LOCK_UPLOAD = 0x45520001  # (this, hash of client and SHA-256): one upload of a file at a time
_LOCK_IMPORT = 0x45520002  # (this, report id): the import lease


def _lock_upload(*, client: Client, sha256: str) -> None:
    """Until the transaction ends, the same client's uploads of the same file wait for each other.

    Without it two people uploading one file at the same moment both find no earlier import and both
    queue one. Other databases serialise writers anyway (SQLite) or are not used.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_UPLOAD, f"{client.pk}:{sha256}"]
            )


def report_upload(
    *,
    actor: User | None,
    client: Client,
    uploaded,
    reprocess: bool = False,
    replaces: bool = False,
    enqueue: bool = True,
) -> tuple[EntryReport, bool]:
    """Keep the file and queue its import (enqueue=False: the caller runs report_import itself).

    Returns (report, created); an identical earlier import is returned instead unless reprocess is asked for.
    replaces: the uploader says the report has its entries whole, so an entry it has fewer lines of than
    are stored is replaced rather than kept for review (docs/INGESTION.md); it implies reprocess.
    """
    name = uploaded.name or "report"
    reprocess = reprocess or replaces
    check_upload_size(uploaded)
    sha256 = _sha256(uploaded)
    refused = upload_checks.refusal(uploaded)  # by content, never by the file's name
    if refused:
        return upload_checks.report_refused(
            actor=actor, client=client, name=name, sha256=sha256, size=uploaded.size, reason=refused
        ), True
    with transaction.atomic():
        _lock_upload(client=client, sha256=sha256)
        earlier = previous_import(client=client, sha256=sha256)
        if not reprocess:
            same = earlier or _import_in_flight(client=client, sha256=sha256)
            if same is not None:
                return same, False
        report = EntryReport(
            client=client,
            created_by=actor,
            original_name=name[:255],
            sha256=sha256,
            size_bytes=uploaded.size,
            reprocess_of=earlier,
            replaces_entries=replaces,
        )
        report.file.save(f"{sha256[:16]}-{timezone.now():%Y%m%d%H%M%S}.upload", File(uploaded), save=False)
        report.save()
        audit.record(
            client=client,
            actor=actor,
            action="entries.report_uploaded",
            subject=report,
            data={
                "file": name,
                "sha256": sha256,
                "bytes": uploaded.size,
                "reprocess": bool(earlier),
                "replaces_entries": replaces,
            },
        )
        if enqueue:
            enqueue_on_commit(IMPORT_TASK, report.pk)
    return report, True


SWEEP_AFTER = timedelta(minutes=2)


def reports_sweep_queued(*, now=None) -> list[int]:
    """Queue again the imports still waiting after SWEEP_AFTER (e.g. uploaded while Redis was down).

    Spans clients: it only reads ids and hands each to the task, which enters the report's own scope.
    """
    from django_scopes import scopes_disabled

    now = now or timezone.now()
    with scopes_disabled():
        ids = list(
            EntryReport.objects.filter(
                status=EntryReport.Status.PENDING, created_at__lte=now - SWEEP_AFTER
            ).values_list("pk", flat=True)
        )
        ids += _orphaned_imports()
    for report_id in ids:
        enqueue(IMPORT_TASK, report_id)
    return ids


def _orphaned_imports() -> list[int]:
    """Reports left running by a worker that died: nobody holds their lease (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return []
    running = set(EntryReport.objects.filter(status=EntryReport.Status.RUNNING).values_list("pk", flat=True))
    if not running:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [_LOCK_IMPORT],
        )
        leased = {int(row[0]) for row in cursor.fetchall()}
    return sorted(pk for pk in running if pk % 2**31 not in leased)


LEASE_WAIT_SECONDS = 3


@contextmanager
def report_import_lease(*, report_id: int):
    """Yields True while this worker holds the report's import lease, False if a live worker holds it.

    The lease is a PostgreSQL session advisory lock, so it lives exactly as long as the worker's database
    session: a worker that dies (SIGKILL, OOM, a lost machine) loses it with its connection and another
    may take the import over, and a live worker's import is never taken from it, however long it runs.
    Yields None on other databases (the embedded SQLite default runs tasks in-process, one at a time).
    """
    if connection.vendor != "postgresql":
        yield None
        return
    key = [_LOCK_IMPORT, report_id % 2**31]
    # A dead worker's session can hold the lease a moment longer than the worker lived (its server
    # process is still exiting when a pool's new process gets the message back): wait that moment out.
    give_up = time.monotonic() + LEASE_WAIT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            held = cursor.fetchone()[0]
            if held or time.monotonic() > give_up:
                break
            time.sleep(0.2)
        if held and connection.pg_version >= 140000:
            # A worker killed in the middle of a long statement (the merge): its server process notices
            # within a second, rolls back and frees the lease, instead of running the statement to its end.
            cursor.execute("SET client_connection_check_interval = 1000")
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:  # the connection is gone, and the lock with it
                logger.warning("Could not release the import lease of report %s", report_id, exc_info=True)


def report_claim(*, report_id: int, leased: bool | None, redelivered: bool = False) -> EntryReport | None:
    """The report to import now, marked running; None when it is finished or another worker has it.

    With the lease held (PostgreSQL), a report still marked running was left by a dead worker: it is
    taken over. Without leases, only a redelivered message (its worker died) may take a running one.
    """
    from django_scopes import scopes_disabled

    with scopes_disabled():  # the id alone does not tell the client; the caller enters its scope
        return job_claim(
            EntryReport.objects.select_related("client"),
            pk=report_id,
            redelivered=bool(leased) or redelivered,
            max_attempts=settings.IMPORT_MAX_ATTEMPTS,
            give_up=_give_up,
        )


def _give_up(report: EntryReport) -> None:
    """Every attempt died before finishing (a worker killed for memory, a crash): stop handing it out
    (clients.jobs.job_claim), and say so in its audit trail."""
    from django_scopes import scope

    with scope(client=report.client), transaction.atomic():
        job_fail(
            report,
            message=(
                f"This file could not be imported after {report.attempts} attempts: each time, the import "
                "stopped before it finished, so nothing was imported. A very large or unusual file can do "
                "this. Upload it as CSV or in smaller date ranges; if it happens again, ask your broker."
            ),
        )
        audit.record(
            client=report.client,
            actor=None,
            action="entries.report_failed",
            subject=report,
            data={"reason": "attempts exhausted", "attempts": report.attempts},
        )


def report_import(*, report: EntryReport, as_of: date | None = None) -> EntryReport:
    """Run the import of an uploaded report, moving its job row from pending to succeeded or failed."""
    if report.status == EntryReport.Status.FAILED and not report.file:
        return report  # refused at upload (entries.ingestion.upload_checks): nothing was kept to import
    # Under the lease (taken again if the task holds it: it is re-entrant), so that the sweeper never
    # takes an import started without the task (the import command, routed broker reports) for an orphan.
    with report_import_lease(report_id=report.pk) as leased:
        if leased is False:
            return report  # another live process is importing it
        return _report_import(report=report, as_of=as_of)


def _report_import(*, report: EntryReport, as_of: date | None) -> EntryReport:
    client = report.client
    as_of = as_of or timezone.localdate()
    allowed = set(ImporterNumber.objects.filter(client=client).values_list("number", flat=True))
    registry = current_registry()
    job_start(report)

    def progress(done: int, total: int | None, message: str) -> None:
        report.rows_read = done
        job_progress(report, done=done, total=total, message=message)
        EntryReport.objects.filter(pk=report.pk).update(rows_read=done)

    def stored(result) -> None:
        # In the import's own transaction: a worker that dies after the entries are committed has also
        # committed the figures, the status and the audit line, so a redelivered task finds the report
        # finished instead of importing it again (and counting every entry as unchanged).
        _record_result(report, result, as_of)

    try:
        # From an object store, a local copy for the parser and the second-half process, removed after.
        with local_path(report.file) as path:
            import_report(
                client=client,
                report=report,
                path=path,
                as_of=as_of,
                allowed_importers=allowed,
                registry=registry,
                on_progress=progress,
                on_stored=stored,
            )
    except parsing.FileRejected as rejected:
        if isinstance(rejected, AllRowsRejected):  # its rejected rows are stored: the page lists them
            _save_counts(report, rejected.result)
        job_fail(report, message=f"The whole file was rejected; nothing was imported. {rejected}")
        _audit_result(report, "entries.report_rejected", {"reason": str(rejected)})
        return report
    except Exception:
        job_fail(
            report, message="The import failed unexpectedly; nothing was imported. The error was logged."
        )
        raise
    return report


_RESULT_FIELDS = (
    "file_format",
    "rows_read",
    "rows_rejected",
    "entries_created",
    "entries_updated",
    "entries_unchanged",
    "entries_rejected",
    "entries_kept",
    "kept_entries",
    "has_liquidation_columns",
    "warnings",
)


def _save_counts(report: EntryReport, result) -> None:
    for name in _RESULT_FIELDS:
        setattr(report, name, getattr(result, name))
    report.total_count = result.rows_read
    report.save(update_fields=[*_RESULT_FIELDS, "total_count"])


def _record_result(report: EntryReport, result, as_of: date) -> None:
    _save_counts(report, result)
    _reclassify_marked(report, as_of)  # the import itself refreshed the client's figures (entries.figures)
    job_succeed(report, message=summary(report))
    _audit_result(
        report,
        "entries.report_imported",
        {
            "rows": result.rows_read,
            "created": result.entries_created,
            "updated": result.entries_updated,
            "unchanged": result.entries_unchanged,
            "kept": result.entries_kept,
            "rows_rejected": result.rows_rejected,
        },
    )


def _reclassify_marked(report: EntryReport, as_of: date) -> None:
    """The import classifies from the report's own flags; entries staff marked are re-classified with theirs."""
    from django.db.models import Q

    from ..models import Entry
    from ..reclassification import entries_reclassify

    marked = list(
        Entry.objects.filter(client=report.client, last_report=report)
        .filter(
            Q(marked_drawback=True)
            | Q(marked_protest=True)
            | Q(marked_reconciliation=True)
            | Q(marked_surety_paid=True)
            | Q(marked_reconciliation_filed=True)
            | Q(protest_filed=True)
            | Q(court_deadline__isnull=False)
        )
        .values_list("pk", flat=True)
    )
    if marked:
        entries_reclassify(client=report.client, as_of=as_of, entry_ids=marked)


def _audit_result(report: EntryReport, action: str, data: dict) -> None:
    with transaction.atomic():
        audit.record(client=report.client, actor=None, action=action, subject=report, data=data)


def summary(report: EntryReport) -> str:
    parts = [
        f"{plural(report.entries_created, 'entry', 'entries')} created",
        f"{report.entries_updated:,} updated",
        f"{report.entries_unchanged:,} unchanged",
        f"{plural(report.rows_rejected, 'row')} rejected",
    ]
    text = ", ".join(parts) + f" ({plural(report.rows_read, 'row')} read)."
    if report.entries_kept:
        text += f" {kept_summary(report.entries_kept)}"
    return text


def kept_summary(count: int) -> str:
    return (
        f"{count:,} {'entry' if count == 1 else 'entries'} kept: the report had fewer lines than stored "
        "(listed for review)."
    )
