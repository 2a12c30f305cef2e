"""The Excel side of the ES-003 reader: archive safety checks, opening the workbook, cells as text.

Pure: stdlib and openpyxl only. Every cell the parser uses is turned into the text a CSV export of the
same report would hold, so that one set of value rules (domain.es003.parsing) judges both formats.
"""

import datetime
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any
from xml.etree import ElementTree

import openpyxl

# A real ES-003 workbook is a few dozen parts of ordinary XML that compresses about 10:1. The limits
# are far above that and far below what would exhaust the worker. They are enforced on the sizes the
# zip central directory declares; that is sound because zipfile never returns more than the declared
# size of a member (ZipExtFile truncates at file_size, then the CRC check fails).
MAX_TOTAL_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 100
RATIO_CHECK_FROM = 1024 * 1024
MAX_MEMBERS = 2000
# Per part. openpyxl streams the sheets in read-only mode, but reads every other part whole into memory,
# and keeps the whole shared-strings table as Python strings (a probe's 104 MB table of 5.8 M strings
# took a worker to 1 GB). A 1,048,576-row sheet of an ES-003 export is under 1 GB; its styles, workbook
# and relationship parts are kilobytes; its text table holds at most one string per entry, HTS code,
# country... (a million-row report: a few hundred thousand).
MAX_SHEET_PART = 1024**3
MAX_OTHER_PART = 16 * 1024 * 1024
MAX_SHARED_STRINGS = 64 * 1024 * 1024
MAX_SHARED_STRINGS_COUNT = 1_000_000
PROLOG_WINDOW = 64 * 1024
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STRING_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")

_SAVE_AS_CSV = "Open it in Excel and save it again as an Excel Workbook (.xlsx), or export the report as CSV."


class WorkbookRejected(Exception):
    """The archive is not a workbook we will open; str(exc) is the user-facing message."""


def check_archive(fileobj: IO[bytes]) -> None:
    """Reject zip bombs, encrypted parts, non-workbooks and XML with a DOCTYPE, before openpyxl sees it."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise WorkbookRejected(f"This Excel file is damaged and cannot be opened. {_SAVE_AS_CSV}") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise WorkbookRejected(f"This Excel file has {len(members):,} parts, far more than a report has.")
        total = sum(info.file_size for info in members)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise WorkbookRejected(
                f"This Excel file unpacks to {total / 1024**3:.1f} GB, more than the 2 GB we accept. "
                "Export the report as CSV instead."
            )
        for info in members:
            if info.file_size > RATIO_CHECK_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise WorkbookRejected(
                    f"This Excel file unpacks to far more data than its size suggests ({info.filename}: "
                    f"{info.file_size:,} bytes from {info.compress_size:,}); it is not a normal report and "
                    "was not opened."
                )
            if info.flag_bits & 0x1:
                raise WorkbookRejected(
                    "This Excel file is password-protected. Remove the password, save, and upload again."
                )
        if "xl/workbook.xml" not in {info.filename for info in members}:
            raise WorkbookRejected(
                "This file is a ZIP archive but not an Excel workbook (.xlsx). "
                "Upload the ES-003 report as .xlsx or CSV."
            )
        for info in members:
            if not info.is_dir() and info.file_size:
                _check_xml_prolog(archive, info)
        _check_part_sizes(archive, members)


def _check_part_sizes(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    """Each part within what openpyxl may unpack of it; the shared strings also by their number."""
    shared, sheets = _declared_parts(archive)
    for info in members:
        name = info.filename
        if name in shared or name.lower().endswith("sharedstrings.xml"):
            if info.file_size > MAX_SHARED_STRINGS:
                raise WorkbookRejected(
                    f"This Excel file's table of texts unpacks to {info.file_size / 1024**2:,.1f} MB, more than "
                    f"the {MAX_SHARED_STRINGS // 1024**2} MB a report needs; it was not opened. "
                    "Export the report as CSV instead."
                )
            count = _count_string_items(archive, info)
            if count > MAX_SHARED_STRINGS_COUNT:
                raise WorkbookRejected(
                    f"This Excel file's table of texts holds {count:,} different texts, more than the "
                    f"{MAX_SHARED_STRINGS_COUNT:,} a report can have; it was not opened. "
                    "Export the report as CSV instead."
                )
        elif name in sheets or re.fullmatch(r"xl/worksheets/[^/]+\.xml", name, re.IGNORECASE):
            if info.file_size > MAX_SHEET_PART:
                raise WorkbookRejected(
                    f"This Excel file's sheet {name} unpacks to {info.file_size / 1024**3:.1f} GB, more than the "
                    f"{MAX_SHEET_PART // 1024**3} GB a report can take. Export the report as CSV instead."
                )
        elif info.file_size > MAX_OTHER_PART:
            raise WorkbookRejected(
                f"This Excel file has a part far larger than a report needs ({name}: "
                f"{info.file_size / 1024**2:,.1f} MB, the limit is {MAX_OTHER_PART // 1024**2} MB); it was "
                "not opened. Open it in Excel and save it again, or export the report as CSV."
            )


def _declared_parts(archive: zipfile.ZipFile) -> tuple[set[str], set[str]]:
    """The parts [Content_Types].xml declares as shared strings and as sheets (openpyxl finds them so)."""
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        return set(), set()
    if info.file_size > MAX_OTHER_PART:
        return set(), set()  # refused as an oversized part by the caller
    try:
        root = ElementTree.fromstring(archive.read(info))  # no DOCTYPE: checked before
    except ElementTree.ParseError as exc:
        raise WorkbookRejected(f"This Excel file is damaged and cannot be opened. {_SAVE_AS_CSV}") from exc
    shared, sheets = set(), set()
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Override":
            continue
        part = (element.get("PartName") or "").lstrip("/")
        kind = element.get("ContentType")
        if kind == _SHARED_STRINGS_TYPE:
            shared.add(part)
        elif kind == _WORKSHEET_TYPE:
            sheets.add(part)
    return shared, sheets


def _count_string_items(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The <si> elements of a shared-strings part, counted as it unpacks (its size is already bounded)."""
    count, tail = 0, b""
    try:
        with archive.open(info) as member:
            while chunk := member.read(1024 * 1024):
                window = tail + chunk
                count += len(_STRING_ITEM.findall(window))
                # Keep the last few bytes, minus any match already counted in them, for the next window.
                tail = window[-32:]
                tail = tail[tail.rfind(b"<") :] if b"<" in tail else b""
                if _STRING_ITEM.match(tail):
                    tail = b""
                if count > MAX_SHARED_STRINGS_COUNT:
                    break
    except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError
        raise WorkbookRejected(f"This Excel file is damaged and cannot be opened. {_SAVE_AS_CSV}") from exc
    return count


def _check_xml_prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    # Entities can only be declared in a DOCTYPE, and a DOCTYPE can only sit in the prolog (before the
    # root element). A prolog without one rules out entity expansion ("billion laughs") and external
    # entities, whatever XML parser openpyxl ends up using (defusedxml is not installed here).
    # Every member is looked at, not only *.xml, because the rels decide which part is a sheet.
    try:
        with archive.open(info) as member:
            head = member.read(PROLOG_WINDOW)
    except Exception as exc:  # zlib.error, BadZipFile, EOFError, NotImplementedError (unknown method)...
        raise WorkbookRejected(f"This Excel file is damaged and cannot be opened. {_SAVE_AS_CSV}") from exc
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "replace").encode("utf-8", "replace")
    elif head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip()
    if not stripped.startswith(b"<"):
        return  # not XML (an image, a printer setting); openpyxl does not parse it as XML
    pos = len(head) - len(stripped)
    while True:
        while pos < len(head) and head[pos] in b" \t\r\n":
            pos += 1
        if head.startswith(b"<?", pos):
            end = head.find(b"?>", pos)
            if end < 0:
                break
            pos = end + 2
        elif head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos)
            if end < 0:
                break
            pos = end + 3
        elif head.startswith(b"<!", pos):
            raise WorkbookRejected(
                f"This Excel file contains XML with a document type declaration ({info.filename}), "
                "which a genuine workbook never has; it was not opened for safety."
            )
        elif head.startswith(b"<", pos):
            return
        else:
            break
    raise WorkbookRejected(
        f"This Excel file is damaged and cannot be opened ({info.filename}). {_SAVE_AS_CSV}"
    )


def open_workbook(fileobj: IO[bytes]) -> Any:
    """An openpyxl read-only workbook; call check_archive first."""
    try:
        return openpyxl.load_workbook(fileobj, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises anything from KeyError to ParseError on a bad part
        raise WorkbookRejected(f"This Excel file is damaged and cannot be opened. {_SAVE_AS_CSV}") from exc


def sheet_rows(sheet: Any, max_row: int | None = None) -> Iterator[tuple]:
    """Value tuples from row 1; openpyxl fills in the rows a sheet leaves out, so position = row number."""
    # Stored dimensions are often wrong (and then openpyxl cuts columns off); read what is there.
    sheet.reset_dimensions()
    return sheet.iter_rows(min_row=1, max_row=max_row, values_only=True)


def header_text(value: Any) -> str:
    return "" if value is None else str(value)


# Cell -> text converters, one per kind of field. They never reject: a value that cannot be right is
# turned into text that the CSV rules reject with the same message a clerk would get from a CSV.


def _number_text(value: Any) -> str:
    if type(value) is float and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def entry_number_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return f"{value:.6G}"
    digits = str(int(value))
    # Excel's General format keeps 6 significant digits of a long number (3.16123E+10); once the
    # rounded figure is saved it comes back as 31612300000. An 11-digit number ending in 00000 is that
    # shape, so it gets the Excel message rather than a misleading check-digit one.
    if len(digits) == 11 and digits.endswith("00000"):
        return f"{int(value):.6G}"
    return digits


def date_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return _number_text(value)


def money_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        if abs(value) >= 1e15:
            return f"{value:.2f}"  # the digit-count rule rejects it with a clear reason
        exact = Decimal(repr(value))
        cents = round(exact, 2)
        # Formulas leave binary noise (1234.5600000000002); anything beyond that is a real fraction
        # of a cent and is passed on unrounded to be rejected.
        return str(cents) if abs(exact - cents) < Decimal("0.000001") else repr(value)
    return str(value)


def code_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    return _number_text(value)


def flag_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return _number_text(value)


CONVERTERS: dict[str, Callable[[Any], str]] = {
    "entry_number": entry_number_text,
    "entry_date": date_text,
    "entry_summary_date": date_text,
    "liquidation_date": date_text,
    "goods_value": money_text,
    "duty": money_text,
    "drawback": flag_text,
    "protest": flag_text,
    "reconciliation": flag_text,
}
# Every other field (codes, numbers, HTS, status, country) uses code_text.
