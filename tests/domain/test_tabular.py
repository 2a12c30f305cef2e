"""The one tabular reader core (domain.tabular) that the ES-003 and CBP report readers share (pure, no DB)."""

import codecs
import io

import pytest

from domain.cbp_reports import Row, open_cbp_report
from domain.entry_numbers import check_digit
from domain.es003.grouping import group_entries
from domain.es003.parsing import ACE_HEADER, FileRejected, open_report
from domain.tabular import Memo, header_key, sniff_encoding

N1 = "ABC0000001" + str(check_digit("ABC0000001"))
# One accented cell, so that a wrong guess between UTF-8, UTF-16, UTF-32 and Windows-1252 shows.
ES003 = (
    ",".join([ACE_HEADER["entry_number"], ACE_HEADER["entry_date"], ACE_HEADER["duty"], "Comment"])
    + f"\r\n{N1},06/02/2025,1000.00,Café crème\r\n"
)
CBP_RESULTS = f"Entry Number,Status,Rejection Reason\r\n{N1},Rejected,Importer café closed\r\n"

# (how the text is written to bytes, what the sniffer must say)
ENCODINGS = [
    (lambda text: text.encode("utf-8"), "utf-8"),
    (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), "utf-8-sig"),
    (lambda text: text.encode("utf-16"), "utf-16"),  # with a byte-order mark
    (lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "utf-16"),
    (lambda text: text.encode("utf-16-le"), "utf-16-le"),  # no mark: zeros beside ASCII
    (lambda text: text.encode("utf-16-be"), "utf-16-be"),
    (lambda text: text.encode("utf-32"), "utf-32"),
    (lambda text: codecs.BOM_UTF32_BE + text.encode("utf-32-be"), "utf-32"),
    (lambda text: text.encode("cp1252"), "cp1252"),  # Excel on Windows
]
IDS = [
    "utf-8",
    "utf-8-bom",
    "utf-16-bom",
    "utf-16-be-bom",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-be",
    "cp1252",
]


@pytest.mark.parametrize(("encode", "expected"), ENCODINGS, ids=IDS)
def test_sniff_encoding_names_each_encoding(encode, expected):
    assert sniff_encoding(encode(ES003), not_readable="binary") == expected


@pytest.mark.parametrize(("encode", "expected"), ENCODINGS, ids=IDS)
def test_es003_reader_reads_each_encoding(encode, expected):
    with open_report(io.BytesIO(encode(ES003))) as report:
        entries, errors = group_entries(report.rows(), liquidation_known=False)

    assert report.encoding == expected
    assert errors == []
    assert [(e.entry_number, e.lines[0].duty) for e in entries] == [(N1, 1000)]


@pytest.mark.parametrize(("encode", "expected"), ENCODINGS, ids=IDS)
def test_cbp_reader_reads_each_encoding(encode, expected):
    """The CBP reader had its own sniffer, which read neither UTF-32 nor UTF-16 without a mark."""
    with open_cbp_report(io.BytesIO(encode(CBP_RESULTS)), kind="results") as reader:
        rows = list(reader.rows())

    assert rows == [Row(2, N1, result="rejected", reason="Importer café closed")]


@pytest.mark.parametrize(
    "head",
    [
        b"\x00\x01\x02\x03" * 100,  # zeros on both sides: not UTF-16
        bytes(range(1, 32)) * 20,  # control characters
    ],
)
def test_sniff_encoding_refuses_binary_with_the_callers_message(head):
    with pytest.raises(FileRejected, match="^not a report$"):
        sniff_encoding(head, not_readable="not a report")


def test_both_readers_refuse_binary_data_with_their_own_words():
    data = b"\x00\x01\x02\x03" * 100
    with pytest.raises(FileRejected, match="ES-003 report from ACE"):
        open_report(io.BytesIO(data))
    with pytest.raises(FileRejected, match="not a CSV or Excel"):
        open_cbp_report(io.BytesIO(data), kind="results")


@pytest.mark.parametrize(
    ("text", "key"),
    [("  HTS  NUMBER - FULL ", "htsnumberfull"), ("Entry_No.", "entryno"), ("", "")],
)
def test_header_key_ignores_case_spacing_and_punctuation(text, key):
    assert header_key(text) == key


def test_memo_remembers_values_but_not_failures():
    calls = []

    def parse(text):
        calls.append(text)
        if text == "bad":
            raise ValueError(text)
        return text.upper()

    memo = Memo(parse)
    assert [memo["a"], memo["a"], memo["b"]] == ["A", "A", "B"]
    for _ in range(2):
        with pytest.raises(ValueError):
            memo["bad"]
    assert calls == ["a", "b", "bad", "bad"]


def test_memo_stops_growing_at_its_limit():
    memo = Memo(str.upper)
    for n in range(Memo.LIMIT + 10):
        assert memo[str(n)] == str(n)
    assert len(memo) == Memo.LIMIT
