"""A protest's outputs: the Form 19-style PDF (rendered by a Celery task into a ProtestDocument row) and the
CSV of its entries in the order the ACE Protest module asks for them (docs/PROTESTS.md)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfReader

from clients import audit
from clients.jobs import job_fail, job_start, job_succeed
from clients.letters.services import letter_pdf
from clients.models import User

from .models import Protest, ProtestDocument, ProtestEntry

# ACE's Protest module takes the entries of a protest as entry number, entry date and liquidation date (19 CFR
# 174.13(a)(3)-(4)); the CSV gives them in that order, dates as MM/DD/YYYY like ACE's own screens and reports.
CSV_HEADER = ("Entry Number", "Entry Date", "Liquidation Date")
CSV_FIELDS = ("entry_number", "entry_date", "liquidation_date")


def _us_date(day) -> str:
    return f"{day:%m/%d/%Y}" if day else ""


def entries_csv(rows: Iterable[tuple]) -> bytes:
    """(entry number, entry date, liquidation date) rows as CSV: header, CRLF, no byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for number, entry_date, liquidation_date in rows:
        writer.writerow((number, _us_date(entry_date), _us_date(liquidation_date)))
    return out.getvalue().encode("ascii")


def _name(protest: Protest) -> str:
    ident = protest.protest_number or f"draft_{protest.as_of:%Y%m%d}"
    name = (
        f"protest_{protest.client.slug}_{protest.port}_{protest.importer_number}_{protest.category}_{ident}"
    )
    return name.replace("/", "-")


def pdf_filename(protest: Protest) -> str:
    return _name(protest) + ".pdf"


def csv_filename(protest: Protest) -> str:
    return _name(protest) + "_entries.csv"


# The continuation sheets list the entries (174.13(a)(3)-(4): number, date of entry, date of liquidation) as
# fixed-width text, two entries to a line, in one preformatted block: WeasyPrint lays out a table of 1,700 rows in
# seconds, the same entries as text in a fraction of it (docs/PERFORMANCE.md, protests). Duty and deadlines are on
# the protest's page in the portal.
_COLUMN = f"{'No.':>5}  {'Entry number':<12}  {'Entry date':<10}  {'Liquidated':<10}"
_GUTTER = "      "
ENTRIES_HEADER = _COLUMN + _GUTTER + _COLUMN


def entries_text(lines) -> str:
    cells = [
        f"{n:>5}  {line.entry_number:<12}  {_us_date(line.entry_date):<10}  {_us_date(line.liquidation_date):<10}"
        for n, line in enumerate(lines, start=1)
    ]
    return "\n".join(_GUTTER.join(cells[i : i + 2]) for i in range(0, len(cells), 2))


def protest_html(*, protest: Protest, lines: list[ProtestEntry] | None = None) -> str:
    """The protest as a standalone HTML document (WeasyPrint prints it; one template for every output)."""
    if lines is None:
        lines = list(
            ProtestEntry.objects.filter(client=protest.client, protest=protest)
            .exclude(status=ProtestEntry.Status.RELEASED)
            .order_by("position", "id")
        )
    return render_to_string(
        "protests/form19.html",
        {
            "protest": protest,
            "lines": lines,
            "entries_text": entries_text(lines),
            "entries_header": ENTRIES_HEADER,
            "printed_on": timezone.localdate(),
            "brokerage_name": settings.BROKERAGE_NAME,
        },
    )


def protest_pdf_bytes(*, protest: Protest, lines: list[ProtestEntry] | None = None) -> bytes:
    return letter_pdf(protest_html(protest=protest, lines=lines))


def protest_document_request(*, actor: User, protest: Protest) -> ProtestDocument:
    """Create a job row for the protest's PDF and render it in the background."""
    from .tasks import render_protest_document

    with transaction.atomic():
        document = ProtestDocument.objects.create(client=protest.client, protest=protest, created_by=actor)
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.pdf_requested",
            subject=protest,
            data={"document": str(document.public_id)},
        )
        transaction.on_commit(lambda: render_protest_document.delay(document.pk))
    return document


def protest_document_build(*, document: ProtestDocument) -> ProtestDocument:
    """Render the PDF into its row (the task's one call). A redelivered task does not redo it."""
    if document.status == ProtestDocument.Status.SUCCEEDED and document.file:
        return document
    job_start(document, total=1)
    try:
        started = time.perf_counter()
        pdf = protest_pdf_bytes(protest=document.protest)
        document.render_ms = round(1000 * (time.perf_counter() - started))
        document.page_count = len(PdfReader(io.BytesIO(pdf)).pages)
        document.file.save(pdf_filename(document.protest), ContentFile(pdf), save=False)
        document.save(update_fields=["file", "render_ms", "page_count"])
    except Exception as exc:
        job_fail(document, message=f"The PDF could not be rendered: {exc}")
        raise
    job_succeed(document, message="Ready to download.")
    return document
