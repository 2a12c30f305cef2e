"""Fast set-based writes: PostgreSQL COPY where available, plain executemany elsewhere (SQLite)."""

from collections.abc import Iterable, Sequence

from django.db import connection


def write_rows(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Append rows to a table (real or temporary) on the current connection."""
    rows = list(rows)
    if not rows:
        return
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor() as raw, raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("%s" for _ in columns)
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def update_from_rows(
    table: str,
    *,
    key: str,
    columns: Sequence[str],
    rows: Sequence[tuple],
    where: str = "",
    params: Sequence = (),
) -> None:
    """UPDATE table SET columns FROM rows (key first in each row), through a temporary table.

    Many rows change at once in a daily re-classification; one UPDATE ... FROM beats one statement per row.
    `where` narrows the target (e.g. to one client) so a key can never touch another tenant's rows.
    """
    if not rows:
        return
    temp = f"tmp_update_{table}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} AS SELECT {key}, {', '.join(columns)} FROM {table} WHERE 1 = 0"
        )
        write_rows(temp, (key, *columns), rows)
        assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        condition = f"{table}.{key} = s.{key}" + (f" AND {where}" if where else "")
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {temp} s WHERE {condition}", list(params))
        cursor.execute(f"DROP TABLE {temp}")


def asynchronous_commit() -> None:
    """This transaction's commit does not wait for the disk (PostgreSQL's synchronous_commit, LOCAL).

    For idempotent batch jobs that commit once per client: a server crash may lose the last few commits
    (whole transactions, never part of one) and the next run redoes them. Call inside the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
