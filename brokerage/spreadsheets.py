"""Cells for human-facing CSV/XLSX exports, and the one streamed CSV download.

A spreadsheet program runs a cell that starts with =, +, -, @ (or a tab/CR that hides one) as a formula;
text from uploads or users is prefixed with an apostrophe so it shows as text. Machine-read files (the
CAPE declaration) never go through this.
"""

import csv
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain signed amount ("-5.00") is a number to a spreadsheet, never a formula: left as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    if isinstance(value, (dict, list)):
        return safe_cell(str(value))
    if isinstance(value, Decimal):
        return value
    return value


class _Echo:
    """A file whose write returns the line: csv.writer then yields each row's text instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_download(*, header: Sequence[str], rows: Iterable[Sequence], filename: str) -> StreamingHttpResponse:
    """A CSV attachment streamed row by row, so memory stays flat however many rows there are.

    The rows are written as given: a file for people's spreadsheets passes its cells through safe_cell.
    """
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
