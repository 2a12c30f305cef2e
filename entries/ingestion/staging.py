"""Staging an ES-003 report's rows for the import: the loop that runs once per row, and its parallel half.

The import (entries.ingestion.importer) streams every row of a report into staging tables, then merges them in
one transaction. This module is the per-row part, kept free of Django so that it can also run in a
separate process: on PostgreSQL a large CSV is cut in two (parsing.split_point), this process stages
the first half while a child (`python -m entries.ingestion.staging`) reads the second half into binary COPY
files, which the import then loads. Python is the bottleneck of staging, and a machine with two cores
has one idle while the database waits for rows. Figures: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Protocol

from domain.chapter99 import Registry
from domain.es003 import parsing

PROGRESS_EVERY_ROWS = 25_000
# The second half's entry runs are numbered from here, so that they never meet the first half's.
SECOND_HALF_KEY_BASE = 1_000_000_000

# One staged row per tariff row, for the entry's lines. Money is staged as integer cents so sums are
# exact on every backend. The entry-level fields are the same on every row of an entry, so they are
# staged once per segment (stage_keys): a run of consecutive rows of one entry that agree on them, with
# the segment's sums (lines, duty, goods, IEEPA and Section 122 duty, content hashes). The merge adds up
# an entry's segments, usually one, instead of grouping a million rows; each row points at its segment.
ROW_COLUMNS = (
    ("row_number", "integer"),
    ("entry_number", "varchar(11)"),
    ("key_id", "integer"),
    ("line_number", "integer"),
    ("ordinal", "integer"),
    ("hts", "varchar(10)"),
    ("goods_cents", "bigint"),
    ("duty_cents", "bigint"),
    ("country", "varchar(2)"),
    ("program", "varchar(20)"),
)
KEY_COLUMNS = (
    ("key_id", "integer"),
    ("entry_number", "varchar(11)"),
    ("entry_key", "text"),
    ("entry_type", "varchar(2)"),
    ("importer_number", "varchar(20)"),
    ("port", "varchar(4)"),
    ("entry_date", "date"),
    ("entry_summary_date", "date"),
    ("liquidation_status", "varchar(20)"),
    ("liquidation_date", "date"),
    ("drawback", "boolean"),
    ("protest", "boolean"),
    ("reconciliation", "boolean"),
    ("first_row", "integer"),
    ("line_count", "integer"),
    ("duty_cents", "bigint"),
    ("goods_cents", "bigint"),
    ("ieepa_cents", "bigint"),
    ("s122_cents", "bigint"),
    ("hash_a", "bigint"),
    ("hash_b", "bigint"),
)
ERROR_COLUMNS = (
    ("row_number", "integer"),
    ("entry_number", "varchar(64)"),
    ("col", "varchar(100)"),
    ("reason", "text"),
)


@dataclass
class Staged:
    """What staging counted: rows read, and the reason the last row was refused ("" if it was not)."""

    rows_read: int = 0
    last_row_error: str = ""


class Sink(Protocol):
    """Where staged rows go: the import's staging tables, or the child's COPY files."""

    def writer(self, table: str, columns: tuple) -> AbstractContextManager[Callable[[tuple], None]]: ...

    def write(self, table: str, columns: tuple, rows: list[tuple]) -> None: ...


def copy_types(columns: tuple) -> list[str]:
    """The PostgreSQL type names of staging columns, as a binary COPY needs them."""
    return [t.split("(")[0] for _, t in columns]


def canonical_ior(number: str) -> str:
    return number.replace("-", "").upper()


def estimate_total(source, rows_read: int) -> int | None:
    done, total = getattr(source, "bytes_read", 0), getattr(source, "total_bytes", 0)
    if done and total and rows_read:
        return max(rows_read, int(rows_read * total / done))
    return None


def stage_rows(
    source: parsing.Report,
    stage: Sink,
    result: Staged,
    allowed: set[str],
    registry: Registry,
    on_progress: Callable[[int, int | None, str], None],
    key_base: int = 0,
) -> None:
    """Stream the rows into the staging tables, PROGRESS_EVERY_ROWS rows per COPY.

    This loop runs once per row of the file, so per-row work is kept to a minimum: the entry key and
    the hash state of its text are computed once per segment, the Chapter 99 program once per (HTS
    number, date), and the importer check once per importer number text.
    """
    items = iter(source.rows())
    allowed_canonical = {canonical_ior(n) for n in allowed}
    check_importer = bool(allowed_canonical)
    importer_ok: dict[str | None, bool] = {}
    # The program of an HTS number: by number alone for numbers no Chapter 99 rule covers (most of
    # them), else by (number, date).
    programs: dict = {}
    line_type, crc32, adler32 = parsing.Line, zlib.crc32, zlib.adler32
    key_id, facts, number = key_base, None, None
    crc_start = adler_start = 0
    # The open segment: its key row, then its sums (first row, lines, duty, goods, IEEPA, s.122, hashes).
    head: tuple = ()
    first_row = count = duty_sum = goods_sum = ieepa_sum = s122_sum = hash_a = hash_b = 0
    keys: list[tuple] = []
    while True:
        chunk = PROGRESS_EVERY_ROWS - result.rows_read % PROGRESS_EVERY_ROWS
        read = 0
        errors: list[tuple] = []
        with stage.writer("stage_rows", ROW_COLUMNS) as write:
            for item in islice(items, chunk):
                read += 1
                if type(item) is not line_type:
                    errors.append((item.row_number, item.entry_number[:64], item.column[:100], item.reason))
                    continue
                # The entry-level fields, in KEY_COLUMNS' order (Line's entry type to summary date,
                # then liquidation status to reconciliation flag), sliced in C.
                row_facts = item[4:9] + item[13:]
                if row_facts != facts or item.entry_number != number:
                    # A new segment (in practice: a new entry). Its rows share the importer number,
                    # so it is checked here, once per segment.
                    if check_importer:
                        importer = item.importer_number
                        ok = importer_ok.get(importer)
                        if ok is None:
                            ok = canonical_ior(importer or "") in allowed_canonical
                            if len(importer_ok) < 10_000:
                                importer_ok[importer] = ok
                        if not ok:
                            errors.append(_importer_error(item, allowed))
                            continue
                    # The hashes are of the row's text, entry key first, so the hash state after the
                    # key is computed once per segment.
                    if head:
                        keys.append(
                            (
                                *head,
                                first_row,
                                count,
                                duty_sum,
                                goods_sum,
                                ieepa_sum,
                                s122_sum,
                                hash_a,
                                hash_b,
                            )
                        )
                    facts, number = row_facts, item.entry_number
                    on = item.entry_date or item.entry_summary_date  # the Chapter 99 rules' date
                    key_id += 1
                    entry_key = "|".join(str(value) for value in row_facts)
                    prefix = f"{entry_key}|".encode()
                    crc_start, adler_start = crc32(prefix), adler32(prefix)
                    head = (
                        key_id,
                        number,
                        entry_key,
                        *(value or "" for value in row_facts[:3]),
                        *row_facts[3:7],
                        *(bool(value) for value in row_facts[7:]),
                    )
                    first_row = item.row_number
                    count = duty_sum = goods_sum = ieepa_sum = s122_sum = hash_a = hash_b = 0
                hts, goods, duty, country = item.hts, item.goods_value, item.duty, item.country_of_origin
                # Most HTS numbers are no Chapter 99 number at all: their program ("") needs no date.
                program = programs.get(hts)
                if program is None:
                    program = programs.get((hts, on))
                    if program is None:
                        rule = registry.rule_of(hts, on)
                        program = rule.program if rule is not None and rule.carries_duty else ""
                        if len(programs) < 100_000:
                            programs[(hts, on) if registry.covers(hts) else hts] = program
                # Exact: the parser refuses fractions of a cent. The hash takes the cents too, so a
                # report that writes 12.5 where the last one wrote 12.50 brings no change.
                duty = int(duty * 100)
                if goods is not None:
                    goods = int(goods * 100)
                    goods_sum += goods
                count += 1
                duty_sum += duty
                if program == "ieepa":
                    ieepa_sum += duty
                elif program == "section_122":
                    s122_sum += duty
                tail = f"{item.line_number}|{item.ordinal}|{hts}|{goods}|{duty}|{country}".encode()
                hash_a += crc32(tail, crc_start)
                hash_b += adler32(tail, adler_start)
                write(
                    (
                        item.row_number,
                        number,
                        key_id,
                        item.line_number,
                        item.ordinal,
                        hts or "",
                        goods,
                        duty,
                        country or "",
                        program,
                    )
                )
        result.rows_read += read
        if read:
            result.last_row_error = "" if type(item) is line_type else item.reason
        if read < chunk:  # the end: the open segment is complete too
            if head:
                keys.append(
                    (*head, first_row, count, duty_sum, goods_sum, ieepa_sum, s122_sum, hash_a, hash_b)
                )
            stage.write("stage_keys", KEY_COLUMNS, keys)
            stage.write("stage_errors", ERROR_COLUMNS, errors)
            return
        stage.write("stage_keys", KEY_COLUMNS, keys)
        stage.write("stage_errors", ERROR_COLUMNS, errors)
        keys = []
        on_progress(result.rows_read, estimate_total(source, result.rows_read), "Reading rows…")


def _importer_error(item: parsing.Line, allowed: set[str]) -> tuple:
    return (
        item.row_number,
        item.entry_number,
        parsing.ACE_HEADER.get("importer_number", "Importer Number"),
        f"importer number {item.importer_number or '(blank)'} is not one of this client's importer "
        f"numbers ({', '.join(sorted(allowed))}); rows for other importers are not imported",
    )


# ---- the second half, in a child process ----------------------------------------------------------


class HalfFailed(Exception):
    """The child staging the second half failed; the import stages the whole file itself instead."""


class _FileSink:
    """The child's sink: one binary COPY file per staging table, in the format PostgreSQL loads as is.

    psycopg formats the rows (its C code, like the import's own COPY); the connection only lends the
    formatter its type registry: nothing is sent to the server.
    """

    def __init__(self, connection, directory: Path):
        self._cursor = connection.cursor()
        self._directory = directory
        self._rows: dict[str, Callable[[tuple], None]] = {}
        self._stack = ExitStack()
        self.files: dict[str, str] = {}
        self.errors = 0

    def _write_row(self, table: str, columns: tuple) -> Callable[[tuple], None]:
        if table not in self._rows:
            from psycopg.copy import Copy, FileWriter

            path = self._directory / f"{table}.copy"
            file = self._stack.enter_context(path.open("wb"))
            copy = self._stack.enter_context(Copy(self._cursor, binary=True, writer=FileWriter(file)))
            copy.set_types(copy_types(columns))
            self._rows[table], self.files[table] = copy.write_row, str(path)
        return self._rows[table]

    @contextmanager
    def writer(self, table: str, columns: tuple) -> Iterator[Callable[[tuple], None]]:
        yield self._write_row(table, columns)

    def write(self, table: str, columns: tuple, rows: list[tuple]) -> None:
        if not rows:
            return
        if table == "stage_errors":
            self.errors += len(rows)
        write = self._write_row(table, columns)
        for row in rows:
            write(row)

    def close(self) -> None:
        self._stack.close()  # each COPY's trailer, then its file


def _child_main() -> None:
    """`python -m entries.ingestion.staging`: stage the second half of a split CSV; the job arrives on stdin."""
    import psycopg

    job = pickle.load(sys.stdin.buffer)
    directory = Path(job["directory"])
    counts = Staged()
    with (
        psycopg.connect(**job["conninfo"]) as connection,
        parsing.open_report(job["path"], filename=job["filename"]) as source,
    ):
        source.restart_at(job["offset"], job["row_number"])
        sink = _FileSink(connection, directory)

        def progress(done: int, total: int | None, message: str) -> None:
            if os.getppid() != job["parent"]:  # the import was killed: its rows are of no use to anyone
                shutil.rmtree(directory, ignore_errors=True)
                os._exit(1)
            print(done, source.bytes_read - job["offset"], flush=True)  # read by SecondHalf.progress

        try:
            stage_rows(
                source, sink, counts, job["allowed"], job["registry"], progress, key_base=SECOND_HALF_KEY_BASE
            )
        finally:
            sink.close()
        outcome = {
            "rows_read": counts.rows_read,
            "last_row_error": counts.last_row_error,
            "complete": source.complete,
            "problem": source.problem,
            "errors": sink.errors,
            "files": sink.files,
            "peak_rss_kb": _peak_rss_kb(),
        }
    (directory / "outcome.pickle").write_bytes(pickle.dumps(outcome))


def _peak_rss_kb() -> int | None:
    """This process's own memory high-water mark (VmHWM; ru_maxrss would start from the parent's)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return None


class SecondHalf:
    """The parent's handle on the child that stages a split CSV's second half (bytes from offset on)."""

    def __init__(
        self,
        *,
        path: str,
        filename: str,
        offset: int,
        row_number: int,
        allowed: set[str],
        registry: Registry,
        conninfo: dict,
        cwd: str,
    ):
        self.directory = Path(tempfile.mkdtemp(prefix="es003-second-half-"))
        self._stderr = (self.directory / "stderr.txt").open("wb")
        self._pending = b""
        self.rows = self.bytes = 0
        job = {
            "path": str(path),
            "filename": filename,
            "offset": offset,
            "row_number": row_number,
            "allowed": allowed,
            "registry": registry,
            "conninfo": conninfo,  # with the password: it goes through the pipe, never the command line
            "directory": str(self.directory),
            "parent": os.getpid(),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "entries.ingestion.staging"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        try:
            self.process.stdin.write(pickle.dumps(job))
            self.process.stdin.close()
        except OSError:
            pass  # it died at once: outcome() says so
        os.set_blocking(self.process.stdout.fileno(), False)

    def progress(self) -> tuple[int, int]:
        """Rows and bytes the child has read so far (its latest report)."""
        try:
            while chunk := os.read(self.process.stdout.fileno(), 65536):
                self._pending += chunk
        except BlockingIOError:
            pass
        *complete, self._pending = self._pending.split(b"\n")
        for line in reversed(complete):
            try:
                rows, read = map(int, line.split())
            except ValueError:
                continue  # not one of its progress lines: progress is only an estimate
            self.rows, self.bytes = rows, read
            break
        return self.rows, self.bytes

    def wait(self, timeout: float) -> bool:
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def outcome(self) -> dict:
        """What the child staged (waits for it); HalfFailed if it did not finish."""
        code = self.process.wait()
        result = self.directory / "outcome.pickle"
        if code != 0 or not result.exists():
            self._stderr.flush()
            tail = (self.directory / "stderr.txt").read_bytes()[-2000:].decode(errors="replace")
            raise HalfFailed(f"the second-half process exited with {code}: {tail}")
        return pickle.loads(result.read_bytes())

    def close(self) -> None:
        """Stop the child if it still runs and remove its files."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self._stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)


if __name__ == "__main__":
    _child_main()
