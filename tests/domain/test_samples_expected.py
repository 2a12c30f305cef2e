import csv
from datetime import date

import pytest

from domain.classification import Classification, classify, entry_input_from_facts
from domain.es003.grouping import group_entries
from domain.es003.parsing import open_report
from tests.fixtures import SAMPLES

AS_OF = date(2026, 11, 23)
COLUMNS = [
    "entry_number",
    "refund_path",
    "exclusion_reason",
    "ieepa_duty",
    "section_122_duty",
    "projected_liquidation",
    "cape_window_closes",
    "protest_deadline",
]


def _row(entry_number: str, result: Classification) -> list[str]:
    def day(value: date | None) -> str:
        return value.isoformat() if value else ""

    return [
        entry_number,
        str(result.refund_path),
        str(result.exclusion_reason),
        f"{result.ieepa_duty:.2f}",
        f"{result.section_122_duty:.2f}",
        day(result.projected_liquidation),
        day(result.cape_window_closes),
        day(result.protest_deadline),
    ]


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        ("es003_basic.csv", "es003_basic.expected.csv"),
        ("es003_basic.xlsx", "es003_basic_xlsx.expected.csv"),
        ("es003_messy.csv", "es003_messy.expected.csv"),
        ("es003_ace_names.csv", "es003_ace_names.expected.csv"),
    ],
)
def test_classify_sample_reproduces_expected_export(report, expected):
    with open_report(SAMPLES / report) as opened:
        facts, errors = group_entries(opened.rows(), liquidation_known=opened.has_liquidation_columns)
    assert errors == []
    got = sorted(_row(f.entry_number, classify(entry_input_from_facts(f), as_of=AS_OF)) for f in facts)
    with open(SAMPLES / expected, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert next(reader) == COLUMNS
        want = sorted(reader)
    assert len(got) == len(want)
    for got_row, want_row in zip(got, want, strict=True):
        assert got_row == want_row
