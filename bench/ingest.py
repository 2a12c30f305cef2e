"""Benchmark of the ES-003 import, end to end, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/ingest.py --rows 1000000

Generates a realistic ES-003 CSV (5 rows per entry), then measures, on the same file:
  * the import end to end (file on disk -> report_upload + report_import -> entries stored and classified,
    job succeeded), in a fresh subprocess so that the generator's memory does not count in its peak RSS;
  * a raw COPY of the file into an unindexed table of text columns (the practical limit);
  * the storage floor: the entries and lines the import stored, dumped and copied back (binary COPY) into
    the real, indexed tables as another client's and committed: what storing them costs with no parsing,
    validation or classification (see storage_floor);
  * django-import-export's bulk import of the first rows into a throwaway table;
  * re-importing the same file (reprocess: every entry unchanged);
  * an XLSX of --xlsx-rows rows, imported the same way.
The database must be a dedicated one (its name must contain "bench"): it is created and migrated if
missing, and its client data is truncated at the start of every run.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import EMPTY_CLIENTS_SQL, ensure_database, machine_facts  # noqa: E402 (after sys.path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
AS_OF = date(2026, 11, 23)  # fixed, so that every refund path occurs and runs are comparable
ROWS_PER_ENTRY = 5
CSV_CLIENT = ("bench-csv", ("27-418305200", "61-907734100"))
XLSX_CLIENT = ("bench-xlsx", ("45-220918800", "88-613370400"))
FLOOR_CLIENT = "bench-floor"  # the storage floor's copy of the CSV client's rows, deleted right after
HEADER = [
    "Entry Summary Number",
    "Entry Type Code",
    "Importer Number",
    "Port of Entry Code",
    "Entry Date",
    "Entry Summary Date",
    "Entry Summary Line Number",
    "Tariff Ordinal Number",
    "HTS Number - Full",
    "Line Tariff Goods Value Amount",
    "Line Tariff Duty Amount",
    "Country of Origin Code",
    "Liquidation Status",
    "Liquidation Date",
    "Drawback",
    "Protest",
    "Reconciliation Flag",
]


# ---- the report ---------------------------------------------------------------------------------

_FILERS = ("RV8", "EJ4", "B71", "ZT2", "M3K", "416", "KQX")
_PORTS = ("2704", "1001", "5301", "3002", "4601", "2809", "0901", "5501")
_COUNTRIES = (
    ("CN", 35),
    ("VN", 15),
    ("MX", 10),
    ("CA", 8),
    ("IN", 7),
    ("DE", 7),
    ("JP", 6),
    ("TW", 6),
    ("KR", 6),
)
_TYPES = (("01", 74), ("03", 8), ("06", 5), ("02", 4), ("11", 4), ("09", 3), ("07", 2))
_COMMODITIES = tuple(
    f"{chapter:02d}{heading:02d}.{sub:02d}.{stat:04d}"
    for chapter, heading in (
        (39, 23),
        (64, 4),
        (73, 18),
        (84, 71),
        (85, 16),
        (85, 17),
        (94, 3),
        (95, 3),
        (61, 9),
    )
    for sub, stat in ((10, 20), (30, 100), (60, 4060), (90, 80), (19, 3960), (20, 10))
)
_FENTANYL = {
    "CN": ("9903.01.24", "9903.01.25"),
    "MX": ("9903.01.01", "9903.01.10"),
    "CA": ("9903.01.10", "9903.01.13"),
}
_RECIPROCAL = tuple(f"9903.02.{n:02d}" for n in range(1, 72))
_SECTION_301 = ("9903.88.01", "9903.88.02", "9903.88.03", "9903.88.15")
_IEEPA_FROM, _IEEPA_TO = date(2025, 2, 4), date(2026, 2, 23)
_S122_FROM, _S122_TO = date(2026, 2, 24), date(2026, 7, 24)
_FIRST_DATE, _DAYS = date(2025, 1, 2), (date(2026, 10, 31) - date(2025, 1, 2)).days


def _entry_number(index: int) -> str:
    from domain.entry_numbers import check_digit

    # 7919 is coprime with 10**7, so distinct indexes give distinct serials.
    first_ten = f"{_FILERS[index % len(_FILERS)]}{(index * 7919 + 123457) % 10**7:07d}"
    return f"{first_ten}{check_digit(first_ten)}"


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _mdy(day: date | None) -> str:
    return "" if day is None else f"{day.month:02d}/{day.day:02d}/{day.year}"


def _liquidation(rng: random.Random, entry_type: str, summary: date) -> tuple[str, date | None]:
    """Status and date: entries liquidate about 314 days after summary, some are held or extended."""
    age = (AS_OF - summary).days
    r = rng.random()
    if entry_type in ("03", "07") and r < 0.6:
        return "Suspended", None
    if age > 300 and r < 0.85:
        when = summary + timedelta(days=rng.randint(290, min(age - 1, 340)))
        if r < 0.05 and when < AS_OF - timedelta(days=30):
            return "Reliquidated", when + timedelta(days=rng.randint(1, 29))
        return "Liquidated", when
    return rng.choice(("Unliquidated", "Unliquidated", "", "Under Review", "Extended")), None


def _entry_rows(rng: random.Random, index: int, importers: tuple[str, ...]) -> list[list]:
    number = _entry_number(index)
    entry_type = rng.choices([t for t, _ in _TYPES], [w for _, w in _TYPES])[0]
    country = rng.choices([c for c, _ in _COUNTRIES], [w for _, w in _COUNTRIES])[0]
    entered = _FIRST_DATE + timedelta(days=rng.randrange(_DAYS))
    summary = entered + timedelta(days=rng.randint(0, 10))
    status, liquidated = _liquidation(rng, entry_type, summary)
    flags = ["Y" if rng.random() < p else "N" for p in (0.01, 0.02, 0.03)]  # drawback, protest, recon
    head = [
        number,
        entry_type,
        importers[index % len(importers)],
        rng.choice(_PORTS),
        _mdy(entered),
        _mdy(summary),
    ]
    tail = [country, status, _mdy(liquidated), *flags]
    if _IEEPA_FROM <= entered <= _IEEPA_TO:
        extra = [rng.choice(_FENTANYL.get(country, _RECIPROCAL)), rng.choice(_RECIPROCAL)]
    elif _S122_FROM <= entered <= _S122_TO:
        extra = ["9903.03.01", rng.choice(("9903.03.01", "9903.03.05"))]
    else:
        extra = [None, None]
    # (line, ordinal, HTS or None for a commodity): two lines with their Chapter 99 rows, then a third.
    layout = [(1, 1, None), (1, 2, extra[0]), (2, 1, None), (2, 2, extra[1]), (3, 1, None)]
    if country == "CN":
        layout[4] = (2, 3, rng.choice(_SECTION_301))
    rows, goods = [], 0
    for line, ordinal, hts in layout:
        if hts is None and ordinal > 1:  # no Chapter 99 row in this period: another commodity line
            line, ordinal = line + 2, 1
        if hts is None:
            goods = rng.randint(50_000, 25_000_000)
            value, duty = _money(goods), _money(goods * rng.choice((0, 25, 40, 65)) // 1000)
            hts = rng.choice(_COMMODITIES)
        else:
            rate = 0 if hts == "9903.03.05" else rng.choice((100, 200, 250))
            value, duty = "0.00", _money(goods * rate // 1000)
        rows.append([*head, line, ordinal, hts, value, duty, *tail])
    return rows


def generate_csv(path: Path, rows: int, importers: tuple[str, ...], seed: int = 3) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(-(-rows // ROWS_PER_ENTRY)):
            writer.writerows(_entry_rows(rng, index, importers)[: rows - index * ROWS_PER_ENTRY])


def generate_xlsx(path: Path, rows: int, importers: tuple[str, ...], seed: int = 4) -> None:
    import openpyxl

    rng = random.Random(seed)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("ES-003")
    sheet.append(HEADER)
    for index in range(-(-rows // ROWS_PER_ENTRY)):
        # The layout of ACE's own XLSX export (see samples/es003_basic.xlsx): text cells, numeric line numbers.
        for row in _entry_rows(rng, 10**6 + index, importers)[: rows - index * ROWS_PER_ENTRY]:
            sheet.append(row)
    workbook.save(path)


# ---- database -----------------------------------------------------------------------------------


def _setup_django(work: Path) -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
    # The uploaded copies of the benchmark files stay in the work directory, not in var/private.
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", str(work / "storage"))
    os.environ.setdefault("UPLOAD_MAX_BYTES", str(4 * 1024**3))
    import django

    django.setup()


def _prepare_database() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from clients.models import Client, ImporterNumber

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # A dedicated database: every client's rows (entries, lines, reports, audit) go with the clients.
        cursor.execute(EMPTY_CLIENTS_SQL)
    with scopes_disabled():
        for slug, numbers in (CSV_CLIENT, XLSX_CLIENT):
            client = Client.objects.create(slug=slug, legal_name=f"{slug} LLC")
            for number in numbers:
                ImporterNumber.objects.create(client=client, number=number, verified_at=timezone.now())


# ---- measurements -------------------------------------------------------------------------------


def _cpu_self_children() -> tuple[float, float]:
    """CPU seconds (user + system) of this process with its threads, and of its waited-for children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _backend_cpu(connection) -> float | None:
    """CPU seconds the connection's PostgreSQL backend has used, from /proc (a local server), else None."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def import_only(path: Path, slug: str, reprocess: bool, profile: Path | None) -> dict:
    """Runs in the subprocess: the import exactly as the upload page's task runs it, timed."""
    from django.core.files import File
    from django.db import connection
    from django.db.models import Count
    from django_scopes import scope, scopes_disabled

    from clients.models import Client
    from entries.ingestion import importer as ingestion
    from entries.ingestion import services, staging
    from entries.ingestion.services import report_import, report_upload
    from entries.models import Entry, EntryLine, EntryReport

    phases: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    # Measurement only: the phases are wrapped with a timer, their work is untouched. What import_report
    # spends outside staging and merge is mostly the commit (deferred foreign-key checks); what
    # report_import spends outside import_report is the service's own bookkeeping after the import.
    ingestion._stage_file = timed("stage", ingestion._stage_file)
    # A large CSV is staged in two halves at once; the second half's process reports its own peak memory.
    child_peaks: list[int] = []
    outcome = staging.SecondHalf.outcome

    def recorded(half):
        result = outcome(half)
        child_peaks.append(result.get("peak_rss_kb") or 0)
        return result

    staging.SecondHalf.outcome = recorded
    ingestion._merge = timed("merge", ingestion._merge)
    services.import_report = timed("import_report", services.import_report)
    with scopes_disabled():
        client = Client.objects.get(slug=slug)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before, backend_before = _cpu_self_children(), _backend_cpu(connection)
    start = time.perf_counter()
    with scope(client=client), path.open("rb") as handle:
        report, created = report_upload(
            actor=None,
            client=client,
            uploaded=File(handle, name=path.name),
            reprocess=reprocess,
            enqueue=False,
        )
        uploaded = time.perf_counter()
        report_import(report=report, as_of=AS_OF)
    wall = time.perf_counter() - start
    cpu_after, backend_after = _cpu_self_children(), _backend_cpu(connection)
    phases["commit"] = phases["import_report"] - phases["stage"] - phases["merge"]
    phases["after"] = wall - (uploaded - start) - phases["import_report"]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    with scope(client=client):
        report.refresh_from_db()
        assert created and report.status == EntryReport.Status.SUCCEEDED, report.message
        entries, lines = Entry.objects.count(), EntryLine.objects.count()
        paths = dict(Entry.objects.values_list("refund_path").annotate(n=Count("id")))
    return {
        "wall": wall,
        "upload": uploaded - start,
        **phases,
        "rows": report.rows_read,
        "rejected": report.rows_rejected,
        "created": report.entries_created,
        "updated": report.entries_updated,
        "unchanged": report.entries_unchanged,
        "entries": entries,
        "lines": lines,
        "paths": paths,
        # CPU seconds of the import: this process (Django, staging, the classifying thread), the second
        # half's process, and the database backend of the import's connection (None: not readable here).
        "cpu_process": cpu_after[0] - cpu_before[0],
        "cpu_children": cpu_after[1] - cpu_before[1],
        "cpu_database": None if backend_before is None else backend_after - backend_before,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_before / 1024,
        "rss_child_mb": max(child_peaks, default=0) / 1024,
        # The kernel's high-water mark of this process's own memory: a cross-check of ru_maxrss.
        "hwm_mb": next(
            int(line.split()[1]) / 1024
            for line in Path("/proc/self/status").open()
            if line.startswith("VmHWM")
        ),
    }


# On Linux a process's ru_maxrss starts from its parent's resident size at fork, and exec keeps it: an
# import started by this process (generator, import-export dataset) would be charged this process's
# memory. So imports are started by a small launcher, itself started before anything big is loaded.
_LAUNCHER = """
import json, subprocess, sys
for line in sys.stdin:
    command, cwd = json.loads(line)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    print(json.dumps([done.returncode, done.stdout, done.stderr]), flush=True)
"""
_launcher: subprocess.Popen | None = None


def _launch(command: list[str]) -> tuple[int, str, str]:
    global _launcher
    if _launcher is None:
        _launcher = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    # From the project directory: Celery's Django fix-up puts the working directory first on sys.path.
    _launcher.stdin.write(json.dumps([command, str(ROOT)]) + "\n")
    _launcher.stdin.flush()
    return tuple(json.loads(_launcher.stdout.readline()))


def run_import(path: Path, slug: str, *, reprocess: bool = False, profile: Path | None = None) -> dict:
    """The import in a fresh process, so that its peak RSS is the import's alone."""
    command = [
        sys.executable,
        __file__,
        "--import-only",
        str(path),
        "--client",
        slug,
        "--workdir",
        str(path.parent),
    ]
    if reprocess:
        command.append("--reprocess")
    if profile is not None:
        command += ["--profile", str(profile)]
    returncode, output, errors = _launch(command)
    if returncode:
        raise RuntimeError(f"the import failed:\n{errors}")
    return json.loads(output.strip().splitlines()[-1])


def raw_copy(path: Path) -> float:
    """COPY of the file into an unindexed table of text columns, streamed from the client: the limit."""
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    connection.ensure_connection()
    conn = connection.connection
    with conn.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute(f"CREATE TABLE bench_raw_copy ({columns})")
    conn.commit()
    start = time.perf_counter()
    with conn.cursor() as cursor:
        with (
            path.open("rb") as handle,
            cursor.copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := handle.read(1024 * 1024):
                copy.write(chunk)
    conn.commit()
    wall = time.perf_counter() - start
    with conn.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_copy")
    conn.commit()
    return wall


def _columns(cursor, table: str) -> list[tuple[str, str]]:
    """A table's columns and their exact types, in order: a binary COPY's values must have those types."""
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return cursor.fetchall()


def _select(alias: str, columns: list[tuple[str, str]], replaced: dict[str, str]) -> str:
    """A select list of the table's columns, some replaced; each cast to the column's type for binary COPY."""
    return ", ".join(f"CAST({replaced.get(name, f'{alias}.{name}')} AS {kind})" for name, kind in columns)


def _copy_out(cursor, query: str, path: Path) -> None:
    """A query's rows in PostgreSQL's binary COPY format, into a file on the client's disk."""
    with path.open("wb") as handle, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
        for chunk in copy:
            handle.write(chunk)


def _copy_in(cursor, table: str, columns: list[tuple[str, str]], path: Path) -> float:
    """A binary COPY of the file into the table, streamed from the client like raw COPY's; its wall time."""
    names = ", ".join(name for name, _ in columns)
    start = time.perf_counter()
    with path.open("rb") as handle, cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        while chunk := handle.read(1024 * 1024):
            copy.write(chunk)
    return time.perf_counter() - start


def storage_floor(work: Path, slug: str) -> dict:
    """What storing the import's rows costs PostgreSQL alone: no parsing, validation or classification.

    The entries and lines the first import stored for the client are dumped (binary COPY to files on the
    client's disk), then copied back into the real, indexed tables as a second client's ("bench-floor"):
    one transaction, a binary COPY of the entries, one of the lines, and the COMMIT, which runs the
    entries' deferred foreign-key checks (client; last report, kept: the import's report) and flushes the
    WAL. A second client with fresh entry ids is closest to what the import does, new rows in live
    tables: deleting the first client's rows instead would leave dead rows and index entries for the COPY
    to wade through. The entries get ids drawn from the sequence beforehand (the import draws them before
    its COPY too) and the lines point to them; the lines' ids come from their default, as in the import's
    INSERT. The tables still hold the first client's rows, which the import did not meet. Afterwards the
    second client's rows are deleted and the tables vacuumed and analysed, so that autovacuum does not
    clean up after them during the re-import.
    """
    from django.db import connection
    from django_scopes import scopes_disabled

    from clients.models import Client

    with scopes_disabled():
        source = Client.objects.get(slug=slug)
        floor = Client.objects.create(slug=FLOOR_CLIENT, legal_name=f"{FLOOR_CLIENT} LLC")
    entries_file, lines_file = work / "floor_entries.bin", work / "floor_lines.bin"
    connection.ensure_connection()
    conn = connection.connection
    assert conn.autocommit  # Django's default: the BEGIN and COMMIT below are the only transaction
    with conn.cursor() as cursor:
        entry_columns = _columns(cursor, "entries_entry")
        line_columns = [(name, kind) for name, kind in _columns(cursor, "entries_entryline") if name != "id"]
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_floor_ids AS SELECT id AS old_id, "
            "nextval(pg_get_serial_sequence('entries_entry', 'id')) AS new_id "
            "FROM entries_entry WHERE client_id = %s ORDER BY id",
            [source.pk],
        )
        _copy_out(
            cursor,
            f"SELECT {_select('e', entry_columns, {'id': 'm.new_id', 'client_id': str(floor.pk)})} "
            "FROM entries_entry e JOIN bench_floor_ids m ON m.old_id = e.id ORDER BY m.new_id",
            entries_file,
        )
        _copy_out(
            cursor,
            f"SELECT {_select('l', line_columns, {'entry_id': 'm.new_id', 'client_id': str(floor.pk)})} "
            f"FROM entries_entryline l JOIN bench_floor_ids m ON m.old_id = l.entry_id "
            f"WHERE l.client_id = {source.pk} ORDER BY l.id",
            lines_file,
        )
        cursor.execute("DROP TABLE bench_floor_ids")
        counts = (
            "SELECT (SELECT COUNT(*) FROM entries_entry WHERE client_id = %s), "
            "(SELECT COUNT(*) FROM entries_entryline WHERE client_id = %s)"
        )
        expected = cursor.execute(counts, [source.pk, source.pk]).fetchone()

        backend_before = _backend_cpu(connection)
        cursor.execute("BEGIN")
        entries = _copy_in(cursor, "entries_entry", entry_columns, entries_file)
        lines = _copy_in(cursor, "entries_entryline", line_columns, lines_file)
        start = time.perf_counter()
        cursor.execute("COMMIT")
        commit = time.perf_counter() - start
        backend_after = _backend_cpu(connection)

        stored = cursor.execute(counts, [floor.pk, floor.pk]).fetchone()
        assert stored == expected, (stored, expected)
        cursor.execute("DELETE FROM entries_entryline WHERE client_id = %s", [floor.pk])
        cursor.execute("DELETE FROM entries_entry WHERE client_id = %s", [floor.pk])
    with scopes_disabled():
        floor.delete()
    with conn.cursor() as cursor:
        # A backend reports its rows' counts at most once a second: flushed after the VACUUM, the DELETEs
        # would count as dead rows again and autovacuum would come for them anyway (PostgreSQL 15+).
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("VACUUM (ANALYZE) entries_entry, entries_entryline")
    entries_file.unlink()
    lines_file.unlink()
    return {
        "wall": entries + lines + commit,
        "entries": entries,
        "lines": lines,
        "commit": commit,
        "cpu_database": None if backend_before is None else backend_after - backend_before,
        "entry_rows": expected[0],
        "rows": expected[1],
    }


@functools.cache
def _bench_line_model():
    """A throwaway unmanaged model with the report's columns (defined once: Django registers models)."""
    from django.db import models

    class BenchLine(models.Model):
        entry_number = models.CharField(max_length=11)
        entry_type = models.CharField(max_length=2)
        importer_number = models.CharField(max_length=20)
        port = models.CharField(max_length=4)
        entry_date = models.DateField()
        entry_summary_date = models.DateField()
        line_number = models.IntegerField()
        ordinal = models.IntegerField()
        hts = models.CharField(max_length=12)
        goods_value = models.DecimalField(max_digits=18, decimal_places=2)
        duty = models.DecimalField(max_digits=18, decimal_places=2)
        country_of_origin = models.CharField(max_length=2)
        liquidation_status = models.CharField(max_length=20, blank=True)
        liquidation_date = models.DateField(null=True)
        drawback = models.CharField(max_length=1)
        protest = models.CharField(max_length=1)
        reconciliation = models.CharField(max_length=1)

        class Meta:
            app_label = "entries"
            managed = False
            db_table = "bench_import_export_line"

        def __str__(self) -> str:
            return f"{self.entry_number} {self.line_number}.{self.ordinal}"

    return BenchLine


def import_export(path: Path, rows: int) -> tuple[float, int]:
    """django-import-export, fastest documented settings, into a throwaway table shaped like the report.

    EntryLine needs an Entry and a client for each row, which import-export cannot make from a flat
    report; a table with the report's columns measures what import-export itself costs per row.
    """
    import tablib
    from django.db import connection
    from import_export import fields, resources, widgets

    BenchLine = _bench_line_model()
    mdy = widgets.DateWidget(format="%m/%d/%Y")
    names = [f.name for f in BenchLine._meta.fields if f.name != "id"]
    declared = {
        name: fields.Field(attribute=name, column_name=header, widget=mdy if name.endswith("date") else None)
        for name, header in zip(names, HEADER, strict=True)
    }
    meta = type(
        "Meta",
        (),
        {
            "model": BenchLine,
            "fields": tuple(names),
            "use_bulk": True,
            "batch_size": 1000,
            "force_init_instance": True,
            "skip_diff": True,
        },
    )
    resource_class = type("BenchLineResource", (resources.ModelResource,), {**declared, "Meta": meta})
    with connection.schema_editor() as editor:
        editor.execute("DROP TABLE IF EXISTS bench_import_export_line")
        editor.create_model(BenchLine)
    try:
        with path.open(newline="") as handle:
            head = "".join(islice(handle, rows + 1))
        start = time.perf_counter()
        dataset = tablib.Dataset().load(head, format="csv")
        result = resource_class().import_data(dataset, use_transactions=True, raise_errors=True)
        wall = time.perf_counter() - start
        assert not result.has_errors() and not result.has_validation_errors()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM bench_import_export_line")
            stored = cursor.fetchone()[0]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(BenchLine)
    return wall, stored


# ---- report -------------------------------------------------------------------------------------


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


_PHASES = (
    ("upload", "report_upload: copy of the file into storage, SHA-256"),
    ("stage", "parse and stage (COPY into temporary tables; a large CSV in two halves at once)"),
    ("merge", "merge: aggregate, classify, write entries and lines"),
    ("commit", "commit (deferred foreign-key checks) and clean-up"),
    ("after", "report_import after the import (job row, audit, re-classifying staff-marked entries)"),
)


def results_table(r: dict) -> str:
    e2e, again, xl = r["import"], r["reimport"], r["xlsx"]
    rows = [
        ("End to end import (CSV, new entries)", e2e["rows"], e2e["wall"], e2e["rss_mb"]),
        ("Re-import, same file, reprocess (all unchanged)", again["rows"], again["wall"], again["rss_mb"]),
        ("Raw COPY into a text table (the limit)", r["rows"], r["copy"], None),
        (
            "Storage floor: the stored entries and lines, binary COPY into the real tables (no parsing)",
            r["floor"]["rows"],
            r["floor"]["wall"],
            None,
        ),
        (f"django-import-export, bulk, first {r['ie_rows']:,} rows", r["ie_rows"], r["ie"], None),
    ]
    if xl:
        rows.append(("End to end import (XLSX)", xl["rows"], xl["wall"], xl["rss_mb"]))
    lines = ["| Measurement | Rows | Wall time (s) | Rows/s | Peak RSS (MB) |", "|---|---:|---:|---:|---:|"]
    for label, count, wall, rss in rows:
        lines.append(
            f"| {label} | {count:,} | {wall:.2f} | {_rate(count, wall)} | {'' if rss is None else f'{rss:.0f}'} |"
        )
    ratio = (e2e["rows"] / e2e["wall"]) / (r["rows"] / r["copy"])
    floor = r["floor"]
    lines += [
        "",
        f"End to end is {ratio:.1%} of raw COPY's rate (a third would be {r['rows'] / r['copy'] / 3:,.0f} rows/s).",
        f"Storing the import's rows alone takes {floor['wall']:.2f} s; a third of raw COPY's rate is "
        f"{3 * r['copy']:.2f} s (the floor's {floor['entry_rows']:,} entries {floor['entries']:.2f} s, "
        f"{floor['rows']:,} lines {floor['lines']:.2f} s, commit {floor['commit']:.2f} s).",
        "",
        "Where the end-to-end time goes (seconds):",
        "",
        "| Phase | First import | Re-import |",
        "|---|---:|---:|",
    ]
    for key, label in _PHASES:
        lines.append(f"| {label} | {e2e.get(key, 0):.2f} | {again.get(key, 0):.2f} |")
    if e2e.get("cpu_database") is not None:
        cpu = e2e["cpu_process"] + e2e["cpu_children"] + e2e["cpu_database"]
        lines += [
            "",
            f"CPU seconds of the first import: {cpu:.1f} in {e2e['wall']:.2f} s of wall time "
            f"({cpu / e2e['wall']:.2f} cores busy on average): its process {e2e['cpu_process']:.1f} "
            f"(staging, the classifying thread, Django), the second half's process {e2e['cpu_children']:.1f}, "
            f"the database backend {e2e['cpu_database']:.1f}. The floor's backend: {floor['cpu_database']:.1f} "
            f"in {floor['wall']:.2f} s.",
        ]
    lines += [
        "",
        f"First import: {e2e['created']:,} entries created, {e2e['lines']:,} lines, {e2e['rejected']:,} rows rejected; "
        f"refund paths: {', '.join(f'{k} {v:,}' for k, v in sorted(e2e['paths'].items()))}.",
        f"Re-import: {again['unchanged']:,} unchanged, {again['created']:,} created, {again['updated']:,} updated.",
        f"Peak RSS is ru_maxrss of the process that runs the import, a fresh one started by a small launcher "
        f"(its VmHWM agrees: {e2e['hwm_mb']:.0f} MB); Django and the project loaded account for "
        f"{e2e['rss_before_mb']:.0f} MB of it before the import starts."
        + (
            f" A CSV this large is staged in two halves at once: the second half's process (no Django) peaked "
            f"at {e2e['rss_child_mb']:.0f} MB (its VmHWM), so both together stay under "
            f"{e2e['rss_mb'] + e2e['rss_child_mb']:.0f} MB."
            if e2e.get("rss_child_mb")
            else ""
        ),
    ]
    runs = r.get("runs", [])
    if len(runs) > 1:
        walls = {
            "import": [run["import"]["wall"] for run in runs],
            "re-import": [run["reimport"]["wall"] for run in runs],
            "raw COPY": [run["copy"] for run in runs],
            "storage floor": [run["floor"]["wall"] for run in runs],
            "import-export": [run["ie"] for run in runs],
        }
        if runs[0]["xlsx"]:
            walls["XLSX"] = [run["xlsx"]["wall"] for run in runs]
        lines.append(
            f"Each figure is the best of {len(runs)} runs (load average at the start of each: "
            f"{', '.join(run['load'] for run in runs)}); all wall times (s): "
            + "; ".join(f"{k} {', '.join(f'{w:.2f}' for w in v)}" for k, v in walls.items())
            + "."
        )
    return "\n".join(lines)


def _cpu_line(run: dict) -> str:
    e2e, floor = run["import"], run["floor"]
    if e2e.get("cpu_database") is None:
        return ""
    return (
        f"; CPU s: import {e2e['cpu_process']:.1f} + second half {e2e['cpu_children']:.1f} + database "
        f"{e2e['cpu_database']:.1f}, floor's database {floor['cpu_database']:.1f}"
    )


def write_doc(doc: Path, r: dict, command: str) -> None:
    start, end = "<!-- bench/ingest.py results: start -->", "<!-- bench/ingest.py results: end -->"
    machine = "\n".join(f"- {k}: {v}" for k, v in r["machine"])
    block = (
        f"{start}\n### Import benchmark, {r['date']}\n\n{machine}\n\nCommand:\n\n```\n{command}\n```\n\n"
        f"{results_table(r)}\n{end}"
    )
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV report")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the XLSX report (0: skip)")
    parser.add_argument("--ie-rows", type=int, default=20_000, help="rows imported with django-import-export")
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temporary directory)")
    parser.add_argument("--profile", type=Path, help="cProfile the first import into this file")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run everything N times and keep the best of each"
    )
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/PERFORMANCE.md")
    parser.add_argument("--import-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--reprocess", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.import_only:
        _setup_django(work)
        print(
            json.dumps(import_only(args.import_only, args.client, args.reprocess, args.profile), default=str)
        )
        return

    _launch([sys.executable, "-c", "pass"])  # start the launcher while this process is still small
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    pg_version = ensure_database()
    _setup_django(work)
    _prepare_database()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    r: dict = {"rows": args.rows, "date": when, "machine": machine_facts(pg_version)}
    report = work / f"es003_{args.rows}.csv"
    started = time.perf_counter()
    if not report.exists():  # a kept work directory's file is the same file (fixed seed)
        generate_csv(report, args.rows, CSV_CLIENT[1])
    print(
        f"generated {report} ({report.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    workbook = None
    if args.xlsx_rows:
        workbook = work / f"es003_{args.xlsx_rows}.xlsx"
        generate_xlsx(workbook, args.xlsx_rows, XLSX_CLIENT[1])
    runs = []
    for attempt in range(args.repeat):
        if attempt:
            # A first import again: the clients' data go, and with them the stored copies of the files.
            _prepare_database()
            shutil.rmtree(work / "storage", ignore_errors=True)
        run: dict = {"load": Path("/proc/loadavg").read_text().split()[0]}
        run["import"] = run_import(report, CSV_CLIENT[0], profile=args.profile if not attempt else None)
        run["copy"] = raw_copy(report)
        run["floor"] = storage_floor(work, CSV_CLIENT[0])
        run["ie"], r["ie_rows"] = import_export(report, min(args.ie_rows, args.rows))
        run["reimport"] = run_import(report, CSV_CLIENT[0], reprocess=True)
        run["xlsx"] = run_import(workbook, XLSX_CLIENT[0]) if workbook else None
        print(
            f"run {attempt + 1} (load {run['load']}): import {run['import']['wall']:.2f} s, COPY {run['copy']:.2f} s, "
            f"floor {run['floor']['wall']:.2f} s (entries {run['floor']['entries']:.2f}, "
            f"lines {run['floor']['lines']:.2f}, commit {run['floor']['commit']:.2f}), "
            f"import-export {run['ie']:.2f} s, re-import {run['reimport']['wall']:.2f} s"
            + (f", xlsx {run['xlsx']['wall']:.2f} s" if workbook else "")
            + f"; import / floor {run['import']['wall'] / run['floor']['wall']:.2f}"
            + _cpu_line(run),
            flush=True,
        )
        runs.append(run)
    # The machine may be shared: each figure is the best of the runs, the least disturbed estimate.
    for key in ("import", "reimport", "xlsx", "floor"):
        r[key] = min((run[key] for run in runs), key=lambda m: m["wall"]) if runs[0][key] else None
    for key in ("copy", "ie"):
        r[key] = min(run[key] for run in runs)
    r["runs"] = runs

    print()
    print(results_table(r))
    if args.write_doc:
        url = os.environ["DATABASE_URL"]
        command = f"DATABASE_URL={url} .venv/bin/python bench/ingest.py {' '.join(sys.argv[1:])}"
        write_doc(ROOT / "docs" / "PERFORMANCE.md", r, command)
        print("\nwritten to docs/PERFORMANCE.md")
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
