"""Importing an ES-003 report into a client's entries: streamed, staged, merged in one transaction.

Memory stays flat whatever the file size: the parser streams rows, each row goes straight into a
temporary staging table (COPY on PostgreSQL; a large CSV in two halves at once, entries.ingestion.staging), and
adding up entries, entry-level atomicity and the insert/update/unchanged decision are done by the
database. Only the new and changed entries come back to Python, through a temporary file, to be
classified (on PostgreSQL in a thread, while the database inserts their lines).

Nothing is stored until the merge, which runs in one transaction: a failure leaves existing data as it
was. Staging runs outside it so the job row's progress is visible to the page while the file is read.
Figures and the reasons for the shape of this module: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.copy import Copy, FileWriter, Writer

from brokerage.bulk import write_rows
from domain.chapter99 import DEFAULT_REGISTRY, Registry
from domain.classification import classify_totals
from domain.es003 import parsing

from ..figures import figures_refresh
from ..models import Entry, EntryHistory, EntryLine, EntryReport, RowRejection
from . import staging
from .staging import ERROR_COLUMNS, KEY_COLUMNS, ROW_COLUMNS

logger = logging.getLogger(__name__)

_BATCH = 5_000
# A CSV at least this large is staged in two halves at once on PostgreSQL (entries.ingestion.staging); below it,
# starting the second process costs more than it saves.
SPLIT_MIN_BYTES = 16 * 1024 * 1024
_TEMP_TABLES = ("stage_rows", "stage_keys", "stage_errors", "stage_entries", "stage_split", "stage_bad")
_TEMP_TABLES += ("stage_target", "stage_changed")


@dataclass
class ImportResult:
    rows_read: int = 0
    rows_rejected: int = 0
    entries_created: int = 0
    entries_updated: int = 0
    entries_unchanged: int = 0
    entries_rejected: int = 0
    entries_kept: int = 0  # the report held fewer lines of them than are stored: kept as they were
    kept_entries: list[str] = field(default_factory=list)  # the first EntryReport.KEPT_LISTED of them
    file_format: str = ""
    has_liquidation_columns: bool = True
    warnings: list[str] = field(default_factory=list)
    last_row_error: str = ""  # the reason, when the file's last row was refused

    @property
    def entries_stored(self) -> int:
        return self.entries_created + self.entries_updated + self.entries_unchanged + self.entries_kept


class AllRowsRejected(parsing.FileRejected):
    """Every row of the report was rejected: the report is refused, its rejected rows are kept to read."""

    def __init__(self, message: str, result: ImportResult) -> None:
        super().__init__(message)
        self.result = result


def _canonical_ior(number: str) -> str:
    return number.replace("-", "").upper()


class _Stage:
    """The temporary tables of one import, on the current database connection."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.errors = 0  # rows written to stage_errors: most imports have none, and skip the SQL for them

    def create(self) -> None:
        with connection.cursor() as cursor:
            for name, columns in (
                ("stage_rows", ROW_COLUMNS),
                ("stage_keys", KEY_COLUMNS),
                ("stage_errors", ERROR_COLUMNS),
            ):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
                cols = ", ".join(f"{n} {t}" for n, t in columns)
                cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols})")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for name in _TEMP_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")

    @contextmanager
    def writer(self, table: str, columns: tuple) -> Iterator[Callable[[tuple], None]]:
        """A function taking one row at a time; on PostgreSQL the rows stream through one COPY."""
        names = ", ".join(n for n, _ in columns)
        if self.postgres:
            # Staging tables declare their column types, so their rows go in binary: half the cost of
            # formatting them as text, which for a million rows is about half a second.
            types = staging.copy_types(columns)
            binary = all(types)
            connection.ensure_connection()
            with (
                connection.connection.cursor() as raw,
                raw.copy(f"COPY {table} ({names}) FROM STDIN{' (FORMAT BINARY)' if binary else ''}") as copy,
            ):
                if binary:
                    copy.set_types(types)
                yield copy.write_row
        else:
            rows: list[tuple] = []

            def add(row: tuple) -> None:
                rows.append(row)
                if len(rows) >= _BATCH:
                    self.write(table, columns, rows)
                    rows.clear()

            yield add
            self.write(table, columns, rows)

    def write(self, table: str, columns: tuple, rows: list[tuple]) -> None:
        if not rows:
            return
        if table == "stage_errors":
            self.errors += len(rows)
        if self.postgres:
            with self.writer(table, columns) as write:
                for row in rows:
                    write(row)
        else:
            names = ", ".join(n for n, _ in columns)
            marks = ", ".join("%s" for _ in columns)
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def load(self, table: str, columns: tuple, path: str) -> None:
        """A binary COPY file written by the second-half process (PostgreSQL), streamed as it is."""
        names = ", ".join(n for n, _ in columns)
        connection.ensure_connection()
        with (
            open(path, "rb") as file,
            connection.connection.cursor() as raw,
            raw.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            while block := file.read(1024 * 1024):
                copy.write(block)
        if table == "stage_errors":
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM stage_errors")
                self.errors = cursor.fetchone()[0]

    def empty(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE stage_rows, stage_keys, stage_errors")
        self.errors = 0


def import_report(
    *,
    client,
    report,
    path: str,
    as_of: date,
    allowed_importers: set[str],
    registry: Registry = DEFAULT_REGISTRY,
    on_progress: Callable[[int, int | None, str], None] = lambda done, total, message: None,
    on_stored: Callable[[ImportResult], None] = lambda result: None,
) -> ImportResult:
    """Read the file at path into the client's entries. Raises parsing.FileRejected for a whole-file reject.

    on_stored(result) runs inside the transaction that stores the entries, so that what the caller
    records of the import (the job row's figures and status) commits with them or not at all."""
    result = ImportResult()
    stage = _Stage()
    with parsing.open_report(path, filename=report.original_name) as source:
        result.file_format = source.format
        result.has_liquidation_columns = source.has_liquidation_columns
        result.warnings = list(source.warnings)
        importer_column = "importer_number" in getattr(source, "columns", {"importer_number": 0})
        stage.create()
        try:
            complete, problem = _stage_file(
                path, source, stage, result, allowed_importers, registry, on_progress
            )
            # The reading is over: its final count is shown whatever happens next, so a rejected file
            # reads the same figures whether it was staged in one pass or in two halves (whose progress,
            # polled while the second half runs, would otherwise depend on the machine's speed).
            on_progress(result.rows_read, None, "Reading rows…")
            if not complete:
                # The parser stopped early (an unclosed quote, an unreadable sheet): importing what came
                # before would look complete and silently lose the rest.
                raise parsing.FileRejected(problem or "The file could not be read to its end.")
            if _cut_off(path, result):
                raise parsing.FileRejected(
                    "The file ends in the middle of a row: it looks cut off (an interrupted download or "
                    "copy). Export the report from ACE again and upload the whole file."
                )
            if not result.rows_read:
                raise parsing.FileRejected(
                    "The report has its column headings but no rows: there is nothing to import. Check the "
                    "report's date range and filters in ACE, export it again and upload that file."
                )
            if not importer_column:
                result.warnings.append(
                    "The report has no Importer Number column, so rows could not be checked against this "
                    "client's importer numbers. Add the Importer Number field when you export the report "
                    "from ACE."
                )
            on_progress(result.rows_read, result.rows_read, "Storing entries…")
            with transaction.atomic():
                _merge(
                    client=client, report=report, stage=stage, result=result, as_of=as_of, registry=registry
                )
                if result.entries_stored:
                    # The dashboard's stored sums of this client change with its entries, in the same commit.
                    figures_refresh(client_id=client.pk, ledger=False)
                    on_stored(result)
            if not result.entries_stored:
                # Nothing was stored but the rejected rows, which are kept so the user can read why.
                raise AllRowsRejected(
                    f"Every row of the report was rejected ({result.rows_rejected:,} of "
                    f"{result.rows_read:,}). The reasons are listed below and in the error report: correct "
                    "the export and upload it again.",
                    result,
                )
        finally:
            stage.drop()
    return result


def _cut_off(path, result: ImportResult) -> bool:
    """A short last row with no line break after it is a truncated file, not one bad row."""
    if "was the file cut off" not in result.last_row_error:
        return False
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


def _stage_file(
    path,
    source: parsing.Report,
    stage: _Stage,
    result: ImportResult,
    allowed: set[str],
    registry,
    on_progress,
) -> tuple[bool, str]:
    """Stream every row into the staging tables; whether the file was read to its end, and if not, why.

    A large CSV on PostgreSQL is staged in two halves at once (entries.ingestion.staging); when that cannot be
    trusted to give exactly what one pass gives, the rows are staged again in one pass.
    """
    split = _split_point(path, source, stage)
    if split is not None:
        staged = _stage_halves(path, source, stage, result, allowed, registry, on_progress, *split)
        if staged is not None:
            return staged
    counts = staging.Staged()
    staging.stage_rows(source, stage, counts, allowed, registry, on_progress)
    result.rows_read, result.last_row_error = counts.rows_read, counts.last_row_error
    return source.complete, source.problem


def _split_point(path, source: parsing.Report, stage: _Stage) -> tuple[int, int] | None:
    if not stage.postgres or source.format != "csv" or os.path.getsize(path) < SPLIT_MIN_BYTES:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2:
        return None
    return parsing.split_point(path, encoding=source.encoding, after_row=source.header_row_number)


def _stage_halves(
    path,
    source,
    stage: _Stage,
    result: ImportResult,
    allowed,
    registry,
    on_progress,
    offset: int,
    row_number: int,
) -> tuple[bool, str] | None:
    """This process stages the bytes before offset while a child stages the rest (entries.ingestion.staging).

    The child numbers its rows from row_number, which assumes that no row before the cut spans lines;
    the first half's reading proves it (it must end on row row_number - 1), otherwise, or if the child
    fails, the staged rows are dropped and None returned, for a single pass to do it all again.
    """
    connection.ensure_connection()
    info = connection.connection.info
    second = staging.SecondHalf(
        path=path,
        filename=source.filename,
        offset=offset,
        row_number=row_number,
        allowed=allowed,
        registry=registry,
        conninfo={**info.get_parameters(), "password": info.password},
        cwd=str(settings.BASE_DIR),
    )
    size = os.path.getsize(path)
    try:
        first_counts = staging.Staged()
        with parsing.open_report(path, filename=source.filename, end=offset) as first:

            def progress(done: int, total: int | None, message: str) -> None:
                rows, read = second.progress()
                on_progress(done + rows, _estimate(done + rows, first.bytes_read + read, size), message)

            staging.stage_rows(first, stage, first_counts, allowed, registry, progress)
            exact = (
                first.complete and first.columns == source.columns and first.last_row_number == row_number - 1
            )
            while exact and not second.wait(1.0):
                progress(first_counts.rows_read, None, "Reading rows…")
        outcome = second.outcome() if exact else None
        if outcome is not None:
            for table, columns in (
                ("stage_rows", ROW_COLUMNS),
                ("stage_keys", KEY_COLUMNS),
                ("stage_errors", ERROR_COLUMNS),
            ):
                if table in outcome["files"]:
                    stage.load(table, columns, outcome["files"][table])
    except staging.HalfFailed:
        logger.exception("Staging the second half of %s failed; staging the file in one pass", path)
        outcome = None
    finally:
        second.close()
    if outcome is None:
        stage.empty()
        return None
    result.rows_read = first_counts.rows_read + outcome["rows_read"]
    result.last_row_error = outcome["last_row_error"] if outcome["rows_read"] else first_counts.last_row_error
    return outcome["complete"], outcome["problem"]


def _estimate(rows: int, read: int, size: int) -> int | None:
    return max(rows, int(rows * size / read)) if rows and read else None


def _fetch(cursor, sql: str, params=()) -> Iterator[tuple]:
    cursor.execute(sql, params)
    while batch := cursor.fetchmany(2000):
        yield from batch


def _merge(*, client, report, stage: _Stage, result: ImportResult, as_of: date, registry: Registry) -> None:
    entry_table = Entry._meta.db_table
    with connection.cursor() as cursor:
        if stage.postgres:
            # Temporary tables get no statistics by themselves; without them the planner guesses a few
            # hundred rows, picks sort-based joins that spill to disk and pays for JIT compilation. The
            # merge's hashes and sorts of a million rows fit in 128 MB, set for this transaction only.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("ANALYZE stage_rows (entry_number)")
            cursor.execute("ANALYZE stage_keys (entry_number)")
        # Per-entry sums from its segments (staging.KEY_COLUMNS), and the range of segments it came in.
        # An entry that came in one segment (the usual case) cannot disagree on entry-level fields.
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_entries AS SELECT entry_number, SUM(line_count) AS line_count, "
            "SUM(duty_cents) AS duty_cents, SUM(goods_cents) AS goods_cents, SUM(ieepa_cents) AS ieepa_cents, "
            "SUM(s122_cents) AS s122_cents, SUM(hash_a) AS hash_a, SUM(hash_b) AS hash_b, "
            "MIN(key_id) AS key_id, MAX(key_id) AS last_key_id, MIN(first_row) AS first_row "
            "FROM stage_keys GROUP BY entry_number"
        )
        # Entries whose rows disagree on entry-level fields; only entries that span segments can, and in
        # a report sorted by entry (ACE's own order) none does.
        cursor.execute("SELECT 1 FROM stage_entries WHERE key_id <> last_key_id LIMIT 1")
        spans = cursor.fetchone() is not None
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_split AS SELECT entry_number FROM stage_keys WHERE entry_number IN "
            "(SELECT entry_number FROM stage_entries WHERE key_id <> last_key_id) "
            f"{'' if spans else 'AND 1 = 0 '}GROUP BY entry_number HAVING COUNT(DISTINCT entry_key) > 1"
        )
        # Entries with a bad row, or whose rows disagree on entry-level fields, are rejected whole.
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_bad AS "
            "SELECT DISTINCT entry_number FROM stage_errors WHERE entry_number IN (SELECT entry_number FROM stage_entries) "
            "UNION SELECT entry_number FROM stage_split"
        )
        cursor.execute("SELECT COUNT(*) FROM stage_split")
        if cursor.fetchone()[0]:
            _explain_disagreements(stage)
        if stage.errors:
            cursor.execute(
                "INSERT INTO stage_errors (row_number, entry_number, col, reason) "
                "SELECT r.row_number, r.entry_number, '', 'entry ' || r.entry_number || ' rejected: row ' || "
                "CAST(e.first_row AS varchar(12)) || ' of this entry has an error' "
                "FROM stage_rows r JOIN (SELECT entry_number, MIN(row_number) AS first_row FROM stage_errors "
                "GROUP BY entry_number) e ON e.entry_number = r.entry_number "
                "WHERE r.row_number NOT IN (SELECT row_number FROM stage_errors)"
            )
        cursor.execute("SELECT COUNT(*) FROM stage_bad")
        result.entries_rejected = cursor.fetchone()[0]
        # Each good entry against the client's stored one: new, changed or (same content hashes)
        # unchanged. On PostgreSQL new entries get their ids here, in file order, so that their lines
        # can be inserted with a plain two-table join and the entry_id index grows at its right end.
        # An entry the report holds fewer lines of than are stored is 'fewer' for now (see _keep_fewer).
        new_id = f"nextval(pg_get_serial_sequence('{entry_table}', 'id'))" if stage.postgres else "NULL"
        fewer = "" if report.replaces_entries else "WHEN e.line_count > s.line_count THEN 'fewer' "
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_target AS SELECT s.*, "
            f"CASE WHEN e.id IS NULL THEN {new_id} ELSE e.id END AS entry_id, "
            "CASE WHEN e.id IS NULL THEN 'new' WHEN e.content_hash_a = s.hash_a AND e.content_hash_b = s.hash_b "
            f"THEN 'same' {fewer}ELSE 'changed' END AS state "
            f"FROM stage_entries s LEFT JOIN {entry_table} e ON e.client_id = %s AND e.entry_number = s.entry_number "
            "WHERE s.entry_number NOT IN (SELECT entry_number FROM stage_bad) ORDER BY s.first_row",
            [client.pk],
        )
        counts = dict(_fetch(cursor, "SELECT state, COUNT(*) FROM stage_target GROUP BY state"))
        if counts.get("fewer"):
            counts = _keep_fewer(cursor, client=client, report=report, result=result, as_of=as_of)
        result.entries_created = counts.get("new", 0)
        result.entries_updated = counts.get("changed", 0)
        result.entries_unchanged = counts.get("same", 0)
        if result.entries_created or result.entries_updated:
            _store(
                cursor,
                client=client,
                report=report,
                stage=stage,
                result=result,
                as_of=as_of,
                registry=registry,
            )
        _replace_rejections(cursor, client=client, report=report, stage=stage, result=result)


def _keep_fewer(cursor, *, client, report, result: ImportResult, as_of: date) -> dict[str, int]:
    """Entries the report holds only some of the stored lines of are kept as they are, for review.

    A report cut off mid-entry, or the first rows of a bigger export, would otherwise shrink them
    silently. The rule (docs/INGESTION.md): when every row the report has of an entry is one of its stored
    lines (same line number and tariff ordinal) and there are fewer of them, the stored entry stays as it
    was and its history says why; when the report brings a line that is not stored, it is a new version
    of the entry and replaces it. The uploader's "this report replaces those entries" skips this. Set-based:
    one pass over the few candidate entries' rows and lines, whatever the size of the report.
    """
    lines, entries = EntryLine._meta.db_table, Entry._meta.db_table
    cursor.execute(
        "UPDATE stage_target SET state = 'changed' WHERE state = 'fewer' AND entry_number IN ("
        "SELECT r.entry_number FROM stage_rows r JOIN stage_target t ON t.entry_number = r.entry_number "
        f"AND t.state = 'fewer' WHERE NOT EXISTS (SELECT 1 FROM {lines} l WHERE l.entry_id = t.entry_id "
        "AND l.client_id = %s AND COALESCE(l.line_number, -1) = COALESCE(r.line_number, -1) "
        "AND COALESCE(l.ordinal, -1) = COALESCE(r.ordinal, -1)))",
        [client.pk],
    )
    counts = dict(_fetch(cursor, "SELECT state, COUNT(*) FROM stage_target GROUP BY state"))
    result.entries_kept = counts.get("fewer", 0)
    if not result.entries_kept:
        return counts
    result.kept_entries = [
        row[0]
        for row in _fetch(
            cursor,
            "SELECT entry_number FROM stage_target WHERE state = 'fewer' ORDER BY first_row "
            f"LIMIT {EntryReport.KEPT_LISTED}",
        )
    ]
    note = (
        f"{_report_note(report)} had only some of this entry's lines: the stored lines were kept. If the "
        "entry now has fewer lines, upload the report again with “This report replaces those entries” ticked."
    )
    cursor.execute(
        f"INSERT INTO {EntryHistory._meta.db_table} (client_id, entry_id, field, from_value, to_value, "
        "effective_on, actor_id, note, created_at) "
        f"SELECT %s, e.id, '{EntryHistory.Field.LINES.value}', CAST(e.line_count AS varchar(12)) || ' lines', "
        "'kept: the report had ' || CAST(t.line_count AS varchar(12)), %s, CAST(%s AS bigint), %s, %s "
        f"FROM stage_target t JOIN {entries} e ON e.id = t.entry_id AND e.client_id = %s WHERE t.state = 'fewer'",
        [client.pk, as_of, report.created_by_id, note, timezone.now(), client.pk],
    )
    return counts


def _report_note(report) -> str:
    return f"Report {report.original_name} (uploaded {timezone.localdate(report.created_at):%Y-%m-%d})"


def _replace_rejections(cursor, *, client, report, stage: _Stage, result: ImportResult) -> None:
    # A redelivered task re-runs the whole import; its report's earlier rejections are replaced.
    cursor.execute(f"DELETE FROM {RowRejection._meta.db_table} WHERE report_id = %s", [report.pk])
    if stage.errors:
        cursor.execute(
            f"INSERT INTO {RowRejection._meta.db_table} (client_id, report_id, row_number, entry_number, {_q('column')}, reason) "
            "SELECT %s, %s, row_number, entry_number, col, reason FROM stage_errors",
            [client.pk, report.pk],
        )
        cursor.execute("SELECT COUNT(DISTINCT row_number) FROM stage_errors")
        result.rows_rejected = cursor.fetchone()[0]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


_ENTRY_FIELD_LABELS = {
    "entry_type": "Entry Type Code",
    "importer_number": "Importer Number",
    "port": "Port of Entry Code",
    "entry_date": "Entry Date",
    "entry_summary_date": "Entry Summary Date",
    "liquidation_status": "Liquidation Status",
    "liquidation_date": "Liquidation Date",
    "drawback": "Drawback",
    "protest": "Protest",
    "reconciliation": "Reconciliation Flag",
}


def _explain_disagreements(stage: _Stage) -> None:
    """Rows of one entry that disagree on entry-level fields: say which field, with the values seen.

    The rows come entry by entry from a server-side cursor, so a report where most entries disagree
    does not have to fit in memory.
    """
    labels = _ENTRY_FIELD_LABELS
    errors: list[tuple] = []
    entry_rows: list[tuple] = []
    with connection.chunked_cursor() as stream:
        stream.execute(
            f"SELECT r.row_number, r.entry_number, {', '.join(f'k.{name}' for name in labels)} "
            "FROM stage_rows r JOIN stage_keys k ON k.key_id = r.key_id "
            "WHERE r.entry_number IN (SELECT entry_number FROM stage_split) ORDER BY r.entry_number, r.row_number"
        )
        while batch := stream.fetchmany(_BATCH):
            for row in batch:
                if entry_rows and row[1] != entry_rows[0][1]:
                    errors += _disagreement_errors(entry_rows, labels)
                    entry_rows = []
                entry_rows.append(row)
            if len(errors) >= _BATCH:
                stage.write("stage_errors", ERROR_COLUMNS, errors)
                errors = []
    if entry_rows:
        errors += _disagreement_errors(entry_rows, labels)
    stage.write("stage_errors", ERROR_COLUMNS, errors)


def _disagreement_errors(entry_rows: list[tuple], labels: dict[str, str]) -> list[tuple]:
    first, number = entry_rows[0], entry_rows[0][1]
    for position, label in enumerate(labels.values(), start=2):
        seen = sorted({str(r[position]) if r[position] not in (None, "") else "(blank)" for r in entry_rows})
        if len(seen) < 2:
            continue
        reason = (
            f"rows of entry {number} disagree on {label} ({', '.join(seen)}); row {first[0]} has "
            f"{first[position] or '(blank)'}: the whole entry is rejected until the report is consistent"
        )
        return [(r[0], number, label, reason) for r in entry_rows]
    return []


_ENTRY_COLUMNS = (
    "entry_number",
    "entry_type",
    "importer_number",
    "port",
    "entry_date",
    "entry_summary_date",
    "liquidation_status",
    "liquidation_date",
    "drawback",
    "protest",
    "reconciliation",
    "line_count",
    "total_duty",
    "goods_value",
    "ieepa_duty",
    "section_122_duty",
    "content_hash_a",
    "content_hash_b",
    "refund_path",
    "exclusion_reason",
    "projected_liquidation",
    "cape_window_closes",
    "protest_deadline",
    "next_deadline",
    "next_deadline_kind",
    "explanation",
    "rule_set_version",
    "registry_version",
    "classified_as_of",
)


def _store(cursor, *, client, report, stage: _Stage, result: ImportResult, as_of, registry) -> None:
    """Classify and store the new and changed entries, and replace their lines.

    The entries to write are read once into a temporary file, so memory does not grow with their
    number. On PostgreSQL their ids are already known (stage_target) and lines have no foreign key, so
    the database replaces the lines while a thread classifies the entries and formats them for a binary
    COPY: classification is pure Python and sends nothing to the server, and the thread runs while the
    main one waits on the database with the GIL released.
    """
    options = {"as_of": as_of, "registry": registry, "liquidation_known": result.has_liquidation_columns}
    if stage.postgres:
        _store_postgres(cursor, client=client, report=report, result=result, options=options)
    else:
        with (
            tempfile.TemporaryFile() as aggregates,
            tempfile.TemporaryFile() as new_rows,
            tempfile.TemporaryFile() as changed_rows,
        ):
            # New entries get their ids as they are stored; their lines can only follow.
            _spool_aggregates(aggregates)
            _classify_spool(aggregates, new_rows, changed_rows, **options)
            _store_entries(
                client=client, report=report, stage=stage, new_rows=new_rows, changed_rows=changed_rows
            )
            cursor.execute(
                f"UPDATE stage_target SET entry_id = (SELECT e.id FROM {Entry._meta.db_table} e "
                "WHERE e.client_id = %s AND e.entry_number = stage_target.entry_number) WHERE entry_id IS NULL",
                [client.pk],
            )
            _replace_lines(cursor, client=client, result=result)
    _check_entries_stored(cursor, client=client)


_AGGREGATES_SQL = (
    "SELECT t.entry_number, k.entry_type, k.importer_number, k.port, k.entry_date, k.entry_summary_date, "
    "k.liquidation_status, k.liquidation_date, k.drawback, k.protest, k.reconciliation, t.line_count, "
    "CAST(t.duty_cents AS bigint), CAST(t.goods_cents AS bigint), CAST(t.ieepa_cents AS bigint), "
    "CAST(t.s122_cents AS bigint), CAST(t.hash_a AS bigint), CAST(t.hash_b AS bigint), t.entry_id, t.state "
    "FROM stage_target t JOIN stage_keys k ON k.key_id = t.key_id WHERE t.state IN ('new', 'changed') "
    "ORDER BY t.first_row"
)
_NEW_ENTRY_COLUMNS = ("id", "client", "last_report", "updated_at", *_ENTRY_COLUMNS)


def _store_postgres(cursor, *, client, report, result: ImportResult, options: dict) -> None:
    """The entries' aggregates out as CSV bytes, classified and formatted by a thread, in as binary COPY.

    The main thread only moves bytes (COPY TO a file; the lines' INSERT ... SELECT; COPY FROM the
    thread's files), so the per-entry Python work (reading, classifying, formatting 30-odd values) all
    happens in the thread while the database writes the lines. Before, the entries were pickled three
    times on their way and formatted while the database waited for them.
    """
    now = timezone.now()
    new_columns, changed_columns = _typed(*_NEW_ENTRY_COLUMNS), _typed("id", *_ENTRY_COLUMNS)
    connection.ensure_connection()
    raw = connection.connection
    with (
        tempfile.TemporaryFile() as aggregates,
        tempfile.TemporaryFile() as new_file,
        tempfile.TemporaryFile() as changed_file,
    ):
        # NULL as \N: an empty text (a blank liquidation status is not a missing one) stays "".
        with (
            raw.cursor() as out,
            out.copy(f"COPY ({_AGGREGATES_SQL}) TO STDOUT (FORMAT csv, NULL '\\N')") as copy,
        ):
            for block in copy:
                aggregates.write(block)
        aggregates.seek(0)
        # Two cursors lend the thread psycopg's binary formatters (one per file: each holds its row
        # types); nothing is sent to the server through them.
        new_entries = _GrowingFile(new_file)
        with (
            raw.cursor() as new_formatter,
            raw.cursor() as changed_formatter,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify") as pool,
        ):
            classified = pool.submit(
                _classify_to_copy,
                aggregates,
                (new_formatter, new_entries),
                (changed_formatter, FileWriter(changed_file)),
                types=(new_columns, changed_columns),
                prefix=(client.pk, report.pk, now),
                **options,
            )
            _replace_lines(cursor, client=client, result=result)
            # The new entries go to the database as the thread formats them, a COPY per batch, with
            # their foreign keys checked at the end of each COPY rather than all at the commit: the
            # database checks one batch while the thread classifies the next, instead of checking
            # 200,000 entries' keys after everything else (1.3 s of the commit, measured).
            constraints = _entry_foreign_keys(cursor)
            if constraints:
                cursor.execute(f"SET CONSTRAINTS {constraints} IMMEDIATE")
            for stream in new_entries.streams(classified):
                _store_new_entries(raw, new_columns, stream)
            if constraints:
                cursor.execute(f"SET CONSTRAINTS {constraints} DEFERRED")
            changed = classified.result()
        if changed:
            _update_changed(
                cursor,
                client=client,
                report=report,
                now=now,
                load=lambda: _copy_file(raw, "stage_changed", changed_columns, changed_file),
            )


def _store_new_entries(raw, columns: tuple, blocks: Iterator[bytes]) -> None:
    _copy_blocks(raw, Entry._meta.db_table, columns, blocks)


def _copy_file(raw, table: str, columns: tuple, file) -> None:
    """A binary COPY file written by _classify_to_copy, streamed to the table as it is."""
    file.seek(0)
    _copy_blocks(raw, table, columns, iter(lambda: file.read(1024 * 1024), b""))


def _copy_blocks(raw, table: str, columns: tuple, blocks: Iterator[bytes]) -> None:
    names = ", ".join(n for n, _ in columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        for block in blocks:
            copy.write(block)


def _entry_foreign_keys(cursor) -> str:
    """The entries table's deferrable foreign keys, quoted and comma-separated, for SET CONSTRAINTS."""
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = CAST(%s AS regclass) AND contype = 'f' "
        "AND condeferrable ORDER BY conname",
        [Entry._meta.db_table],
    )
    return ", ".join(_q(name) for (name,) in cursor.fetchall())


# New entries go to the database in COPYs of this many, each checked as it ends (see _store_postgres).
ENTRY_COPY_BATCH = 20_000


class _GrowingFile(Writer):
    """Binary COPY streams written to a file by one thread and read by another as the file grows.

    The writer's thread ends a stream and starts the next every ENTRY_COPY_BATCH rows; the reader
    sends each as its own COPY. The bytes wait on disk, not in memory, however far behind the reader is.
    """

    def __init__(self, file) -> None:
        self.file = file
        self.written = 0
        self.ends: list[int] = []  # where each finished stream ends
        self.changed = threading.Condition()
        self._offset = self._taken = 0

    def write(self, data) -> None:  # in the writer's thread (psycopg's Copy calls it)
        self.file.write(data)
        self.file.flush()
        with self.changed:
            self.written += len(data)
            self.changed.notify()

    def finish(self, exc: BaseException | None = None) -> None:  # a stream's trailer is written
        with self.changed:
            self.ends.append(self.written)
            self.changed.notify()

    def streams(self, writer: Future) -> Iterator[Iterator[bytes]]:
        """Each stream's bytes as they come, until the writer is done; the writer's exception if it failed."""
        while True:
            with self.changed:
                while self.written == self._offset and not writer.done():
                    self.changed.wait(0.5)
                if self.written == self._offset:
                    writer.result()  # raises the thread's exception, if it failed
                    return
            stream = self._stream(writer)
            yield stream
            for _ in stream:  # whatever the caller left unread
                pass

    def _stream(self, writer: Future) -> Iterator[bytes]:
        offset, number, fd = self._offset, self._taken, self.file.fileno()
        while True:
            with self.changed:
                while self.written == offset and len(self.ends) <= number and not writer.done():
                    self.changed.wait(0.5)
                end = self.ends[number] if len(self.ends) > number else self.written
                stopped = writer.done() and len(self.ends) <= number
            while offset < end:
                block = os.pread(fd, min(end - offset, 1024 * 1024), offset)
                offset += len(block)
                yield block
            if len(self.ends) > number and offset == self.ends[number]:
                self._offset, self._taken = offset, number + 1
                return
            if stopped and offset == self.written:
                writer.result()  # raises the thread's exception
                raise RuntimeError("the entries' COPY stream ended before its trailer")


def _classify_to_copy(
    aggregates, new: tuple, changed: tuple, *, types: tuple, prefix: tuple, **options
) -> int:
    """Entry rows in binary COPY format from the aggregates' CSV; no database access (runs in a thread).

    new and changed are (cursor lending its formatter, psycopg Writer). Returns the number of changed
    entries (for stage_changed).
    """
    days: dict[str, date] = {}

    def day(text: str) -> date | None:
        if text == "\\N":
            return None
        value = days.get(text)
        if value is None:
            value = days[text] = date.fromisoformat(text)
        return value

    count = batch = 0
    new_types = staging.copy_types(types[0])
    new_copy = None
    with Copy(changed[0], binary=True, writer=changed[1]) as changed_copy:
        changed_copy.set_types(staging.copy_types(types[1]))
        write_changed = changed_copy.write_row
        text = io.TextIOWrapper(aggregates, encoding="utf-8", newline="")
        for row in csv.reader(text):
            agg = (
                row[0],
                row[1],
                row[2],
                row[3],
                day(row[4]),
                day(row[5]),
                None if row[6] == "\\N" else row[6],
                day(row[7]),
                row[8] == "t",
                row[9] == "t",
                row[10] == "t",
                *map(int, row[11:18]),
            )
            values = _entry_values(agg, **options)
            for i in _MONEY_AT:
                values[i] = Decimal(values[i]).scaleb(-2)
            if row[19] == "new":
                if new_copy is None:  # a stream of its own for each batch (ENTRY_COPY_BATCH)
                    new_copy = Copy(new[0], binary=True, writer=new[1])
                    new_copy.set_types(new_types)
                new_copy.write_row((int(row[18]), *prefix, *values))
                batch += 1
                if batch == ENTRY_COPY_BATCH:
                    new_copy.finish(None)  # its trailer; the reader sends it as one COPY
                    new_copy, batch = None, 0
            else:
                write_changed((int(row[18]), *values))
                count += 1
        if new_copy is not None:
            new_copy.finish(None)
        text.detach()
    return count


def _check_entries_stored(cursor, *, client) -> None:
    """Every entry this run wrote lines for is stored, as this client's; otherwise nothing is imported.

    Lines have no foreign key in the database (a row-by-row check costs a fifth of a large import):
    this one set-based query, over the entries rather than the lines, gives the same guarantee for
    everything the import wrote, since every line it inserted took its entry id from stage_target.
    """
    cursor.execute(
        f"SELECT COUNT(*) FROM stage_target t LEFT JOIN {Entry._meta.db_table} e "
        "ON e.id = t.entry_id AND e.client_id = %s WHERE t.state IN ('new', 'changed') AND e.id IS NULL",
        [client.pk],
    )
    missing = cursor.fetchone()[0]
    if missing:
        raise RuntimeError(f"{missing} entries this import wrote lines for are not stored as the client's")


def _replace_lines(cursor, *, client, result: ImportResult) -> None:
    """Lines of the entries written by this run (new and changed) come straight from the staging table."""
    table = EntryLine._meta.db_table
    if result.entries_updated:
        cursor.execute(
            f"DELETE FROM {table} WHERE client_id = %s AND entry_id IN "
            "(SELECT entry_id FROM stage_target WHERE state = 'changed')",
            [client.pk],
        )
    cursor.execute(
        f"INSERT INTO {table} (client_id, entry_id, row_number, line_number, ordinal, hts, goods_value, "
        "duty, country_of_origin, program) "
        "SELECT %s, t.entry_id, r.row_number, r.line_number, r.ordinal, r.hts, "
        "r.goods_cents * 0.01, r.duty_cents * 0.01, r.country, r.program "
        "FROM stage_rows r JOIN stage_target t ON t.entry_number = r.entry_number AND t.state IN ('new', 'changed')",
        [client.pk],
    )


def _dump(file, rows: list) -> None:
    if rows:
        pickle.dump(rows, file, pickle.HIGHEST_PROTOCOL)


def _load(file) -> Iterator[list]:
    """The batches _dump wrote to this (private, temporary) file."""
    file.seek(0)
    while True:
        try:
            yield pickle.load(file)
        except EOFError:
            return


def _spool_aggregates(file) -> None:
    # A server-side cursor on PostgreSQL: the entries arrive a batch at a time. Sums are cast to bigint
    # so that they arrive as ints, not Decimals.
    with connection.chunked_cursor() as stream:
        stream.execute(_AGGREGATES_SQL)
        while batch := stream.fetchmany(_BATCH):
            _dump(
                file, [(*a[:4], _ordinal(a[4]), _ordinal(a[5]), a[6], _ordinal(a[7]), *a[8:]) for a in batch]
            )


def _classify_spool(aggregates, new_rows, changed_rows, **options) -> None:
    """Entry rows ready to store, from the spooled aggregates; no database access (runs in a thread)."""
    for batch in _load(aggregates):
        new, changed = [], []
        for agg in batch:
            fields = list(agg[:18])
            for i in (4, 5, 7):
                fields[i] = None if fields[i] is None else date.fromordinal(fields[i])
            values = _entry_values(fields, **options)
            for i in _DATE_AT:
                values[i] = _ordinal(values[i])
            (new if agg[19] == "new" else changed).append((agg[18], values))
        _dump(new_rows, new)
        _dump(changed_rows, changed)


def _store_entries(*, client, report, stage: _Stage, new_rows, changed_rows) -> None:
    """New entries in one COPY (the database stores each while Python reads the next); changed ones updated."""
    table = Entry._meta.db_table
    now = timezone.now()
    prefix = (client.pk, report.pk, now)
    with stage.writer(table, _typed("id", "client", "last_report", "updated_at", *_ENTRY_COLUMNS)) as write:
        for batch in _load(new_rows):
            for entry_id, values in batch:
                write((entry_id, *prefix, *_stored(values)))
    changed_columns = _typed("id", *_ENTRY_COLUMNS)

    def load() -> None:
        for batch in _load(changed_rows):
            stage.write(
                "stage_changed", changed_columns, [(entry_id, *_stored(values)) for entry_id, values in batch]
            )

    with connection.cursor() as cursor:
        _update_changed(cursor, client=client, report=report, now=now, load=load)


def _update_changed(cursor, *, client, report, now, load: Callable[[], None]) -> None:
    """The changed entries, loaded into stage_changed by load(), recorded in history and updated in place."""
    table = Entry._meta.db_table
    cursor.execute(
        f"CREATE TEMPORARY TABLE stage_changed AS SELECT id, {', '.join(_ENTRY_COLUMNS)} FROM {table} WHERE 1 = 0"
    )
    load()
    cursor.execute("SELECT COUNT(*) FROM stage_changed")
    if cursor.fetchone()[0]:
        _record_history(cursor, client=client, report=report, now=now)
        assignments = ", ".join(f"{c} = s.{c}" for c in _ENTRY_COLUMNS if c != "entry_number")
        cursor.execute(
            f"UPDATE {table} SET {assignments}, last_report_id = %s, updated_at = %s FROM stage_changed s "
            f"WHERE {table}.client_id = %s AND {table}.id = s.id",
            [report.pk, now, client.pk],
        )


def _record_history(cursor, *, client, report, now) -> None:
    """A newer report that moves an entry's refund path or next deadline leaves a line in its history.

    Runs before the changed entries are updated, so the stored values are the "from" side. The daily
    re-classification records the changes that time makes; these are the ones a report makes.
    """
    history, entries = EntryHistory._meta.db_table, Entry._meta.db_table
    note = _report_note(report)
    common = [client.pk, report.created_by_id, note[:500], now]
    selects = []
    for kind, value in (
        (EntryHistory.Field.PATH, "{}.refund_path"),
        (EntryHistory.Field.DEADLINE, "COALESCE(CAST({}.next_deadline AS varchar(10)), '')"),
    ):
        old, new = value.format("e"), value.format("s")
        selects.append(
            f"SELECT %s, e.id, '{kind.value}', {old}, {new}, s.classified_as_of, CAST(%s AS bigint), %s, %s "
            f"FROM stage_changed s JOIN {entries} e ON e.id = s.id AND e.client_id = %s WHERE {old} <> {new}"
        )
    cursor.execute(
        f"INSERT INTO {history} (client_id, entry_id, field, from_value, to_value, effective_on, actor_id, "
        f"note, created_at) {' UNION ALL '.join(selects)}",
        [*common, client.pk] * len(selects),
    )
    # What the report changed in the entry's lines and duty (an entry went from 7 lines to 2 without a
    # word, once): formatted here, a batch at a time, for the entries whose counts or sums moved.
    columns = ("client_id", "entry_id", "field", "from_value", "to_value", "effective_on", "actor_id")
    with connection.chunked_cursor() as stream:
        stream.execute(
            "SELECT e.id, e.line_count, e.ieepa_duty, e.section_122_duty, s.line_count, s.ieepa_duty, "
            f"s.section_122_duty, s.classified_as_of FROM stage_changed s JOIN {entries} e ON e.id = s.id "
            "AND e.client_id = %s WHERE e.line_count <> s.line_count OR e.ieepa_duty <> s.ieepa_duty "
            "OR e.section_122_duty <> s.section_122_duty",
            [client.pk],
        )
        while batch := stream.fetchmany(_BATCH):
            write_rows(
                history,
                (*columns, "note", "created_at"),
                [
                    (
                        client.pk,
                        r[0],
                        EntryHistory.Field.LINES.value,
                        _lines_text(*r[1:4]),
                        _lines_text(*r[4:7]),
                        _as_date(r[7]),
                        report.created_by_id,
                        note,
                        now,
                    )
                    for r in batch
                ],
            )


def _lines_text(lines, ieepa, s122) -> str:
    """An entry's lines and duty as its history shows them: "7 lines, IEEPA $147,433.93"."""
    text = f"{int(lines):,} line{'' if int(lines) == 1 else 's'}, IEEPA ${Decimal(str(ieepa)):,.2f}"
    if s122 and Decimal(str(s122)):
        text += f", s.122 ${Decimal(str(s122)):,.2f}"
    return text[:60]


def _typed(*names: str) -> tuple[tuple[str, str], ...]:
    """Entry columns with their database types, so that their rows go through a binary COPY.

    Formatting 200,000 entries of 33 values as text took Python about as long as the database took
    to store them.
    """
    fields = [Entry._meta.get_field(name) for name in names]
    return tuple((f.column, f.db_type(connection) or "") for f in fields)


def _entry_values(agg: tuple, *, as_of: date, registry: Registry, liquidation_known: bool) -> list:
    """The Entry columns of one aggregated entry, classified; amounts in cents."""
    (
        number,
        entry_type,
        importer,
        port,
        entry_date,
        summary_date,
        status,
        liq_date,
        drawback,
        protest,
        recon,
        line_count,
        duty_cents,
        goods_cents,
        ieepa_cents,
        s122_cents,
        hash_a,
        hash_b,
    ) = agg
    c = classify_totals(
        entry_number=number,
        entry_type=entry_type or None,
        entry_date=entry_date,
        entry_summary_date=summary_date,
        liquidation_status=status if liquidation_known else None,
        liquidation_date=liq_date,
        drawback=bool(drawback),
        protest=bool(protest),
        reconciliation=bool(recon),
        ieepa_duty=Decimal(int(ieepa_cents)).scaleb(-2),
        section_122_duty=Decimal(int(s122_cents)).scaleb(-2),
        as_of=as_of,
        registry=registry,
    )
    values = [
        number,
        entry_type or "",
        importer or "",
        port or "",
        entry_date,
        summary_date,
        status if liquidation_known else None,
        liq_date,
        bool(drawback),
        bool(protest),
        bool(recon),
        int(line_count),
        int(duty_cents),
        int(goods_cents),
        int(ieepa_cents),
        int(s122_cents),
        int(hash_a),
        int(hash_b),
        str(c.refund_path),
        str(c.exclusion_reason or c.reason or ""),
        c.projected_liquidation,
        c.cape_window_closes,
        c.protest_deadline,
        c.next_deadline,
        str(c.next_deadline_kind or ""),
        c.explanation,
        c.rule_set_version,
        c.registry_version,
        as_of,
    ]
    return values


# Spooled entry rows carry their dates as day ordinals and their amounts in cents: plain ints pickle
# about twenty times faster than date and Decimal objects, and a million-row report has 200,000
# entries to spool. The positions come from the model, so a new date or money column is covered.
_DATE_AT = tuple(
    i for i, c in enumerate(_ENTRY_COLUMNS) if Entry._meta.get_field(c).get_internal_type() == "DateField"
)
_MONEY_AT = tuple(
    i for i, c in enumerate(_ENTRY_COLUMNS) if Entry._meta.get_field(c).get_internal_type() == "DecimalField"
)


def _ordinal(value) -> int | None:
    day = _as_date(value)
    return None if day is None else day.toordinal()


def _stored(values: list) -> list:
    """A spooled entry row as the database takes it: dates and Decimal amounts again."""
    for i in _DATE_AT:
        if values[i] is not None:
            values[i] = date.fromordinal(values[i])
    for i in _MONEY_AT:
        values[i] = Decimal(values[i]).scaleb(-2)
    return values


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
