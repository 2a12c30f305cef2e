"""What an uploaded report is, by its content (never its name), decided while the upload is received.

The parser decides the same way when the import runs; checking here too means an image, a web page, an
archive that is not a workbook, a zip bomb or a workbook carrying XML entity declarations is refused at
once, with the reason, and its bytes are never kept. The checks read a bounded amount: the first 64 KB,
and for a ZIP its central directory and the first 64 KB of each part (domain.xlsx.check_archive).
"""

import re
from typing import IO

from domain import xlsx
from domain.es003 import parsing

# Signatures of files people pick by mistake (or on purpose). The ZIP signature is handled apart: an
# .xlsx is a ZIP.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program"),
)
_MARKUP = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<(?:!doctype|html|head|body|table|script|svg|\?xml|!--)", re.I)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_WHAT_TO_DO = "Export the ES-003 report from ACE Reports as CSV or Excel (.xlsx) and upload that file."


def refusal(fileobj: IO[bytes]) -> str | None:
    """Why this file cannot be an ES-003 report, or None when the import may try it. Leaves it at 0."""
    fileobj.seek(0)
    head = fileobj.read(parsing.SNIFF_BYTES)
    fileobj.seek(0)
    try:
        if head.startswith(_ZIP):
            xlsx.check_archive(fileobj)
            return None
        for magic, what in _SIGNATURES:
            if head.startswith(magic):
                return f"This file is {what}, not a CSV or Excel (.xlsx) report. {_WHAT_TO_DO}"
        for magic, message in parsing.KNOWN_BINARY:  # the parser's own words for PDFs and old .xls
            if head.startswith(magic):
                return message
        if _MARKUP.match(head):
            return (
                f"This file is a web page or XML document, not a CSV or Excel (.xlsx) report. {_WHAT_TO_DO}"
            )
        parsing.sniff_es003_encoding(head)  # the parser's text test: binary data is refused
    except xlsx.WorkbookRejected as exc:
        return str(exc)
    except parsing.FileRejected as exc:
        return str(exc)
    finally:
        fileobj.seek(0)
    return None


def report_refused(*, actor, client, name: str, sha256: str, size: int, reason: str):
    """A refused upload is still listed, as a failed report with the reason; its bytes are not kept."""
    from django.db import transaction

    from clients import audit
    from clients.jobs import job_fail

    from ..models import EntryReport

    with transaction.atomic():
        report = EntryReport.objects.create(
            client=client, created_by=actor, original_name=name[:255], sha256=sha256, size_bytes=size
        )
        job_fail(report, message=f"The whole file was rejected; nothing was imported. {reason}")
        audit.record(
            client=client,
            actor=actor,
            action="entries.report_refused",
            subject=report,
            data={"file": name, "sha256": sha256, "bytes": size, "reason": reason},
        )
    return report
