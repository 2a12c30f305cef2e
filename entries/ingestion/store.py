"""Writing the import's new and changed entries, their lines and their history, inside the import's transaction.

Only new and changed entries come back to Python (through a temporary file) to be classified against the
registry: on PostgreSQL a thread classifies and formats them for a binary COPY while the database inserts
their lines; elsewhere in batches. Called by merge._merge.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone
from psycopg.copy import Copy, FileWriter, Writer

from brokerage.bulk import write_rows

from ..models import Entry, EntryHistory, EntryLine
from . import staging
from .entry_values import (
    _DATE_AT,
    _ENTRY_COLUMNS,
    _MONEY_AT,
    _as_date,
    _entry_values,
    _lines_text,
    _ordinal,
    _stored,
    _typed,
)

if TYPE_CHECKING:  # annotations only: these modules import this one
    from .importer import ImportResult, _Stage


_BATCH = 5_000


def _report_note(report) -> str:
    return f"Report {report.original_name} (uploaded {timezone.localdate(report.created_at):%Y-%m-%d})"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _store(
    cursor, *, client, report, stage: _Stage, result: ImportResult, as_of, registry, by_segment: bool = False
) -> None:
    """Classify and store the new and changed entries, and replace their lines.

    The entries to write are read once into a temporary file, so memory does not grow with their
    number. On PostgreSQL their ids are already known (stage_target) and lines have no foreign key, so
    the database replaces the lines while a thread classifies the entries and formats them for a binary
    COPY: classification is pure Python and sends nothing to the server, and the thread runs while the
    main one waits on the database with the GIL released. by_segment: every entry came in one segment
    (merge._merge), so its lines find it by their segment's key_id.
    """
    options = {"as_of": as_of, "registry": registry, "liquidation_known": result.has_liquidation_columns}
    if stage.postgres:
        _store_postgres(
            cursor, client=client, report=report, result=result, options=options, by_segment=by_segment
        )
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
            _replace_lines(cursor, client=client, result=result, by_segment=by_segment)
    _check_entries_stored(cursor, client=client)


# The entry-level fields and sums travel in stage_target (merge._merge). It is written in file order (the
# new entries' ids follow it), and read in that order without a sort: the order only keeps the entries'
# COPY appending to the primary key's right end.
_AGGREGATES_SQL = (
    "SELECT entry_number, entry_type, importer_number, port, entry_date, entry_summary_date, "
    "liquidation_status, liquidation_date, drawback, protest, reconciliation, line_count, "
    "CAST(duty_cents AS bigint), CAST(goods_cents AS bigint), CAST(ieepa_cents AS bigint), "
    "CAST(s122_cents AS bigint), CAST(hash_a AS bigint), CAST(hash_b AS bigint), entry_id, state "
    "FROM stage_target WHERE state IN ('new', 'changed')"
)


_NEW_ENTRY_COLUMNS = ("id", "client", "last_report", "updated_at", *_ENTRY_COLUMNS)


def _store_postgres(cursor, *, client, report, result: ImportResult, options: dict, by_segment: bool) -> None:
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
            _replace_lines(cursor, client=client, result=result, by_segment=by_segment)
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
    # Joined on the id alone, the client compared after: with the client in the join condition, a new
    # client's statistics (no entries) made the planner scan all of them for every entry, a nested loop
    # of 200,000 x 200,000 (measured: 573 s). On the id, the worst plan is a lookup of the primary key.
    cursor.execute(
        f"SELECT COUNT(*) FROM stage_target t LEFT JOIN {Entry._meta.db_table} e ON e.id = t.entry_id "
        "WHERE t.state IN ('new', 'changed') AND (e.id IS NULL OR e.client_id <> %s)",
        [client.pk],
    )
    missing = cursor.fetchone()[0]
    if missing:
        raise RuntimeError(f"{missing} entries this import wrote lines for are not stored as the client's")


def _replace_lines(cursor, *, client, result: ImportResult, by_segment: bool = False) -> None:
    """Lines of the entries written by this run (new and changed) come straight from the staging table.

    When every entry came in one segment, a row finds its entry by the segment's key_id: an integer
    hash join instead of one on the entry number's text.
    """
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
        f"FROM stage_rows r JOIN stage_target t ON {'t.key_id = r.key_id' if by_segment else 't.entry_number = r.entry_number'} "
        "AND t.state IN ('new', 'changed')",
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
