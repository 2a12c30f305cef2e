"""Writes on reports and entries: keyword-only; each owns its transaction and records an audit event."""

from __future__ import annotations

import hashlib
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from clients import audit
from clients.jobs import job_fail, job_progress, job_start, job_succeed
from clients.models import Client, ImporterNumber, User

from . import parsing
from .ingestion import import_report
from .models import EntryReport

ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".txt")


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


def report_upload(
    *, actor: User | None, client: Client, uploaded, reprocess: bool = False, enqueue: bool = True
) -> tuple[EntryReport, bool]:
    """Keep the file and queue its import (enqueue=False: the caller runs report_import itself).

    Returns (report, created); an identical earlier import is returned instead unless reprocess is asked for.
    """
    name = uploaded.name or "report"
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"{name} is {uploaded.size / 1_000_000:.0f} MB; the limit is {settings.UPLOAD_MAX_BYTES / 1_000_000:.0f} MB. "
            "Export a shorter date range from ACE, or ask your broker to import it."
        )
    if uploaded.size == 0:
        raise ValidationError(f"{name} is empty. Export the ES-003 report from ACE again.")
    sha256 = _sha256(uploaded)
    earlier = previous_import(client=client, sha256=sha256)
    if earlier is not None and not reprocess:
        return earlier, False
    with transaction.atomic():
        report = EntryReport(
            client=client,
            created_by=actor,
            original_name=name[:255],
            sha256=sha256,
            size_bytes=uploaded.size,
            reprocess_of=earlier,
        )
        report.file.save(f"{sha256[:16]}-{timezone.now():%Y%m%d%H%M%S}.upload", File(uploaded), save=False)
        report.save()
        audit.record(
            client=client,
            actor=actor,
            action="entries.report_uploaded",
            subject=report,
            data={"file": name, "sha256": sha256, "bytes": uploaded.size, "reprocess": bool(earlier)},
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(report.pk))
    return report, True


def _enqueue(report_id: int) -> None:
    from .tasks import import_entry_report

    import_entry_report.delay(report_id)


def report_import(*, report: EntryReport, as_of: date | None = None) -> EntryReport:
    """Run the import of an uploaded report, moving its job row from pending to succeeded or failed."""
    client = report.client
    as_of = as_of or timezone.localdate()
    allowed = set(ImporterNumber.objects.filter(client=client).values_list("number", flat=True))
    job_start(report)

    def progress(done: int, total: int | None, message: str) -> None:
        report.rows_read = done
        job_progress(report, done=done, total=total, message=message)
        EntryReport.objects.filter(pk=report.pk).update(rows_read=done)

    try:
        result = import_report(
            client=client,
            report=report,
            path=report.file.path,
            as_of=as_of,
            allowed_importers=allowed,
            on_progress=progress,
        )
    except parsing.FileRejected as rejected:
        job_fail(report, message=f"The whole file was rejected; nothing was imported. {rejected}")
        _audit_result(report, "entries.report_rejected", {"reason": str(rejected)})
        return report
    except Exception:
        job_fail(
            report, message="The import failed unexpectedly; nothing was imported. The error was logged."
        )
        raise
    report.file_format = result.file_format
    report.rows_read = result.rows_read
    report.rows_rejected = result.rows_rejected
    report.entries_created = result.entries_created
    report.entries_updated = result.entries_updated
    report.entries_unchanged = result.entries_unchanged
    report.entries_rejected = result.entries_rejected
    report.has_liquidation_columns = result.has_liquidation_columns
    report.warnings = result.warnings
    report.total_count = result.rows_read
    report.save(
        update_fields=[
            "file_format",
            "rows_read",
            "rows_rejected",
            "entries_created",
            "entries_updated",
            "entries_unchanged",
            "entries_rejected",
            "has_liquidation_columns",
            "warnings",
            "total_count",
        ]
    )
    job_succeed(report, message=summary(report))
    _audit_result(
        report,
        "entries.report_imported",
        {
            "rows": result.rows_read,
            "created": result.entries_created,
            "updated": result.entries_updated,
            "unchanged": result.entries_unchanged,
            "rows_rejected": result.rows_rejected,
        },
    )
    return report


def _audit_result(report: EntryReport, action: str, data: dict) -> None:
    with transaction.atomic():
        audit.record(client=report.client, actor=None, action=action, subject=report, data=data)


def summary(report: EntryReport) -> str:
    parts = [
        f"{report.entries_created:,} entries created",
        f"{report.entries_updated:,} updated",
        f"{report.entries_unchanged:,} unchanged",
        f"{report.rows_rejected:,} rows rejected",
    ]
    return ", ".join(parts) + f" ({report.rows_read:,} rows read)."
