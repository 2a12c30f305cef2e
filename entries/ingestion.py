"""Importing an ES-003 report into a client's entries: streamed, staged, merged in one transaction.

Memory stays flat whatever the file size: the parser streams rows, each row goes straight into a
temporary staging table (COPY on PostgreSQL), and grouping rows into entries, entry-level atomicity and
the insert/update/unchanged decision are done by the database. Only the per-entry aggregates (one row
per entry) pass back through Python, to be classified.

Nothing is stored until the merge, which runs in one transaction: a failure leaves existing data as it
was. Staging runs outside it so the job row's progress is visible to the page while the file is read.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from . import parsing
from .chapter99 import DEFAULT_REGISTRY, Registry
from .classification import classify_totals
from .models import Entry, EntryLine, RowRejection

PROGRESS_EVERY_ROWS = 25_000
_BATCH = 5_000

# Staged columns, in order. Money is staged as integer cents so sums are exact on every backend.
_STAGE_COLUMNS = (
    ("row_number", "integer"),
    ("entry_number", "varchar(11)"),
    ("line_number", "integer"),
    ("ordinal", "integer"),
    ("hts", "varchar(10)"),
    ("goods_cents", "bigint"),
    ("duty_cents", "bigint"),
    ("country", "varchar(2)"),
    ("program", "varchar(20)"),
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
    ("hash_a", "bigint"),
    ("hash_b", "bigint"),
)
_ERROR_COLUMNS = (
    ("row_number", "integer"),
    ("entry_number", "varchar(64)"),
    ("col", "varchar(100)"),
    ("reason", "text"),
)


@dataclass
class ImportResult:
    rows_read: int = 0
    rows_rejected: int = 0
    entries_created: int = 0
    entries_updated: int = 0
    entries_unchanged: int = 0
    entries_rejected: int = 0
    file_format: str = ""
    has_liquidation_columns: bool = True
    warnings: list[str] = field(default_factory=list)


def _canonical_ior(number: str) -> str:
    return number.replace("-", "").upper()


def _cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount.scaleb(2).to_integral_value())


class _Stage:
    """The temporary tables of one import, on the current database connection."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def create(self) -> None:
        with connection.cursor() as cursor:
            for name, columns in (("stage_rows", _STAGE_COLUMNS), ("stage_errors", _ERROR_COLUMNS)):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
                cols = ", ".join(f"{n} {t}" for n, t in columns)
                cursor.execute(f"CREATE TEMPORARY TABLE {name} ({cols})")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for name in ("stage_rows", "stage_errors", "stage_bad", "stage_entries", "stage_written"):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")

    def write(self, table: str, columns: tuple, rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(n for n, _ in columns)
        if self.postgres:
            connection.ensure_connection()
            with (
                connection.connection.cursor() as raw,
                raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("%s" for _ in columns)
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _stage_row(line: parsing.Line, registry: Registry) -> tuple:
    rule = registry.rule_of(line.hts, line.entry_date or line.entry_summary_date)
    program = rule.program if rule is not None and rule.carries_duty else ""
    entry_key = (
        f"{line.entry_type}|{line.importer_number}|{line.port}|{line.entry_date}|{line.entry_summary_date}|"
        f"{line.liquidation_status}|{line.liquidation_date}|{line.drawback}|{line.protest}|{line.reconciliation}"
    )
    content = f"{entry_key}|{line.line_number}|{line.ordinal}|{line.hts}|{line.goods_value}|{line.duty}|{line.country_of_origin}"
    raw = content.encode()
    return (
        line.row_number,
        line.entry_number,
        line.line_number,
        line.ordinal,
        line.hts or "",
        _cents(line.goods_value),
        _cents(line.duty),
        line.country_of_origin or "",
        program,
        entry_key,
        line.entry_type or "",
        line.importer_number or "",
        line.port or "",
        line.entry_date,
        line.entry_summary_date,
        line.liquidation_status,
        line.liquidation_date,
        bool(line.drawback),
        bool(line.protest),
        bool(line.reconciliation),
        zlib.crc32(raw),
        zlib.adler32(raw),
    )


def import_report(
    *,
    client,
    report,
    path: str,
    as_of: date,
    allowed_importers: set[str],
    registry: Registry = DEFAULT_REGISTRY,
    on_progress: Callable[[int, int | None, str], None] = lambda done, total, message: None,
) -> ImportResult:
    """Read the file at path into the client's entries. Raises parsing.FileRejected for a whole-file reject."""
    result = ImportResult()
    stage = _Stage()
    with parsing.open_report(path, filename=report.original_name) as source:
        result.file_format = source.format
        result.has_liquidation_columns = source.has_liquidation_columns
        result.warnings = list(source.warnings)
        importer_column = "importer_number" in getattr(source, "columns", {"importer_number": 0})
        stage.create()
        try:
            _stage_file(source, stage, result, allowed_importers, registry, on_progress)
            on_progress(result.rows_read, result.rows_read, "Storing entries…")
            with transaction.atomic():
                _merge(
                    client=client, report=report, stage=stage, result=result, as_of=as_of, registry=registry
                )
        finally:
            stage.drop()
    if not importer_column:
        result.warnings.append(
            "The report has no Importer Number column, so rows could not be checked against this client's "
            "importer numbers. Add the Importer Number field when you export the report from ACE."
        )
    return result


def _estimate_total(source, rows_read: int) -> int | None:
    done, total = getattr(source, "bytes_read", 0), getattr(source, "total_bytes", 0)
    if done and total and rows_read:
        return max(rows_read, int(rows_read * total / done))
    return None


def _stage_file(
    source, stage: _Stage, result: ImportResult, allowed: set[str], registry, on_progress
) -> None:
    rows: list[tuple] = []
    errors: list[tuple] = []
    allowed_canonical = {_canonical_ior(n) for n in allowed}
    check_importer = bool(allowed_canonical)
    for item in source.rows():
        result.rows_read += 1
        if isinstance(item, parsing.RowError):
            errors.append((item.row_number, item.entry_number[:64], item.column[:100], item.reason))
        elif check_importer and _canonical_ior(item.importer_number or "") not in allowed_canonical:
            errors.append(
                (
                    item.row_number,
                    item.entry_number,
                    parsing.ACE_HEADER.get("importer_number", "Importer Number"),
                    f"importer number {item.importer_number or '(blank)'} is not one of this client's importer "
                    f"numbers ({', '.join(sorted(allowed))}); rows for other importers are not imported",
                )
            )
        else:
            rows.append(_stage_row(item, registry))
        if len(rows) >= _BATCH:
            stage.write("stage_rows", _STAGE_COLUMNS, rows)
            rows = []
        if len(errors) >= _BATCH:
            stage.write("stage_errors", _ERROR_COLUMNS, errors)
            errors = []
        if result.rows_read % PROGRESS_EVERY_ROWS == 0:
            on_progress(result.rows_read, _estimate_total(source, result.rows_read), "Reading rows…")
    stage.write("stage_rows", _STAGE_COLUMNS, rows)
    stage.write("stage_errors", _ERROR_COLUMNS, errors)


def _fetch(cursor, sql: str, params=()) -> Iterator[tuple]:
    cursor.execute(sql, params)
    while batch := cursor.fetchmany(2000):
        yield from batch


def _merge(*, client, report, stage: _Stage, result: ImportResult, as_of: date, registry: Registry) -> None:
    entry_table = Entry._meta.db_table
    line_table = EntryLine._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        # Entries with a bad row, or whose rows disagree on entry-level fields, are rejected whole.
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_bad AS "
            "SELECT DISTINCT entry_number FROM stage_errors WHERE entry_number IN (SELECT entry_number FROM stage_rows) "
            "UNION SELECT entry_number FROM stage_rows GROUP BY entry_number HAVING COUNT(DISTINCT entry_key) > 1"
        )
        _explain_disagreements(cursor, result)
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
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_entries AS SELECT entry_number, "
            "MIN(entry_type) AS entry_type, MIN(importer_number) AS importer_number, MIN(port) AS port, "
            "MIN(entry_date) AS entry_date, MIN(entry_summary_date) AS entry_summary_date, "
            "MIN(liquidation_status) AS liquidation_status, MIN(liquidation_date) AS liquidation_date, "
            "MAX(CASE WHEN drawback THEN 1 ELSE 0 END) AS drawback, MAX(CASE WHEN protest THEN 1 ELSE 0 END) AS protest, "
            "MAX(CASE WHEN reconciliation THEN 1 ELSE 0 END) AS reconciliation, COUNT(*) AS line_count, "
            "SUM(duty_cents) AS duty_cents, SUM(COALESCE(goods_cents, 0)) AS goods_cents, "
            "SUM(CASE WHEN program = 'ieepa' THEN duty_cents ELSE 0 END) AS ieepa_cents, "
            "SUM(CASE WHEN program = 'section_122' THEN duty_cents ELSE 0 END) AS s122_cents, "
            "SUM(hash_a) AS hash_a, SUM(hash_b) AS hash_b "
            "FROM stage_rows WHERE entry_number NOT IN (SELECT entry_number FROM stage_bad) GROUP BY entry_number"
        )
        existing = {
            number: (pk, ha, hb)
            for number, pk, ha, hb in _fetch(
                cursor,
                f"SELECT entry_number, id, content_hash_a, content_hash_b FROM {entry_table} WHERE client_id = %s",
                [client.pk],
            )
        }
        new_rows, changed_rows, changed_ids = [], [], []
        for agg in list(_fetch(cursor, "SELECT * FROM stage_entries")):
            values = _entry_values(
                agg, as_of=as_of, registry=registry, liquidation_known=result.has_liquidation_columns
            )
            current = existing.get(agg[0])
            if current is None:
                new_rows.append(values)
            elif (current[1], current[2]) == (int(agg[16]), int(agg[17])):
                result.entries_unchanged += 1
            else:
                changed_rows.append(values)
                changed_ids.append(current[0])
        result.entries_created = len(new_rows)
        result.entries_updated = len(changed_rows)
        _write_entries(
            cursor, client=client, report=report, new_rows=new_rows, changed_rows=changed_rows, now=now
        )
        if changed_ids:
            _delete_lines(cursor, line_table, client.pk, changed_ids)
        # Lines of the entries written by this run (new and changed) come straight from the staging table.
        cursor.execute("DROP TABLE IF EXISTS stage_written")
        cursor.execute("CREATE TEMPORARY TABLE stage_written (entry_number varchar(11))")
        stage.write("stage_written", (("entry_number", ""),), [(row[0],) for row in new_rows + changed_rows])
        cursor.execute(
            f"INSERT INTO {line_table} (client_id, entry_id, row_number, line_number, ordinal, hts, goods_value, "
            "duty, country_of_origin, program) "
            "SELECT %s, e.id, r.row_number, r.line_number, r.ordinal, r.hts, "
            "r.goods_cents / 100.0, r.duty_cents / 100.0, r.country, r.program "
            "FROM stage_rows r JOIN stage_written w ON w.entry_number = r.entry_number "
            f"JOIN {entry_table} e ON e.client_id = %s AND e.entry_number = r.entry_number",
            [client.pk, client.pk],
        )
        # A redelivered task re-runs the whole import; its report's earlier rejections are replaced.
        cursor.execute(f"DELETE FROM {RowRejection._meta.db_table} WHERE report_id = %s", [report.pk])
        cursor.execute(
            f"INSERT INTO {RowRejection._meta.db_table} (client_id, report_id, row_number, entry_number, {_q('column')}, reason) "
            "SELECT %s, %s, row_number, entry_number, col, reason FROM stage_errors",
            [client.pk, report.pk],
        )
        cursor.execute("SELECT COUNT(DISTINCT row_number) FROM stage_errors")
        result.rows_rejected = cursor.fetchone()[0]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _explain_disagreements(cursor, result: ImportResult) -> None:
    """Rows of one entry that disagree on entry-level fields: say which field, with the values seen."""
    labels = {
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
    rows = list(
        _fetch(
            cursor,
            f"SELECT row_number, entry_number, {', '.join(labels)} FROM stage_rows WHERE entry_number IN "
            "(SELECT entry_number FROM stage_rows GROUP BY entry_number HAVING COUNT(DISTINCT entry_key) > 1) "
            "ORDER BY entry_number, row_number",
        )
    )
    by_entry: dict[str, list[tuple]] = {}
    for row in rows:
        by_entry.setdefault(row[1], []).append(row)
    errors = []
    for number, entry_rows in by_entry.items():
        first = entry_rows[0]
        for position, label in enumerate(labels.values(), start=2):
            seen = sorted(
                {str(r[position]) if r[position] not in (None, "") else "(blank)" for r in entry_rows}
            )
            if len(seen) < 2:
                continue
            for r in entry_rows:
                errors.append(
                    (
                        r[0],
                        number,
                        label,
                        f"rows of entry {number} disagree on {label} ({', '.join(seen)}); row {first[0]} has "
                        f"{first[position] or '(blank)'}: the whole entry is rejected until the report is consistent",
                    )
                )
            break
    _Stage().write("stage_errors", _ERROR_COLUMNS, errors)


def _entry_values(agg: tuple, *, as_of: date, registry: Registry, liquidation_known: bool) -> tuple:
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
    entry_date, summary_date, liq_date = _as_date(entry_date), _as_date(summary_date), _as_date(liq_date)
    ieepa = Decimal(int(ieepa_cents)).scaleb(-2)
    section_122 = Decimal(int(s122_cents)).scaleb(-2)
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
        ieepa_duty=ieepa,
        section_122_duty=section_122,
        as_of=as_of,
        registry=registry,
    )
    return (
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
        Decimal(int(duty_cents)).scaleb(-2),
        Decimal(int(goods_cents)).scaleb(-2),
        ieepa,
        section_122,
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
        as_of,
    )


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


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
    "classified_as_of",
)


def _write_entries(cursor, *, client, report, new_rows, changed_rows, now) -> None:
    table = Entry._meta.db_table
    columns = ("client_id", "last_report_id", "updated_at", *_ENTRY_COLUMNS)
    prefix = (client.pk, report.pk, now)
    for start in range(0, len(new_rows), _BATCH):
        batch = [prefix + row for row in new_rows[start : start + _BATCH]]
        _Stage().write(table, tuple((c, "") for c in columns), batch)
    if not changed_rows:
        return
    cursor.execute("DROP TABLE IF EXISTS stage_changed")
    cursor.execute(
        f"CREATE TEMPORARY TABLE stage_changed AS SELECT {', '.join(_ENTRY_COLUMNS)} FROM {table} WHERE 1 = 0"
    )
    for start in range(0, len(changed_rows), _BATCH):
        _Stage().write(
            "stage_changed", tuple((c, "") for c in _ENTRY_COLUMNS), changed_rows[start : start + _BATCH]
        )
    assignments = ", ".join(f"{c} = s.{c}" for c in _ENTRY_COLUMNS if c != "entry_number")
    cursor.execute(
        f"UPDATE {table} SET {assignments}, last_report_id = %s, updated_at = %s FROM stage_changed s "
        f"WHERE {table}.client_id = %s AND {table}.entry_number = s.entry_number",
        [report.pk, now, client.pk],
    )
    cursor.execute("DROP TABLE stage_changed")


def _delete_lines(cursor, line_table: str, client_id: int, entry_ids: list[int]) -> None:
    for start in range(0, len(entry_ids), 10_000):
        chunk = entry_ids[start : start + 10_000]
        marks = ", ".join("%s" for _ in chunk)
        cursor.execute(
            f"DELETE FROM {line_table} WHERE client_id = %s AND entry_id IN ({marks})", [client_id, *chunk]
        )
