"""A large CSV is staged in two halves at once (entries.ingestion.staging): the result must be the one-pass result.

The cut (parsing.split_point) is table-tested on bytes; the import is then run both ways on the same
files, built to put every kind of trouble on either side of the cut, and every stored entry, line,
rejected row and report figure must be equal. Imports in two halves need PostgreSQL.
"""

import pytest
from django_scopes import scope

from domain.es003.parsing import split_point
from entries.ingestion import importer as ingestion
from entries.ingestion import staging
from entries.models import Entry, EntryLine, EntryReport
from tests.entries.helpers import (
    SPLIT_IORS,
    es003_csv,
    es003_rows,
    import_outcome,
    shuffled,
    upload,
    with_errors,
)
from tests.factories import ClientFactory, importer_number

# ---- the cut ------------------------------------------------------------------------------------


def _cut(tmp_path, data: bytes, after_row: int = 1, encoding: str = "utf-8"):
    path = tmp_path / "report.csv"
    path.write_bytes(data)
    return split_point(path, encoding=encoding, after_row=after_row)


@pytest.mark.parametrize(
    "data, expected",
    [
        # ten lines of 11 bytes: the middle is byte 55, the first line feed from there ends row 6
        (b"".join(b"row %04d,x\n" % i for i in range(10)), (66, 7)),
        # CR LF endings count one break each
        (b"".join(b"row %03d,x\r\n" % i for i in range(10)), (66, 7)),
        # a quoted cell with line breaks across the middle: the cut goes after the row that closes it
        (b'h,h\n"a\nb\nc\nd\ne\nf\ng\nh",1\nlast,2\nlast,3\n', (24, 10)),
        # quote marks doubled inside a quoted cell do not end it
        (b'h,h\na,"x""y"\nb,1\nc,2\nd,3\ne,4\nf,5\n', (17, 4)),
    ],
)
def test_the_cut_is_at_a_row_start_after_the_middle_with_its_row_number(tmp_path, data, expected):
    offset, row = _cut(tmp_path, data)
    assert (offset, row) == expected
    assert data[offset - 1 : offset] == b"\n"
    # The row number is the number of line breaks before the cut, plus one.
    assert row == data[:offset].replace(b"\r\n", b"\n").count(b"\n") + 1


def test_a_crlf_across_two_read_blocks_is_one_break(tmp_path, monkeypatch):
    from domain.es003 import parsing

    data = b"".join(b"row %03d,x\r\n" % i for i in range(40))
    whole = _cut(tmp_path, data)
    monkeypatch.setattr(parsing, "_SPLIT_BLOCK", 10)  # the first CR LF now straddles two blocks
    assert _cut(tmp_path, data) == whole


@pytest.mark.parametrize(
    "data, after_row, encoding",
    [
        (b"h,h\na,1\n", 1, "utf-8"),  # the only break after the middle ends the file
        (b"".join(b"row %04d,x\n" % i for i in range(10)), 6, "utf-8"),  # no data row before the cut
        (b"".join(b"row %04d,x\n" % i for i in range(10)), 1, "utf-16"),  # bytes are not characters
        (b'h,h\na,"never closed\nb,1\nc,2\nd,3\n', 1, "utf-8"),  # every break after it is inside quotes
    ],
)
def test_no_cut_where_none_is_safe(tmp_path, data, after_row, encoding):
    assert _cut(tmp_path, data, after_row, encoding) is None


# ---- the import in two halves equals the import in one pass -------------------------------------


def _quoted_break_before_the_cut(rows):
    rows = [list(row) for row in rows]
    rows[len(rows) // 5][14] = '"a note typed with\nAlt+Enter"'
    return rows


def _cut_off(data: bytes) -> bytes:
    return data[: data.rstrip(b"\n").rfind(b",") - 3]


def _unclosed_quote_after_the_cut(rows):
    rows = [list(row) for row in rows]
    rows[len(rows) * 4 // 5][14] = '"this note never ends'
    return rows


CASES = {
    "in entry order": lambda rows: es003_csv(rows),
    "shuffled, entries across the cut": lambda rows: es003_csv(shuffled(rows)),
    "errors on both sides": lambda rows: es003_csv(with_errors(rows)),
    "CR LF, byte-order mark, title lines": lambda rows: es003_csv(
        shuffled(rows), newline="\r\n", bom=True, title=True
    ),
    "a quoted line break before the cut": lambda rows: es003_csv(_quoted_break_before_the_cut(rows)),
    "cut off mid-row": lambda rows: _cut_off(es003_csv(rows)),
    "a quote never closed after the cut": lambda rows: es003_csv(_unclosed_quote_after_the_cut(rows)),
}
# Where the second half's row numbers cannot be proved right, the import stages the file in one pass.
ONE_PASS = {"a quoted line break before the cut"}


@pytest.mark.parametrize("case", CASES)
def test_two_halves_store_exactly_what_one_pass_stores(postgres, db, monkeypatch, case):
    client = ClientFactory()
    for number in SPLIT_IORS:
        importer_number(client, number)
    data = CASES[case](es003_rows(400))
    halves = []
    original = staging.SecondHalf.outcome

    def spied(self):
        halves.append(self)
        return original(self)

    monkeypatch.setattr(staging.SecondHalf, "outcome", spied)

    monkeypatch.setattr(ingestion, "SPLIT_MIN_BYTES", 10**12)
    one_pass_report, _ = upload(client, "", data, filename="report.csv")
    one_pass = import_outcome(client, one_pass_report)
    assert not halves
    with scope(client=client):
        Entry.objects.all().delete()  # with their lines, so that the second import starts from the same place

    monkeypatch.setattr(ingestion, "SPLIT_MIN_BYTES", 0)
    split_report, _ = upload(client, "", data, filename="report.csv", reprocess=True)
    split = import_outcome(client, split_report)

    assert len(halves) == (0 if case in ONE_PASS else 1)
    assert split == one_pass
    if one_pass_report.status == EntryReport.Status.SUCCEEDED:
        assert one_pass["entries"] and one_pass["lines"]
    if case == "errors on both sides":
        rows = {row for row, *_ in one_pass["rejected"]}
        assert min(rows) < len(data.splitlines()) // 2 < max(rows)


def test_the_second_half_process_leaves_no_files(postgres, db, monkeypatch, tmp_path):
    monkeypatch.setattr(ingestion, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    client = ClientFactory()
    for number in SPLIT_IORS:
        importer_number(client, number)
    report, _ = upload(client, "", es003_csv(es003_rows(200)), filename="report.csv")
    assert report.status == EntryReport.Status.SUCCEEDED and report.entries_created == 200
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("es003-second-half-")]


def test_a_failing_second_half_falls_back_to_one_pass(postgres, db, monkeypatch):
    monkeypatch.setattr(ingestion, "SPLIT_MIN_BYTES", 0)

    def broken(self):
        raise staging.HalfFailed("the second-half process exited with 1: boom")

    monkeypatch.setattr(staging.SecondHalf, "outcome", broken)
    client = ClientFactory()
    for number in SPLIT_IORS:
        importer_number(client, number)
    report, _ = upload(client, "", es003_csv(shuffled(es003_rows(200))), filename="report.csv")
    assert report.status == EntryReport.Status.SUCCEEDED
    assert report.entries_created == 200 and report.rows_read == 600
    with scope(client=client):
        assert EntryLine.objects.count() == 600
