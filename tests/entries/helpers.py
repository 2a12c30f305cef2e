"""Shared helpers for the entries tests: the sample reports and importing them like the upload page does."""

import io
import random
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from domain.entry_numbers import check_digit
from entries.ingestion.services import report_import, report_upload
from entries.models import Entry, EntryLine, RowRejection
from tests.fixtures import SAMPLES

AS_OF = date(2026, 11, 23)
SAMPLE_IORS = {
    "es003_basic.csv": ["19-528224900", "34-370224800"],
    "es003_messy.csv": ["20-188691700", "75-314831000"],
    "es003_basic.xlsx": ["15-477794100", "84-141480700"],
    "es003_ace_names.csv": ["30-361439900", "83-899316500"],
}
EXPECTED = {
    "es003_basic.csv": "es003_basic.expected.csv",
    "es003_messy.csv": "es003_messy.expected.csv",
    "es003_basic.xlsx": "es003_basic_xlsx.expected.csv",
    "es003_ace_names.csv": "es003_ace_names.expected.csv",
}
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


def keep(
    client, name: str, content: bytes | None = None, *, reprocess: bool = False, filename: str | None = None
):
    """The report uploaded as the page does (file kept, job row created), not imported: (report, created)."""
    data = content if content is not None else (SAMPLES / name).read_bytes()
    with scope(client=client):
        return report_upload(
            actor=None,
            client=client,
            uploaded=SimpleUploadedFile(filename or name, data),
            reprocess=reprocess,
            enqueue=False,
        )


def upload(
    client, name: str, content: bytes | None = None, *, reprocess: bool = False, filename: str | None = None
):
    """The report uploaded and imported, as the page and its task do: (report, created)."""
    report, created = keep(client, name, content, reprocess=reprocess, filename=filename)
    with scope(client=client):
        if created:
            report_import(report=report, as_of=AS_OF)
        report.refresh_from_db()
    return report, created


SPLIT_IORS = ("27-418305200", "61-907734100")


ES003_HEADER = (
    "Entry Summary Number,Entry Type Code,Importer Number,Port of Entry Code,Entry Date,Entry Summary Date,"
    "Entry Summary Line Number,Tariff Ordinal Number,HTS Number - Full,Line Tariff Goods Value Amount,"
    "Line Tariff Duty Amount,Country of Origin Code,Liquidation Status,Liquidation Date,Notes"
)


def _split_entry_number(index: int) -> str:
    first_ten = f"EJ4{index * 7919 % 10**7:07d}"
    return f"{first_ten}{check_digit(first_ten)}"


def es003_rows(entries: int, *, seed: int = 5) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(entries):
        number = _split_entry_number(i + 1)
        entry_date = f"{(i % 12) + 1:02d}/{(i % 27) + 1:02d}/2025"
        status, liquidated = rng.choice(
            [("Open", ""), ("", ""), ("Liquidated", "10/15/2026"), ("Final", "03/02/2026")]
        )
        facts = [
            number,
            rng.choice(["01", "1", "03", "11"]),
            SPLIT_IORS[i % 2],
            "2704",
            entry_date,
            entry_date,
        ]
        for ordinal, (hts, duty) in enumerate(
            [
                ("8471.30.0100", "0"),
                ("9903.01.24", f"{rng.randint(1, 90000)}.{rng.randint(0, 99):02d}"),
                ("9903.88.15", '"$1,250.00"'),
            ],
            start=1,
        ):
            rows.append([*facts, "1", str(ordinal), hts, "12000.00", duty, "CN", status, liquidated, ""])
    return rows


def es003_csv(rows, *, newline="\n", bom=False, title=False) -> bytes:
    lines = ["ACE Reports - ES-003 Entry Summary Line Tariff Details", "Run 11/20/2026", ""] if title else []
    lines += [ES003_HEADER, *(",".join(row) for row in rows)]
    return ("\ufeff" if bom else "").encode() + (newline.join(lines) + newline).encode()


def shuffled(rows, seed=11):
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


def with_errors(rows):
    """Trouble on both sides of the cut, and entries whose rows are on both sides."""
    rows = shuffled(rows)
    n = len(rows)
    rows[n // 10][0] = rows[n // 10][0][:-1] + str((int(rows[n // 10][0][-1]) + 1) % 10)  # check digit
    rows[n // 3][4] = "02/30/2025"  # not a date
    rows[n * 2 // 3][2] = "99-999999900"  # another importer's row
    rows[n * 3 // 4][10] = "3.5E+04"  # not an amount
    rows[n - 5][1] = "09" if rows[n - 5][1] != "09" else "01"  # disagrees with its entry's other rows
    rows[n - 2][13] = "not a date"
    return rows


def import_outcome(client, report) -> dict:
    """Everything a user can see of an import: the report's figures and messages, entries, lines, rejections."""
    with scope(client=client):
        entries = {}
        for entry in Entry.objects.values():
            for own in ("id", "last_report_id", "updated_at"):  # this import's own, not the content
                del entry[own]
            entries[entry["entry_number"]] = entry
        numbers = dict(Entry.objects.values_list("id", "entry_number"))
        lines = []
        for line in EntryLine.objects.values():
            del line["id"]
            line["entry_id"] = numbers[line["entry_id"]]
            lines.append(tuple(sorted(line.items())))
        lines.sort()
        rejected = sorted(
            RowRejection.objects.filter(report=report).values_list(
                "row_number", "entry_number", "column", "reason"
            )
        )
    return {
        "report": (
            report.status,
            report.message,
            report.rows_read,
            report.rows_rejected,
            report.entries_created,
            report.entries_updated,
            report.entries_unchanged,
            report.entries_rejected,
            report.warnings,
        ),
        "entries": entries,
        "lines": lines,
        "rejected": rejected,
    }


def es003_report_of_entries(rows: int, importer: str, bad_entry: bool = True) -> bytes:
    """A realistic ES-003 CSV: entries of 5 rows, one with a wrong check digit."""
    header = (SAMPLES / "es003_basic.csv").read_text().splitlines()[0]
    out = io.StringIO()
    out.write(header + "\n")
    start = date(2025, 4, 1)
    for i in range(rows // 5):
        first = f"ZZ{i % 10}{i:07d}"
        number = first + str(check_digit(first))
        if bad_entry and i == 7:
            number = first + str((check_digit(first) + 1) % 10)
        entry_date = start + timedelta(days=i % 300)
        liq = entry_date + timedelta(days=314)
        status, liq_text = (
            ("Liquidated", liq.strftime("%m/%d/%Y")) if liq < date(2026, 11, 20) else ("Open", "")
        )
        common = (
            f"{number},01,{importer},2704,{entry_date:%m/%d/%Y},{entry_date + timedelta(days=7):%m/%d/%Y}"
        )
        for line in range(1, 4):
            out.write(f"{common},{line},1,8471.30.0100,1000.00,25.00,CN,{status},{liq_text},N,N,N\n")
        out.write(f"{common},1,2,9903.01.25,0.00,100.00,CN,{status},{liq_text},N,N,N\n")
        out.write(f"{common},2,2,9903.88.15,0.00,250.00,CN,{status},{liq_text},N,N,N\n")
    return out.getvalue().encode()
