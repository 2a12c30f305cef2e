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
from django.utils.safestring import mark_safe
from pypdf import PdfReader

from brokerage.queueing import enqueue_on_commit
from clients import audit
from clients.jobs import job_fail, job_start, job_succeed
from clients.models import User

from . import continuation
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
# fixed-width text, two entries to a line, drawn by protests.continuation into the PDF WeasyPrint writes for the
# first sheet (WeasyPrint took 0.5 s of CPU to lay out 1,700 entries as text, over 5 s as a table:
# docs/PERFORMANCE.md, protests). Duty and deadlines are on the protest's page in the portal.
_COLUMN = f"{'No.':>5}  {'Entry number':<12}  {'Entry date':<10}  {'Liquidated':<10}"
_GUTTER = "      "
ENTRIES_HEADER = _COLUMN + _GUTTER + _COLUMN


def entries_lines(lines) -> list[str]:
    cells = [
        f"{n:>5}  {line.entry_number:<12}  {_us_date(line.entry_date):<10}  {_us_date(line.liquidation_date):<10}"
        for n, line in enumerate(lines, start=1)
    ]
    return [_GUTTER.join(cells[i : i + 2]) for i in range(0, len(cells), 2)]


def running_footer(protest: Protest) -> str:
    """The line at the foot of every sheet: who, which importer number and port, which protest."""
    text = f"{protest.protestant_name} · importer {protest.protestant_importer_number} · port {protest.port}"
    return text + (f" · protest {protest.protest_number}" if protest.protest_number else "")


def _css_string(text: str) -> str:
    """A CSS string literal of plain text, safe inside a <style> element."""
    text = " ".join(text.split())
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ").replace(">", "\\3E ")
    return mark_safe(f'"{escaped}"')  # noqa: S308 (escaped above)


def _lines(protest: Protest, lines: list[ProtestEntry] | None) -> list[ProtestEntry]:
    if lines is not None:
        return lines
    return list(
        ProtestEntry.objects.filter(client=protest.client, protest=protest)
        .exclude(status=ProtestEntry.Status.RELEASED)
        .order_by("position", "id")
    )


def protest_html(
    *, protest: Protest, lines: list[ProtestEntry] | None = None, total_pages: int | None = None
) -> str:
    """The protest's first sheet (the form's boxes) as a standalone HTML document, for WeasyPrint."""
    lines = _lines(protest, lines)
    if total_pages is None:
        total_pages = 1 + continuation.sheet_count(len(entries_lines(lines)))
    return render_to_string(
        "protests/form19.html",
        {
            "protest": protest,
            "lines": lines,
            "total_pages": total_pages,
            "runfoot": running_footer(protest),
            "runfoot_css": _css_string(running_footer(protest)),
            "printed_on": timezone.localdate(),
            "brokerage_name": settings.BROKERAGE_NAME,
        },
    )


def protest_pdf_bytes(*, protest: Protest, lines: list[ProtestEntry] | None = None) -> bytes:
    """The Form 19-style PDF: the first sheet by WeasyPrint, then the continuation sheets of the entries."""
    from weasyprint import HTML  # imported here: loading Pango costs time every web process would pay

    lines = _lines(protest, lines)
    listed = entries_lines(lines)
    sheets = continuation.sheet_count(len(listed))
    first = 1  # the first sheet's page count, which its own "page n of m" footer needs: almost always 1
    while True:
        document = HTML(
            string=protest_html(protest=protest, lines=lines, total_pages=first + sheets)
        ).render()
        if len(document.pages) == first:
            break
        first = len(document.pages)

    def finish(_document, pdf) -> None:
        continuation.add_sheets(
            pdf,
            lines=listed,
            header=ENTRIES_HEADER,
            footer=running_footer(protest),
            first_page=first + 1,
            total_pages=first + sheets,
        )

    return document.write_pdf(finisher=finish)


def protest_document_request(*, actor: User, protest: Protest) -> ProtestDocument:
    """Create a job row for the protest's PDF and render it in the background."""
    with transaction.atomic():
        document = ProtestDocument.objects.create(client=protest.client, protest=protest, created_by=actor)
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.pdf_requested",
            subject=protest,
            data={"document": str(document.public_id)},
        )
        enqueue_on_commit("protests.tasks.render_protest_document", document.pk)
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
