"""Broker-wide ES-003 reports: split by importer number into each client's own import.

Staff export one ES-003 report for every importer they file for; this routes each row to the client
that holds its importer number, writes that client's rows as a canonical ES-003 CSV, and imports it as
an ordinary EntryReport of the client. Rows whose importer number belongs to no client the uploader
may see are reported, not imported.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
from collections import OrderedDict
from datetime import date
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django_scopes import scope, scopes_disabled

from brokerage.queueing import enqueue_on_commit
from brokerage.spreadsheets import safe_cell
from brokerage.storage import local_path
from brokerage.words import plural
from clients.jobs import job_fail, job_progress, job_start, job_succeed
from clients.models import Client, ImporterNumber, User
from clients.tenancy import visible_clients
from domain.es003 import parsing
from domain.vocabulary import ACE_STATUS_WORDS

from ..models import BrokerReport
from . import upload_checks
from .services import report_import, report_upload

PROGRESS_EVERY_ROWS = 25_000


def _canonical_ior(number: str | None) -> str:
    return (number or "").replace("-", "").upper()


def broker_report_upload(*, actor: User, uploaded) -> BrokerReport:
    from .services import check_upload_size

    check_upload_size(uploaded)
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    refused = upload_checks.refusal(uploaded)  # by content, never by the file's name
    with transaction.atomic():
        report = BrokerReport(
            created_by=actor,
            original_name=(uploaded.name or "report")[:255],
            sha256=digest.hexdigest(),
            size_bytes=uploaded.size,
        )
        if refused:  # listed as failed with the reason; the bytes are not kept
            report.save()
            job_fail(report, message=f"The whole file was rejected; nothing was imported. {refused}")
            return report
        report.file.save(f"{report.sha256[:16]}.upload", File(uploaded), save=False)
        report.save()
        enqueue_on_commit("entries.tasks.route_broker_report", report.pk)
    return report


def broker_report_give_up(report: BrokerReport) -> None:
    """Every routing of the report died before finishing (clients.jobs.job_claim): stop handing it out."""
    job_fail(
        report,
        message=(
            "This report's routing stopped before it finished each time it was started (the worker running "
            "it died), so it was not completed. Upload it again, or in smaller date ranges: the clients' "
            "shares imported before it stopped come in again unchanged."
        ),
    )


def _columns(source) -> list[str]:
    present = set(source.columns)
    return [field for field, *_ in parsing.FIELDS if field in present]


def _cell(field: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, date):
        return value.strftime("%m/%d/%Y")
    if field == "liquidation_status":
        return ACE_STATUS_WORDS.get(value, value)
    return str(value)


def broker_report_route(*, report: BrokerReport, as_of: date | None = None) -> BrokerReport:
    """Split the report by importer number and import each client's share (staff-side; spans clients)."""
    actor = report.created_by
    with (
        scopes_disabled()
    ):  # routing spans clients by design; limited below to the clients the uploader may see
        allowed = visible_clients(actor).values_list("pk", flat=True) if actor else Client.objects.none()
        ior_to_client = {
            _canonical_ior(number): client_id
            # Only numbers staff have verified: a number a client merely typed in claims nothing (issue 14).
            for number, client_id in ImporterNumber.objects.filter(
                client_id__in=list(allowed), verified_at__isnull=False
            ).values_list("number", "client_id")
        }
    job_start(report)
    report.rows_read = report.rows_unmatched = 0  # a redelivered task counts from the start again
    with tempfile.TemporaryDirectory(prefix="broker-report-") as folder:
        # Every output goes to a file in the folder, so memory stays flat however many rows are not routed.
        unmatched_path = Path(folder) / "unmatched.csv"
        shares = _Shares(Path(folder))
        try:
            with (
                local_path(report.file) as path,
                parsing.open_report(path, filename=report.original_name) as source,
                unmatched_path.open("w", newline="") as unmatched,
            ):
                unmatched_writer = csv.writer(unmatched)
                unmatched_writer.writerow(["row", "entry_number", "importer_number", "reason"])
                fields = _columns(source)
                shares.header = [parsing.ACE_HEADER[f] for f in fields]
                for item in source.rows():
                    report.rows_read += 1
                    if isinstance(item, parsing.RowError):
                        unmatched_writer.writerow(
                            [item.row_number, safe_cell(item.entry_number), "", safe_cell(item.reason)]
                        )
                        report.rows_unmatched += 1
                    else:
                        client_id = ior_to_client.get(_canonical_ior(item.importer_number))
                        if client_id is None:
                            unmatched_writer.writerow(
                                [
                                    item.row_number,
                                    safe_cell(item.entry_number),
                                    safe_cell(item.importer_number or ""),
                                    f"importer number {item.importer_number or '(blank)'} is not one of your clients' importer numbers",
                                ]
                            )
                            report.rows_unmatched += 1
                        else:
                            shares.write(client_id, [_cell(f, getattr(item, f)) for f in fields])
                    if report.rows_read % PROGRESS_EVERY_ROWS == 0:
                        job_progress(report, done=report.rows_read, message="Routing rows to clients…")
                if not getattr(source, "complete", True):
                    raise parsing.FileRejected(
                        getattr(source, "problem", "") or "The file could not be read to its end."
                    )
        except parsing.FileRejected as rejected:
            job_fail(report, message=f"The whole file was rejected; nothing was imported. {rejected}")
            return report
        finally:
            shares.close()
        report.routed = [
            _import_share(report, client_id, shares.path(client_id), count, as_of)
            for client_id, count in sorted(shares.counts.items())
        ]
        with unmatched_path.open("rb") as handle:
            report.unmatched_file.save(f"unmatched-{report.public_id}.csv", File(handle), save=False)
    report.save(update_fields=["rows_read", "rows_unmatched", "routed", "unmatched_file"])
    job_succeed(
        report,
        message=f"{plural(report.rows_read - report.rows_unmatched, 'row')} routed to "
        f"{plural(len(report.routed), 'client')}; {plural(report.rows_unmatched, 'row')} not routed.",
    )
    return report


# A broker's clients can outnumber the file descriptors a process may hold (often 1,024).
MAX_OPEN_SHARES = 256


class _Shares:
    """Each client's rows appended to its own CSV in folder, with at most MAX_OPEN_SHARES files open."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.header: list[str] = []
        self.counts: dict[int, int] = {}
        self._open: OrderedDict[int, tuple] = OrderedDict()  # client id -> (handle, writer), oldest first

    def path(self, client_id: int) -> Path:
        return self.folder / f"{client_id}.csv"

    def write(self, client_id: int, row: list[str]) -> None:
        entry = self._open.get(client_id)
        if entry is None:
            if len(self._open) >= MAX_OPEN_SHARES:
                self._open.popitem(last=False)[1][0].close()  # the least recently written share
            new = client_id not in self.counts
            handle = self.path(client_id).open("w" if new else "a", newline="")
            entry = self._open[client_id] = (handle, csv.writer(handle))
            if new:
                entry[1].writerow(self.header)
                self.counts[client_id] = 0
        else:
            self._open.move_to_end(client_id)
        entry[1].writerow(row)
        self.counts[client_id] += 1

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1][0].close()


def _import_share(report: BrokerReport, client_id: int, path: Path, rows: int, as_of: date | None) -> dict:
    client = Client.objects.get(pk=client_id)
    with scope(client=client), path.open("rb") as handle:
        upload = File(handle, name=f"{Path(report.original_name).stem} (routed).csv")
        upload.size = path.stat().st_size
        share, _ = report_upload(
            actor=report.created_by, client=client, uploaded=upload, reprocess=True, enqueue=False
        )
        report_import(report=share, as_of=as_of)
        share.refresh_from_db()
        return {
            "client_id": client.pk,
            "slug": client.slug,
            "name": client.legal_name,
            "rows": rows,
            "report": str(share.public_id),
            "status": share.status,
            "created": share.entries_created,
            "updated": share.entries_updated,
            "unchanged": share.entries_unchanged,
            "rejected": share.rows_rejected,
        }


def broker_report_for_user(*, user: User, public_id) -> BrokerReport:
    """A broker report, for its uploader or a manager; anyone else gets 404."""
    from django.shortcuts import get_object_or_404

    reports = (
        BrokerReport.objects.all() if user.is_staff_manager else BrokerReport.objects.filter(created_by=user)
    )
    return get_object_or_404(reports, public_id=public_id)
