"""export_entries: the samples imported and exported equal their expected files in the first eight columns."""

import csv

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scope

from entries.models import Entry
from tests.entries.helpers import EXPECTED, SAMPLES, upload


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_export_equals_expected_file_byte_for_byte(importer, sample, tmp_path):
    upload(importer, sample)
    out = tmp_path / "out.csv"
    call_command("export_entries", "--client", "importer", "--as-of", "2026-11-23", "--output", str(out))
    exported = [",".join(line.split(",")[:8]) for line in out.read_text().splitlines()]
    expected = (SAMPLES / EXPECTED[sample]).read_text().splitlines()
    assert exported == expected


def test_export_classifies_as_of_the_date_without_storing(importer, tmp_path):
    upload(importer, "es003_basic.csv")
    with scope(client=importer):
        before = list(
            Entry.objects.order_by("pk").values_list("refund_path", "next_deadline", "classified_as_of")
        )
    out = tmp_path / "later.csv"
    call_command("export_entries", "--client", "importer", "--as-of", "2027-12-31", "--output", str(out))
    rows = list(csv.DictReader(out.open()))
    assert {r["refund_path"] for r in rows} <= {
        "finally_liquidated",
        "not_affected",
        "excluded",
        "section_122",
        "protest",
        "cape_phase1",
        "cape_phase2",
        "needs_data",
    }
    assert "cape_phase1" not in {r["refund_path"] for r in rows if r["liquidation_status"] == "liquidated"}
    with scope(client=importer):
        assert (
            list(Entry.objects.order_by("pk").values_list("refund_path", "next_deadline", "classified_as_of"))
            == before
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client", "nobody"], "No client"),
        (["--client", "importer", "--as-of", "23/11/2026"], "YYYY-MM-DD"),
    ],
)
def test_export_rejects_bad_arguments(importer, tmp_path, args, message):
    base = {"--as-of": "2026-11-23", "--output": str(tmp_path / "x.csv")}
    argv = list(args)
    for flag, value in base.items():
        if flag not in argv:
            argv += [flag, value]
    with pytest.raises(CommandError, match=message):
        call_command("export_entries", *argv)
