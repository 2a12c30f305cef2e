"""Reader for ACE ES-003 "Entry Summary Line Tariff Details" reports (CSV or XLSX), spec sections 2-3.

Pure (stdlib + openpyxl, no Django) and streaming: open_report() looks at the start of the file only,
Report.rows() yields one Line or RowError per data row. Messages are written for a customs clerk.
The caller decides what to import; grouping.group_entries() shows the rule: one bad row rejects its whole
entry. The package, along the reader's seams: values.py (one cell), columns.py (the header row), rows.py
(one row, the hot path), this module (files: format, encoding, CSV and XLSX, the split for two workers),
grouping.py (rows into entries); domain.tabular holds what the CBP report reader shares with it.

Why this module stays whole at ~530 lines: about 220 of them are one class, Report, whose state (the open
handle, the byte window, the header, the counters the import's progress reads) is shared by its CSV and
XLSX paths; splitting the file-format openers from it would pass that state across modules for no reader's gain.
"""

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from domain import xlsx
from domain.tabular import (
    HEADER_SEARCH_ROWS,
    SNIFF_BYTES,
    ZIP_MAGIC,
    FileRejected,
    InvalidValue,
    sniff_encoding,
)

from .columns import ACE_HEADER, FIELDS, _HeaderScan, _no_header_message, _resolve_columns, _scan_header
from .rows import Line, RowError, _entry_for_error, _explain, _is_blank, _row_parser

# The reader's surface: a caller reads a report with this module alone.
__all__ = [
    "ACE_HEADER",
    "FIELDS",
    "SNIFF_BYTES",
    "KNOWN_BINARY",
    "FileRejected",
    "Line",
    "Report",
    "RowError",
    "open_report",
    "sniff_es003_encoding",
    "split_point",
]

MAX_LINE_CHARS = 1024 * 1024

# A cell with line breaks (a note typed with Alt+Enter) spans a few lines; ACE itself never writes one.
MAX_LINES_PER_ROW = 20
# csv's own per-field limit (131,072 characters, process-wide) is left alone: no ES-003 cell is near
# it, and hitting it almost always means a quote mark that is never closed.


_NOT_READABLE = (
    "This file is not a readable CSV or Excel (.xlsx) report: it looks like binary data. Export the "
    "ES-003 report from ACE Reports as CSV or Excel and upload that file."
)
KNOWN_BINARY = (
    (
        b"\xd0\xcf\x11\xe0",
        "This is an old-format Excel file (.xls) or a password-protected workbook. Open it in Excel, remove "
        "any password, save it as Excel Workbook (.xlsx) or CSV, and upload that file.",
    ),
    (b"%PDF", "This is a PDF, not a CSV or Excel (.xlsx) report. Export the ES-003 report as CSV or Excel."),
)


def sniff_es003_encoding(head: bytes) -> str:
    """Text encoding of an ES-003 CSV from its first bytes; binary data is rejected with the ES-003 message."""
    return sniff_encoding(head, not_readable=_NOT_READABLE)


class _Lines:
    """Physical lines of the text, each at most MAX_LINE_CHARS, so one giant line cannot fill memory."""

    def __init__(self, text: io.TextIOWrapper):
        self._readline = text.readline
        self.overlong = False

    def __iter__(self) -> Iterator[str]:
        readline, limit = self._readline, MAX_LINE_CHARS
        while line := readline(limit):
            if len(line) == limit and line[-1] not in "\r\n":
                self.overlong = True
                return
            yield line


def _binary(source: Any) -> tuple[IO[bytes], bool]:
    """A seekable binary file and whether we opened it (and so must close it)."""
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True  # noqa: SIM115  closed by Report.close()
    if isinstance(source, io.IOBase) and source.seekable():
        source.seek(0)
        return source, False
    # Sniffing and zipfile need to seek: copy other streams to disk, a chunk at a time.
    spool = tempfile.TemporaryFile()
    shutil.copyfileobj(source, spool, 1024 * 1024)
    spool.seek(0)
    return spool, True


class _Window(io.RawIOBase):
    """The first end bytes of a binary file, seen as the whole file."""

    def __init__(self, handle: IO[bytes], end: int, owned: bool):
        super().__init__()
        self._handle, self._end, self._owned = handle, end, owned

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = self._end - self._handle.tell()
        if room <= 0:
            return 0
        with memoryview(buffer) as view:
            return self._handle.readinto(view[:room])

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            return self._handle.seek(self._end + offset)
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def close(self) -> None:
        if self._owned and not self.closed:
            self._handle.close()
        super().close()


# Encodings in which a quote mark and a line break are single bytes that no other character contains.
SPLITTABLE_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "cp1252"})
_SPLIT_BLOCK = 8 * 1024 * 1024


def split_point(path: str | os.PathLike, *, encoding: str, after_row: int) -> tuple[int, int] | None:
    """Where a CSV can be cut in two near its middle: (byte offset, number of the row starting there).

    The offset is just after a line feed with an even number of quote marks before it, so outside any
    quoted cell; the row number counts the line breaks before it (CR LF, LF or a lone CR, as the CSV
    reader does). That number is right only if no row before the cut spans lines (a quoted cell with a
    line break): the caller checks that reading the first part ends on the row before. None when there
    is no such place after row after_row (the header), or in an encoding where a byte search is unsafe.
    """
    if encoding not in SPLITTABLE_ENCODINGS:
        return None
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        quotes = sum(block.count(b'"') for block in _blocks(handle, size // 2))
        offset = None
        while offset is None and (block := handle.read(1024 * 1024)):
            start = 0
            while (newline := block.find(b"\n", start)) >= 0:
                quotes += block.count(b'"', start, newline)
                start = newline + 1
                if quotes % 2 == 0:
                    offset = handle.tell() - len(block) + start
                    break
            else:
                quotes += block.count(b'"', start)
        if offset is None or offset >= size:
            return None
        handle.seek(0)
        breaks, carriage = 0, False
        for block in _blocks(handle, offset):
            breaks += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            if carriage and block.startswith(b"\n"):
                breaks -= 1  # a CR LF split across two blocks is one line break
            carriage = block.endswith(b"\r")
    if breaks <= after_row:
        return None
    return offset, breaks + 1


def _blocks(handle: IO[bytes], end: int) -> Iterator[bytes]:
    """The file's bytes from where it stands up to offset end, a block at a time."""
    while (left := end - handle.tell()) > 0 and (block := handle.read(min(_SPLIT_BLOCK, left))):
        yield block


class Report:
    """An open ES-003 report: header facts now, rows on demand (once), progress while reading."""

    def __init__(
        self,
        *,
        format: str,
        filename: str,
        handle: IO[bytes],
        owned: bool,
        scan: _HeaderScan,
        total_bytes: int,
    ):
        self.format = format
        self.filename = filename
        self.sheet = scan.sheet
        self.header_row_number = scan.row_number
        cells = list(scan.cells)
        while cells and not cells[-1].strip():
            cells.pop()
        self.headers_found = [cell.strip("\ufeff") for cell in cells]
        self.columns, self.column_names, self.warnings = _resolve_columns(scan)
        self.has_liquidation_columns = "liquidation_status" in self.columns
        self.encoding = ""
        self.delimiter = ","
        self.total_bytes = total_bytes
        self.rows_read = 0
        # False until rows() reached the end of the file; see RowError.fatal.
        self.complete = False
        self.problem = ""
        self._handle, self._owned = handle, owned
        self._width = len(cells)
        self._position = 0
        self._text: io.TextIOWrapper | None = None
        self._lines: _Lines | None = None
        self._reader: Any = None
        self._workbook: Any = None
        self._sheet: Any = None
        self._started = False

    @property
    def bytes_read(self) -> int:
        try:
            self._position = self._handle.tell()
        except (OSError, ValueError):
            pass  # closed: the last figure stands
        return self._position

    @property
    def rows_total_estimate(self) -> int | None:
        """Data rows expected, from the bytes per row so far; None before any row is read."""
        done = self.bytes_read
        if not self.rows_read or not done:
            return None
        return max(self.rows_read, round(self.rows_read * self.total_bytes / done))

    @property
    def last_row_number(self) -> int:
        """The number of the last row read (the header's before any): rows as Excel numbers them."""
        return self.header_row_number + self.rows_read

    def restart_at(self, offset: int, row_number: int) -> None:
        """Read the data rows from this byte offset on, where the row numbered row_number starts.

        For the second part of a split CSV (split_point); the columns are the header's, as found.
        """
        if self.format != "csv" or self._started:
            raise RuntimeError("restart_at is for a CSV report whose rows have not been read")
        self._text.detach()
        self._handle.seek(offset)
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding  # no mark mid-file
        self._text, self._lines, self._reader = _csv_reader(self._handle, encoding, self.delimiter)
        self.header_row_number = row_number - 1

    def rows(self) -> Iterator[Line | RowError]:
        """One Line or RowError per data row, blank rows skipped; never raises on bad data."""
        if self._started:
            raise RuntimeError("Report.rows() can only be read once")
        self._started = True
        return self._csv_items() if self.format == "csv" else self._xlsx_items()

    def _stop(self, row_number: int, reason: str) -> RowError:
        self.problem = reason
        return RowError(row_number, "", "", reason, fatal=True)

    def _item(self, cells: Sequence[str], row_number: int, parse: Callable) -> Line | RowError | None:
        try:
            return parse(cells, row_number)
        except InvalidValue:
            if _is_blank(cells):
                return None
            return _explain(cells, row_number, self.columns, self.column_names)
        except Exception as exc:  # a bug must not stop an import; the row stays rejected
            entry = _entry_for_error(cells, self.columns["entry_number"])
            return RowError(row_number, entry, "", f"this row could not be read ({type(exc).__name__})")

    def _csv_items(self) -> Iterator[Line | RowError]:
        parse, item = _row_parser(self.columns, self.column_names), self._item
        need, width = max(self.columns.values()) + 1, self._width
        i_entry = self.columns["entry_number"]
        row_number = header = self.header_row_number
        physical, last_line = self._reader, self._reader.line_num
        try:
            for cells in self._reader:
                row_number += 1
                # Only a quote mark that is never closed makes one row swallow many lines (and the
                # rows on them); better to stop than to import an entry with rows silently missing.
                if physical.line_num - last_line > MAX_LINES_PER_ROW:
                    yield self._stop(
                        row_number,
                        f"The file cannot be read from row {row_number} on: that row runs over "
                        f'{physical.line_num - last_line} lines, so a quote mark (") in it is probably '
                        "never closed.",
                    )
                    return
                last_line = physical.line_num
                self.rows_read = row_number - header
                count = len(cells)
                # A short CSV row is refused even when only optional cells are missing: a file cut
                # off mid-row looks exactly like that, and blanks would read as "unliquidated", "N"...
                # Extra non-blank cells mean a value with an unquoted comma shifted the row.
                if count < need or (count > width and not _is_blank(cells[width:])):
                    if not _is_blank(cells):
                        yield RowError(
                            row_number,
                            _entry_for_error(cells, i_entry),
                            "",
                            f"row has {count} cells, header has {width}"
                            + (
                                " (the row is incomplete; was the file cut off?)"
                                if count < need
                                else " (a value probably contains a comma that is not inside quotes)"
                            ),
                        )
                    continue
                try:
                    result = parse(cells, row_number)
                except Exception:
                    result = item(cells, row_number, parse)
                    if result is None:
                        continue
                yield result
        except csv.Error as exc:
            reason = str(exc)
            if "field limit" in reason:
                reason = (
                    f"a cell longer than {csv.field_size_limit():,} characters, usually a quote mark "
                    '(") that is never closed'
                )
            yield self._stop(
                row_number + 1, f"The file cannot be read from row {row_number + 1} on: {reason}."
            )
            return
        except Exception as exc:  # the disk or the decoder failed; do not let half a file pass as whole
            yield self._stop(row_number + 1, f"The file cannot be read from row {row_number + 1} on: {exc}.")
            return
        if self._lines is not None and self._lines.overlong:
            yield self._stop(
                row_number + 1,
                f"The file cannot be read from row {row_number + 1} on: that line is longer than 1 MB, "
                "which no ES-003 row is.",
            )
            return
        self.complete = True

    def _xlsx_items(self) -> Iterator[Line | RowError]:
        parse, item = _row_parser(self.columns, self.column_names), self._item
        converters = [
            (pos, xlsx.CONVERTERS.get(field, xlsx.code_text)) for field, pos in self.columns.items()
        ]
        size, header = max(self.columns.values()) + 1, self.header_row_number
        row_number = 0
        try:
            for values in xlsx.sheet_rows(self._sheet):
                row_number += 1
                if row_number <= header:
                    continue
                # Excel leaves out trailing empty cells, so a short row here is normal.
                cells = [""] * size
                count = len(values)
                for position, convert in converters:
                    if position < count and (value := values[position]) is not None:
                        cells[position] = convert(value)
                self.rows_read = row_number - header
                result = item(cells, row_number, parse)
                if result is not None:
                    yield result
        except Exception as exc:  # openpyxl raises many kinds on a damaged sheet
            yield self._stop(
                row_number + 1,
                f"The workbook cannot be read from row {row_number + 1} on: it is damaged ({type(exc).__name__}).",
            )
            return
        self.complete = True

    def close(self) -> None:
        if self._text is not None:
            # Detach so that closing (or collecting) the wrapper leaves a caller's file open.
            try:
                self._text.detach()
            except ValueError:
                pass
            self._text = None
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None
        self.bytes_read  # noqa: B018  keep the last position for progress after closing
        if self._owned:
            self._handle.close()

    def __enter__(self) -> "Report":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_report(
    source: str | os.PathLike | IO[bytes], *, filename: str = "", end: int | None = None
) -> Report:
    """Open an ES-003 report, CSV or XLSX by content; FileRejected (only) when it cannot be imported.

    With end, the report is the file's first end bytes (the first part of a split CSV: split_point)."""
    handle: IO[bytes] | None = None
    owned = False
    try:
        handle, owned = _binary(source)
        if end is not None:
            handle, owned = io.BufferedReader(_Window(handle, end, owned), 256 * 1024), True
        name = filename or (os.fspath(source) if isinstance(source, str | os.PathLike) else "")
        return _open(handle, owned, os.path.basename(name))
    except FileRejected:
        if owned and handle is not None:
            handle.close()
        raise
    except Exception as exc:
        if owned and handle is not None:
            handle.close()
        raise FileRejected("This file could not be read as a CSV or Excel (.xlsx) report.") from exc


def _csv_reader(handle: IO[bytes], encoding: str, delimiter: str) -> tuple[io.TextIOWrapper, _Lines, Any]:
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    text._CHUNK_SIZE = 256 * 1024  # fewer, larger decode steps
    lines = _Lines(text)
    return text, lines, csv.reader(lines, delimiter=delimiter)


def _open(handle: IO[bytes], owned: bool, filename: str) -> Report:
    head = handle.read(SNIFF_BYTES)
    total_bytes = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    if not head:
        raise FileRejected("The file is empty. Export the ES-003 report again and upload it.")
    if head.startswith(ZIP_MAGIC):
        return _open_xlsx(handle, owned, filename, total_bytes)
    for magic, message in KNOWN_BINARY:
        if head.startswith(magic):
            raise FileRejected(message)
    encoding = sniff_es003_encoding(head)
    best, blank = None, None
    for delimiter in (",", "\t", ";"):
        handle.seek(0)
        text, lines, reader = _csv_reader(handle, encoding, delimiter)
        records: list[list[str]] = []
        try:
            for cells in reader:
                records.append(cells)
                if len(records) == HEADER_SEARCH_ROWS:
                    break
        except csv.Error as exc:
            text.detach()
            raise FileRejected(f"This file is not valid CSV near row {len(records) + 1} ({exc}).") from exc
        if lines.overlong:
            text.detach()
            raise FileRejected(
                f"Line {len(records) + 1} of this file is longer than 1 MB; it is not an ES-003 report."
            )
        if blank is None:
            blank = all(_is_blank(cells) for cells in records)
        scan = _scan_header(records)
        # Detached, a wrapper that is dropped no longer closes the caller's file with it.
        text.detach()
        if scan is not None and scan.complete:
            report = Report(
                format="csv",
                filename=filename,
                handle=handle,
                owned=owned,
                scan=scan,
                total_bytes=total_bytes,
            )
            report.encoding, report.delimiter = encoding, delimiter
            # Start again just after the header, so that every data row goes through the same checks
            # (the line count of a row is only known while reading it).
            handle.seek(0)
            text, lines, reader = _csv_reader(handle, encoding, delimiter)
            for _ in range(scan.row_number):
                next(reader)
            report._text, report._lines, report._reader = text, lines, reader
            return report
        if scan is not None and (best is None or len(scan.hits) > len(best.hits)):
            best = scan
        if best is not None and len(best.hits) >= 2:
            break  # this delimiter splits the header; only columns are missing
    raise FileRejected(_no_header_message(best, bool(blank)))


def _open_xlsx(handle: IO[bytes], owned: bool, filename: str, total_bytes: int) -> Report:
    try:
        xlsx.check_archive(handle)
        handle.seek(0)
        workbook = xlsx.open_workbook(handle)
    except xlsx.WorkbookRejected as exc:
        raise FileRejected(str(exc)) from exc
    best = None
    try:
        for sheet in workbook.worksheets:
            records = [
                [xlsx.header_text(v) for v in row] for row in xlsx.sheet_rows(sheet, HEADER_SEARCH_ROWS)
            ]
            scan = _scan_header(records, sheet.title)
            if scan is not None and scan.complete:
                report = Report(
                    format="xlsx",
                    filename=filename,
                    handle=handle,
                    owned=owned,
                    scan=scan,
                    total_bytes=total_bytes,
                )
                report._workbook, report._sheet = workbook, sheet
                return report
            if scan is not None and (best is None or len(scan.hits) > len(best.hits)):
                best = scan
    except FileRejected:
        workbook.close()
        raise
    except Exception as exc:
        workbook.close()
        raise FileRejected("This Excel file is damaged and cannot be opened.") from exc
    workbook.close()
    raise FileRejected(_no_header_message(best, blank=False))
