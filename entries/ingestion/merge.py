"""The import's merge: the staged rows against the client's stored entries, in the import's one transaction.

Per entry: its sums over the staged segments; rejected whole when a row is bad or its rows disagree on
entry-level fields; otherwise new, changed, unchanged or (fewer lines than stored) kept, decided by the
database on content hashes. store.py writes the new and changed ones; this module also replaces the
report's rejected rows. Called by importer.import_report inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from domain.chapter99 import Registry

from ..models import Entry, EntryHistory, EntryLine, EntryReport, RowRejection
from .staging import ERROR_COLUMNS
from .store import _BATCH, _q, _report_note, _store

if TYPE_CHECKING:  # annotations only: these modules import this one
    from .importer import ImportResult, _Stage


def _fetch(cursor, sql: str, params=()) -> Iterator[tuple]:
    cursor.execute(sql, params)
    while batch := cursor.fetchmany(2000):
        yield from batch


# stage_target's columns besides entry_number: the entry-level fields (_ENTRY_FIELDS, below, in the
# order of staging.KEY_COLUMNS), then the sums of the entry's rows.
_ENTRY_SUMS = ("line_count", "duty_cents", "goods_cents", "ieepa_cents", "s122_cents", "hash_a", "hash_b")


def _merge(*, client, report, stage: _Stage, result: ImportResult, as_of: date, registry: Registry) -> None:
    entry_table = Entry._meta.db_table
    with connection.cursor() as cursor:
        if stage.postgres:
            # Temporary tables get no statistics by themselves; without them the planner guesses a few
            # hundred rows, picks sort-based joins that spill to disk and pays for JIT compilation. The
            # merge's hashes and sorts of a million rows fit in 128 MB, set for this transaction only.
            # What the plans need is the tables' sizes, not fine histograms: a sample of 3,000 rows
            # (statistics target 10) gives the same plans as the default 30,000, in 0.06 s instead of 0.22.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL default_statistics_target = 10")
            cursor.execute("ANALYZE stage_rows (entry_number)")
            cursor.execute("ANALYZE stage_keys (entry_number)")
        # Entries that came in more than one segment (a run of consecutive rows, staging.KEY_COLUMNS):
        # usually none, as a report sorted by entry (ACE's own order) has one run per entry. Then each
        # segment is an entry, with its sums and entry-level fields, and nothing needs adding up: the
        # merge reads stage_keys as it is (a GROUP BY with seven numeric SUMs over every segment cost
        # 0.44 s of a 200,000-entry import), and lines find their entry by segment (an integer).
        cursor.execute("SELECT 1 FROM stage_keys GROUP BY entry_number HAVING COUNT(*) > 1 LIMIT 1")
        spans = cursor.fetchone() is not None
        if spans:
            # Per-entry sums from its segments, and the range of segments it came in. Only an entry that
            # spans segments can disagree on entry-level fields.
            cursor.execute(
                "CREATE TEMPORARY TABLE stage_entries AS SELECT entry_number, SUM(line_count) AS line_count, "
                "SUM(duty_cents) AS duty_cents, SUM(goods_cents) AS goods_cents, SUM(ieepa_cents) AS ieepa_cents, "
                "SUM(s122_cents) AS s122_cents, SUM(hash_a) AS hash_a, SUM(hash_b) AS hash_b, "
                "MIN(key_id) AS key_id, MAX(key_id) AS last_key_id, MIN(first_row) AS first_row "
                "FROM stage_keys GROUP BY entry_number"
            )
            cursor.execute(
                "CREATE TEMPORARY TABLE stage_split AS SELECT entry_number FROM stage_keys WHERE entry_number IN "
                "(SELECT entry_number FROM stage_entries WHERE key_id <> last_key_id) "
                "GROUP BY entry_number HAVING COUNT(DISTINCT entry_key) > 1"
            )
            # The entry-level fields of its first segment (they agree, or the entry is rejected).
            source = (
                f"(SELECT s.entry_number, {', '.join(f'k.{name}' for name in _ENTRY_FIELDS)}, "
                f"{', '.join(f's.{name}' for name in _ENTRY_SUMS)}, s.key_id, s.first_row "
                "FROM stage_entries s JOIN stage_keys k ON k.key_id = s.key_id)"
            )
        else:
            cursor.execute(
                "CREATE TEMPORARY TABLE stage_split AS SELECT entry_number FROM stage_keys WHERE 1 = 0"
            )
            source = "stage_keys"
        # Entries with a bad row, or whose rows disagree on entry-level fields, are rejected whole.
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_bad AS "
            "SELECT DISTINCT entry_number FROM stage_errors WHERE entry_number IN (SELECT entry_number FROM stage_keys) "
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
        # The sequence is looked up once: pg_get_serial_sequence() in the statement ran for every new
        # entry (0.5 s of 200,000, measured), as it is not folded into a constant.
        new_id = "NULL"
        if stage.postgres:
            cursor.execute(
                "SELECT CAST(CAST(pg_get_serial_sequence(%s, 'id') AS regclass) AS oid)", [entry_table]
            )
            new_id = f"nextval(CAST({int(cursor.fetchone()[0])} AS regclass))"
        fewer = "" if report.replaces_entries else "WHEN e.line_count > s.line_count THEN 'fewer' "
        # The entry-level fields come along, so that the entries to classify leave the database in one
        # scan of this table (store._AGGREGATES_SQL), with no join back to stage_keys.
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_target AS SELECT s.entry_number, "
            f"{', '.join(f's.{name}' for name in (*_ENTRY_FIELDS, *_ENTRY_SUMS))}, s.key_id, s.first_row, "
            f"CASE WHEN e.id IS NULL THEN {new_id} ELSE e.id END AS entry_id, "
            "CASE WHEN e.id IS NULL THEN 'new' WHEN e.content_hash_a = s.hash_a AND e.content_hash_b = s.hash_b "
            f"THEN 'same' {fewer}ELSE 'changed' END AS state "
            f"FROM {source} s LEFT JOIN {entry_table} e ON e.client_id = %s AND e.entry_number = s.entry_number "
            "WHERE s.entry_number NOT IN (SELECT entry_number FROM stage_bad) ORDER BY s.first_row",
            [client.pk],
        )
        if stage.postgres:
            # Its size, for the lines' join: guessed from a filter on state, the planner hashed the
            # million staged rows instead of stage_target's entries.
            cursor.execute("ANALYZE stage_target")
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
                by_segment=not spans,
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
_ENTRY_FIELDS = tuple(_ENTRY_FIELD_LABELS)


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
