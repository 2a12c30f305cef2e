"""Importing an ES-003 report into a client's entries: streamed, staged, merged in one transaction.

Memory stays flat whatever the file size: the parser streams rows, each row goes straight into a
temporary staging table (COPY on PostgreSQL; a large CSV in two halves at once, entries.ingestion.staging), and
adding up entries, entry-level atomicity and the insert/update/unchanged decision are done by the
database. Only the new and changed entries come back to Python, through a temporary file, to be
classified (on PostgreSQL in a thread, while the database inserts their lines).

Nothing is stored until the merge, which runs in one transaction: a failure leaves existing data as it
was. Staging runs outside it so the job row's progress is visible to the page while the file is read.
Figures and the reasons for the shape of this module: docs/PERFORMANCE.md.

This module reads and stages the file; the merge is merge.py, the writing of new and changed entries,
their lines and history is store.py, and an entry's values from its aggregates entry_values.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import connection, transaction

from domain.chapter99 import DEFAULT_REGISTRY, Registry
from domain.es003 import parsing

from ..figures import figures_refresh
from . import staging
from .merge import _merge
from .staging import ERROR_COLUMNS, KEY_COLUMNS, ROW_COLUMNS
from .store import _BATCH

logger = logging.getLogger(__name__)

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
