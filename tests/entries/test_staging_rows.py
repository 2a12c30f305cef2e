"""The staging loop's per-row shortcuts give what parsing every row in full gives.

The row parser reuses the entry-level values of the row before when its entry-level cells are the same
text, and staging looks a row's Chapter 99 program up by HTS number alone when no rule covers the
number: a dated rule must still give each entry the program of its own date.
"""

from contextlib import contextmanager
from datetime import date

from domain.chapter99 import Chapter99Rule, Registry
from domain.entry_numbers import check_digit
from domain.es003 import parsing
from entries.ingestion import staging
from tests.entries.helpers import ES003_HEADER

IOR = "27-418305200"


def _number(serial: int) -> str:
    first_ten = f"EJ4{serial:07d}"
    return f"{first_ten}{check_digit(first_ten)}"


A, B, C = _number(1), _number(2), _number(3)


class _ListSink:
    def __init__(self):
        self.tables: dict[str, list[tuple]] = {}

    @contextmanager
    def writer(self, table, columns):
        yield self.tables.setdefault(table, []).append

    def write(self, table, columns, rows):
        self.tables.setdefault(table, []).extend(rows)


def _stage(tmp_path, rows, registry):
    path = tmp_path / "report.csv"
    path.write_text("\n".join([ES003_HEADER, *(",".join(r) for r in rows)]) + "\n")
    sink, counts = _ListSink(), staging.Staged()
    with parsing.open_report(str(path), filename="report.csv") as source:
        staging.stage_rows(source, sink, counts, {IOR}, registry, lambda *args: None)
    return sink.tables, counts


def _row(number, entry_date, hts, duty, ordinal="1", status="Open"):
    return [
        number,
        "01",
        IOR,
        "2704",
        entry_date,
        entry_date,
        "1",
        ordinal,
        hts,
        "100.00",
        duty,
        "CN",
        status,
        "",
        "",
    ]


def test_a_dated_rule_gives_each_entry_the_program_of_its_own_date(tmp_path):
    registry = Registry(
        version="t",
        rules=(
            Chapter99Rule(
                program="ieepa",
                start="99030100",
                end="99030199",
                carries_duty=True,
                effective_from=date(2025, 2, 4),
                effective_to=date(2026, 2, 23),
                source="test",
            ),
        ),
    )
    rows = [
        # the same Chapter 99 number on entries dated inside, outside and again inside the rule
        _row(A, "03/02/2025", "9903.01.24", "10.00"),
        _row(A, "03/02/2025", "8471.30.0100", "1.00", ordinal="2"),
        _row(B, "03/02/2026", "9903.01.24", "20.00"),
        _row(B, "03/02/2026", "8471.30.0100", "2.00", ordinal="2"),
        _row(C, "01/05/2026", "9903.01.24", "30.00"),
    ]
    tables, counts = _stage(tmp_path, rows, registry)
    assert counts.rows_read == 5 and not tables.get("stage_errors")
    programs = [(r[1], r[5], r[9]) for r in tables["stage_rows"]]
    assert programs == [
        (A, "99030124", "ieepa"),
        (A, "8471300100", ""),
        (B, "99030124", ""),
        (B, "8471300100", ""),
        (C, "99030124", "ieepa"),
    ]
    ieepa_cents = {k[1]: k[-4] for k in tables["stage_keys"]}
    assert ieepa_cents == {A: 1000, B: 0, C: 3000}


def test_rows_after_a_bad_row_of_another_entry_read_their_own_values(tmp_path):
    rows = [
        _row(A, "03/02/2025", "9903.01.24", "10.00"),
        _row(B, "02/30/2025", "9903.01.24", "20.00"),  # not a date: rejected
        _row(A, "03/02/2025", "9903.01.24", "11.00", ordinal="2"),  # same cells as row 2
        _row(C, "13/45/2025", "9903.01.24", "30.00"),  # not a date: rejected
        _row(C, "01/05/2025", "9903.01.24", "31.00"),
    ]
    tables, counts = _stage(tmp_path, rows, Registry(version="t", rules=()))
    assert [e[0] for e in tables["stage_errors"]] == [3, 5]
    staged = [(r[0], r[1], r[7]) for r in tables["stage_rows"]]
    assert staged == [(2, A, 1000), (4, A, 1100), (6, C, 3100)]
    # a rejected row starts no segment: rows 2 and 4 are one segment of two lines
    assert [(k[1], k[13], k[14]) for k in tables["stage_keys"]] == [(A, 2, 2), (C, 6, 1)]
