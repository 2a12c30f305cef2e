"""Shared helpers for the entries tests: the sample reports and importing them like the upload page does."""

from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from entries.services import report_import, report_upload
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
