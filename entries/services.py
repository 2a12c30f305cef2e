"""Writes on reports and entries: keyword-only; each owns its transaction and records an audit event."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta

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
from .registry import current_registry

logger = logging.getLogger(__name__)


def check_upload_size(uploaded) -> None:
    name = uploaded.name or "report"
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"{name} is {uploaded.size / 1_000_000:.0f} MB; the limit is {settings.UPLOAD_MAX_BYTES / 1_000_000:.0f} MB. "
            "Export a shorter date range from ACE, or ask your broker to import it."
        )
    if uploaded.size == 0:
        raise ValidationError(f"{name} is empty. Export the ES-003 report from ACE again.")


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
    check_upload_size(uploaded)
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
    """Queue the import; when the broker is unreachable the report stays queued for the sweeper."""
    from .tasks import import_entry_report

    try:
        import_entry_report.apply_async((report_id,), retry=False)
    except Exception:  # kombu raises several connection error types; none may lose the upload
        logger.warning(
            "Could not queue the import of report %s; the sweeper will retry", report_id, exc_info=True
        )


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
    for report_id in ids:
        _enqueue(report_id)
    return ids


def report_import(*, report: EntryReport, as_of: date | None = None) -> EntryReport:
    """Run the import of an uploaded report, moving its job row from pending to succeeded or failed."""
    client = report.client
    as_of = as_of or timezone.localdate()
    allowed = set(ImporterNumber.objects.filter(client=client).values_list("number", flat=True))
    registry = current_registry()
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
            registry=registry,
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
    _reclassify_marked(report, as_of)
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


def _reclassify_marked(report: EntryReport, as_of: date) -> None:
    """The import classifies from the report's own flags; entries staff marked are re-classified with theirs."""
    from django.db.models import Q

    from .models import Entry
    from .reclassification import entries_reclassify

    marked = list(
        Entry.objects.filter(client=report.client, last_report=report)
        .filter(Q(marked_drawback=True) | Q(marked_protest=True) | Q(marked_reconciliation=True))
        .values_list("pk", flat=True)
    )
    if marked:
        entries_reclassify(client=report.client, as_of=as_of, entry_ids=marked)


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


FLAG_LABELS = {
    "drawback": "drawback claimed",
    "protest": "under an active protest",
    "reconciliation": "flagged for reconciliation",
}


def entry_set_flags(
    *,
    actor: User,
    entry,
    drawback: bool,
    protest: bool,
    reconciliation: bool,
    note: str,
    as_of: date | None = None,
):
    """Staff mark (or clear) an entry's drawback, protest and reconciliation flags; re-classify at once."""
    from .models import EntryHistory
    from .reclassification import entries_reclassify

    if not actor.is_broker_staff:
        raise ValidationError("Only broker staff can change an entry's flags.")
    wanted = {"drawback": drawback, "protest": protest, "reconciliation": reconciliation}
    changes = {k: v for k, v in wanted.items() if getattr(entry, f"marked_{k}") != v}
    if not changes:
        return entry
    if not note.strip():
        raise ValidationError({"note": "Say why (e.g. the protest number or the drawback claim)."})
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        for key, value in changes.items():
            setattr(entry, f"marked_{key}", value)
        entry.flag_note = note.strip()
        entry.save(update_fields=[*(f"marked_{k}" for k in changes), "flag_note", "updated_at"])
        for key, value in changes.items():
            EntryHistory.objects.create(
                client=entry.client,
                entry=entry,
                field=EntryHistory.Field.FLAG,
                from_value=f"{key}: {'yes' if not value else 'no'}",
                to_value=f"{key}: {'yes' if value else 'no'}",
                effective_on=as_of,
                actor=actor,
                note=note.strip(),
            )
        audit.record(
            client=entry.client,
            actor=actor,
            action="entries.flags_changed",
            subject=entry,
            data={"changes": {k: v for k, v in changes.items()}, "note": note.strip()},
        )
        entries_reclassify(
            client=entry.client, as_of=as_of, entry_ids=[entry.pk], actor=actor, note=note.strip()
        )
    entry.refresh_from_db()
    return entry


def entries_recompute_programs(*, client: Client, registry) -> int:
    """After a registry change: each line's program, and the IEEPA / Section 122 totals of the entries it moves."""
    from django.db.models import Case, DecimalField, Sum, Value, When

    from brokerage.bulk import update_from_rows

    from .models import Entry, EntryLine

    changes, affected = [], set()
    lines = (
        EntryLine.objects.filter(client=client)
        .values_list("id", "hts", "program", "entry_id", "entry__entry_date", "entry__entry_summary_date")
        .iterator(chunk_size=10_000)
    )
    for line_id, hts, program, entry_id, entry_date, summary_date in lines:
        rule = registry.rule_of(hts or None, entry_date or summary_date)
        new = rule.program if rule is not None and rule.carries_duty else ""
        if new != program:
            changes.append((line_id, new))
            affected.add(entry_id)
    if not changes:
        return 0
    zero = Value(0, output_field=DecimalField(max_digits=18, decimal_places=2))
    with transaction.atomic():
        where = f"{EntryLine._meta.db_table}.client_id = %s"
        update_from_rows(
            EntryLine._meta.db_table,
            key="id",
            columns=("program",),
            rows=changes,
            where=where,
            params=[client.pk],
        )
        ids = sorted(affected)
        totals = []
        for start in range(0, len(ids), 5000):
            totals += list(
                EntryLine.objects.filter(client=client, entry_id__in=ids[start : start + 5000])
                .values("entry_id")
                .annotate(
                    ieepa=Sum(Case(When(program="ieepa", then="duty"), default=zero)),
                    s122=Sum(Case(When(program="section_122", then="duty"), default=zero)),
                )
                .values_list("entry_id", "ieepa", "s122")
            )
        update_from_rows(
            Entry._meta.db_table,
            key="id",
            columns=("ieepa_duty", "section_122_duty"),
            rows=totals,
            where=f"{Entry._meta.db_table}.client_id = %s",
            params=[client.pk],
        )
    return len(affected)
