"""Reader for ACE ES-003 "Entry Summary Line Tariff Details" reports (CSV or XLSX), spec sections 2-3.

Pure (stdlib + openpyxl, no Django) and streaming: open_report() looks at the start of the file only,
Report.rows() yields one Line or RowError per data row. Messages are written for a customs clerk.
The caller decides what to import; group_entries() shows the rule: one bad row rejects its whole entry.
"""

import codecs
import csv
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any, NamedTuple

from domain import xlsx
from domain.entry_numbers import canonical, check_digit, is_well_formed

HEADER_SEARCH_ROWS = 20
MAX_LINE_CHARS = 1024 * 1024
SNIFF_BYTES = 64 * 1024
# A cell with line breaks (a note typed with Alt+Enter) spans a few lines; ACE itself never writes one.
MAX_LINES_PER_ROW = 20
# csv's own per-field limit (131,072 characters, process-wide) is left alone: no ES-003 cell is near
# it, and hitting it almost always means a quote mark that is never closed.


class FileRejected(Exception):
    """The whole file is rejected; str(exc) is the user-facing message."""


class InvalidValue(ValueError):
    """One cell (or a pair of cells) is wrong; reason is the user-facing text, field the ES-003 field."""

    def __init__(self, reason: str, field: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.field = field


class Line(NamedTuple):
    """One valid tariff row. A named tuple, not a frozen dataclass: a million-row report makes a million
    of them, and a frozen dataclass of 18 fields takes about 2 µs to build (each field goes through
    object.__setattr__), a named tuple about 0.3 µs."""

    row_number: int
    entry_number: str
    line_number: int | None
    ordinal: int | None
    entry_type: str | None
    importer_number: str | None
    port: str | None
    entry_date: date | None
    entry_summary_date: date | None
    hts: str | None
    goods_value: Decimal | None
    duty: Decimal
    country_of_origin: str | None
    liquidation_status: str | None
    liquidation_date: date | None
    drawback: bool | None
    protest: bool | None
    reconciliation: bool | None


@dataclass(frozen=True, slots=True)
class RowError:
    row_number: int
    entry_number: str
    column: str
    reason: str
    # True when the file could not be read past this row: nothing from the file should be imported.
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class EntryFacts:
    entry_number: str
    entry_type: str | None
    importer_number: str | None
    port: str | None
    entry_date: date | None
    entry_summary_date: date | None
    liquidation_status: str | None
    liquidation_date: date | None
    drawback: bool
    protest: bool
    reconciliation: bool
    lines: tuple[Line, ...]


# field, ACE header, aliases (in order of preference), words used in messages
FIELDS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("entry_number", "Entry Summary Number", ("Entry Number", "Entry No"), "entry number"),
    ("line_number", "Entry Summary Line Number", ("Line Number",), "line number"),
    ("ordinal", "Tariff Ordinal Number", (), "tariff ordinal number"),
    ("entry_type", "Entry Type Code", ("Entry Type",), "entry type"),
    ("importer_number", "Importer Number", ("IOR Number", "Importer of Record Number"), "importer number"),
    ("port", "Port of Entry Code", (), "port of entry code"),
    ("entry_date", "Entry Date", (), "entry date"),
    ("entry_summary_date", "Entry Summary Date", (), "entry summary date"),
    ("hts", "HTS Number - Full", ("HTS Number", "HTS", "Tariff Number"), "HTS number"),
    ("goods_value", "Line Tariff Goods Value Amount", ("Line Goods Value Amount",), "goods value"),
    ("duty", "Line Tariff Duty Amount", ("Line Duty Amount", "Duty Amount"), "duty amount"),
    ("country_of_origin", "Country of Origin Code", (), "country of origin"),
    ("liquidation_status", "Liquidation Status", ("Liquidation Status Description",), "liquidation status"),
    ("liquidation_date", "Liquidation Date", (), "liquidation date"),
    ("drawback", "Drawback", (), "drawback flag"),
    # ACE's own export names the columns "Protest Number" (a number, not Y/N) and "Reconciliation Indicator".
    ("protest", "Protest", ("Protest Number",), "protest flag"),
    ("reconciliation", "Reconciliation Flag", ("Reconciliation Indicator",), "reconciliation flag"),
)
ACE_HEADER = {field: header for field, header, _, _ in FIELDS}
_LABEL = {field: label for field, _, _, label in FIELDS}
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def header_key(text: str) -> str:
    """Case, spaces and punctuation do not count: "  HTS  NUMBER - FULL " == "hts number full"."""
    return _NOT_ALNUM.sub("", text.lower())


_HEADER_KEYS = {
    header_key(name): (field, priority)
    for field, header, aliases, _ in FIELDS
    for priority, name in enumerate((header, *aliases))
}

# ---- values -----------------------------------------------------------------------------------------

UNLIQUIDATED, LIQUIDATED, RELIQUIDATED = "unliquidated", "liquidated", "reliquidated"
STATUSES = (UNLIQUIDATED, LIQUIDATED, "suspended", "extended", "under_review", RELIQUIDATED, "pending")
_STATUS_WORDS = {
    "open": UNLIQUIDATED,
    "not liquidated": UNLIQUIDATED,
    "unliquidated": UNLIQUIDATED,
    "liquidated": LIQUIDATED,
    "final": LIQUIDATED,
    "deemed liquidated": LIQUIDATED,
    "deem liquidated": LIQUIDATED,
    # Rule set 2026.2: a liquidation scheduled but not yet posted (ACE shows future-dated ones as pending).
    "pending": "pending",
    "pending liquidation": "pending",
    "suspended": "suspended",
    "extended": "extended",
    "review": "under_review",
    "under review": "under_review",
    "reliquidated": RELIQUIDATED,
    "re liquidated": RELIQUIDATED,
}
_FLAG_WORDS = {
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "n": False,
    "no": False,
    "false": False,
    "0": False,
}

_A = re.ASCII
_PLAIN_MONEY = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,2})?", _A)
_AMOUNT = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.([0-9]*))?", _A)
_MDY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", _A)
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?", _A)
_SHORT_YEAR = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}", _A)
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+?[0-9]+", _A | re.IGNORECASE)
_TWO_DIGITS = re.compile(r"[0-9]{1,2}", _A)
_COUNT = re.compile(r"[0-9]{1,6}", _A)
_PORT = re.compile(r"[0-9]{3,4}", _A)
_COUNTRY = re.compile(r"[A-Za-z]{2}", _A)
_IMPORTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,19}", _A)
_HTS_DIGITS = re.compile(r"[0-9]+", _A)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
_EXCEL_AS_TEXT = "export the report again as CSV, or format the column as text"


def show(value: str, limit: int = 40) -> str:
    """A cell value quoted for a message: short, one line, no control characters."""
    text = _CONTROL.sub("?", value.strip().replace("\n", " ").replace("\r", " "))
    shown = repr(text if len(text) <= limit else text[: limit - 1] + "…")
    if "\ufffd" in text:
        shown += " (the file has bytes that are not valid text in its encoding)"
    return shown


def parse_entry_number(text: str) -> str:
    """Canonical 11-character entry number with a valid check digit."""
    stripped = text.strip()
    if not stripped:
        raise InvalidValue("entry number is missing", "entry_number")
    if _SCIENTIFIC.fullmatch(stripped):
        raise InvalidValue(
            f"entry number {stripped} was changed by Excel into a rounded number — {_EXCEL_AS_TEXT}",
            "entry_number",
        )
    number = canonical(stripped)
    if not is_well_formed(number):
        if not number.isascii() or not number.isalnum():
            why = "has characters other than letters, digits and dashes"
        elif len(number) != 11:
            why = f"has {len(number)} characters without dashes; it needs 11"
            if number.isdigit() and len(number) == 10:
                why += f" (if Excel dropped a leading zero, {_EXCEL_AS_TEXT})"
        else:
            why = "should be a 3-character filer code, a 7-digit serial and a check digit"
        raise InvalidValue(f"entry number {show(text)} {why}", "entry_number")
    expected = check_digit(number)
    if expected != int(number[10]):
        raise InvalidValue(
            f"entry number {number}: check digit should be {expected}, file has {number[10]}", "entry_number"
        )
    return number


def parse_money(text: str, label: str = "amount", *, required: bool = False) -> Decimal | None:
    """1234.56, $1,234.56, (12.00) and -12.00; None for a blank optional amount."""
    if _PLAIN_MONEY.fullmatch(text):
        return Decimal(text)
    body = text.strip()
    if not body:
        if required:
            raise InvalidValue(f"{label} is missing")
        return None
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    if body.startswith("-") and not negative:
        negative, body = True, body[1:].lstrip()
    if body.startswith("$"):
        body = body[1:].lstrip()
        if body.startswith("-") and not negative:
            negative, body = True, body[1:]
    match = _AMOUNT.fullmatch(body)
    if not match or not (match.group(1) or match.group(2)):
        raise InvalidValue(f"{label} {show(text)} is not a number")
    whole, fraction = match.group(1).replace(",", "").lstrip("0") or "0", match.group(2) or ""
    if len(whole) > 15:
        raise InvalidValue(
            f"{label} {show(text)} is too large (more than 15 digits before the decimal point)"
        )
    if fraction[2:].strip("0"):
        raise InvalidValue(f"{label} {show(text)} has fractions of a cent")
    amount = Decimal(f"{whole}.{fraction[:2]}" if fraction[:2] else whole)
    return -amount if negative else amount


def parse_date(text: str, label: str = "date") -> date | None:
    """MM/DD/YYYY, M/D/YYYY or YYYY-MM-DD (never DD/MM); None when blank."""
    value = text.strip()
    if not value:
        return None
    if match := _MDY.fullmatch(value):
        month, day, year = match.groups()
    elif match := _ISO.fullmatch(value):
        year, month, day = match.groups()
    else:
        if _SHORT_YEAR.fullmatch(value):
            raise InvalidValue(f"{label} {show(value)} needs a 4-digit year (MM/DD/YYYY)")
        hint = (
            " (Excel shows a date this way when the column is not formatted as a date)"
            if value.isdigit()
            else ""
        )
        raise InvalidValue(f"{label} {show(value)} is not a date in the form MM/DD/YYYY or YYYY-MM-DD{hint}")
    try:
        result = date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidValue(f"{label} {show(value)} is not a real calendar date") from None
    if not 1900 <= result.year <= 2100:
        raise InvalidValue(f"{label} {show(value)} is out of range")
    return result


def parse_liquidation_status(text: str) -> str | None:
    """One of STATUSES, or None when blank (the row decides what blank means)."""
    key = " ".join(text.replace("_", " ").replace("-", " ").lower().split())
    if not key:
        return None
    try:
        return _STATUS_WORDS[key]
    except KeyError:
        raise InvalidValue(
            f"liquidation status {show(text)} is not one we know (expected Open, Not Liquidated, Liquidated, "
            "Final, Deemed Liquidated, Suspended, Extended, Under Review, Reliquidated or Pending)",
            "liquidation_status",
        ) from None


def parse_flag(text: str, label: str = "flag") -> bool:
    """Y/Yes/True/1 or N/No/False/0/blank."""
    key = text.strip().lower()
    if not key:
        return False
    try:
        return _FLAG_WORDS[key]
    except KeyError:
        raise InvalidValue(f"{label} {show(text)} should be Y or N") from None


_PROTEST_NUMBER_KEY = "protestnumber"
_NO_PROTEST_NUMBER = frozenset({"n/a", "na", "none", "-"})


def parse_protest_number(text: str) -> bool:
    """A "Protest Number" cell: any number means a protest is on file; blank (or N/No/0, N/A, None) means none."""
    key = text.strip().lower()
    if key in _NO_PROTEST_NUMBER:
        return False
    return bool(key) and _FLAG_WORDS.get(key, True)


def _protest_parser(names: dict[str, str] | None) -> Callable[[str], bool]:
    """The protest column's reader: a number column ("Protest Number") or a Y/N flag ("Protest")."""
    if names and header_key(names.get("protest", "")) == _PROTEST_NUMBER_KEY:
        return parse_protest_number
    return _PARSERS["protest"]


def parse_entry_type(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not _TWO_DIGITS.fullmatch(value):
        raise InvalidValue(f"entry type {show(text)} should be a 2-digit code such as 01")
    return value.zfill(2)


def parse_hts(text: str) -> str | None:
    """Digits only; the dots (and stray spaces) of 9903.01.10 are dropped."""
    value = text.strip()
    if not value:
        return None
    if _SCIENTIFIC.fullmatch(value):
        raise InvalidValue(
            f"HTS number {value} was changed by Excel into a rounded number — {_EXCEL_AS_TEXT}"
        )
    digits = value.replace(".", "").replace(" ", "")
    if not _HTS_DIGITS.fullmatch(digits):
        raise InvalidValue(f"HTS number {show(text)} should contain only digits and dots")
    if len(digits) not in (8, 10):
        # 9 digits is what Excel leaves of 0101.21.0010 after turning it into a number.
        raise InvalidValue(f"HTS number {show(text)} has {len(digits)} digits; an HTS number has 8 or 10")
    return digits


def parse_count(text: str, label: str = "number") -> int | None:
    value = text.strip()
    if not value:
        return None
    if not _COUNT.fullmatch(value):
        raise InvalidValue(f"{label} {show(text)} should be a whole number")
    return int(value)


def parse_port(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not _PORT.fullmatch(value):
        raise InvalidValue(f"port of entry code {show(text)} should be 4 digits")
    # Schedule D codes are 4 digits; 3 can only be one whose leading 0 Excel dropped.
    return value.zfill(4)


def parse_country(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not _COUNTRY.fullmatch(value):
        raise InvalidValue(f"country of origin {show(text)} should be a 2-letter code")
    return value.upper()


def parse_importer_number(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not _IMPORTER.fullmatch(value):
        raise InvalidValue(f"importer number {show(text)} should contain only digits, letters and dashes")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "entry_number": parse_entry_number,
    "line_number": lambda text: parse_count(text, "line number"),
    "ordinal": lambda text: parse_count(text, "tariff ordinal number"),
    "entry_type": parse_entry_type,
    "importer_number": parse_importer_number,
    "port": parse_port,
    "entry_date": lambda text: parse_date(text, "entry date"),
    "entry_summary_date": lambda text: parse_date(text, "entry summary date"),
    "hts": parse_hts,
    "goods_value": lambda text: parse_money(text, "goods value"),
    "duty": lambda text: parse_money(text, "duty amount", required=True),
    "country_of_origin": parse_country,
    "liquidation_status": parse_liquidation_status,
    "liquidation_date": lambda text: parse_date(text, "liquidation date"),
    "drawback": lambda text: parse_flag(text, "drawback flag"),
    "protest": lambda text: parse_flag(text, "protest flag"),
    "reconciliation": lambda text: parse_flag(text, "reconciliation flag"),
}


def resolve_status(status: str | None, liquidation_date: date | None, raw_status: str = "") -> str:
    """The row's status once its liquidation date is known (both columns present)."""
    if status is None:
        if liquidation_date is None:
            return UNLIQUIDATED  # spec: blank status and no liquidation date
        raise InvalidValue(
            f"liquidation status is blank but the liquidation date is {liquidation_date:%m/%d/%Y}; "
            "fill in the status",
            "liquidation_status",
        )
    if status in (LIQUIDATED, RELIQUIDATED) and liquidation_date is None:
        raise InvalidValue(
            f"liquidation status {show(raw_status or status)} needs a liquidation date, and that cell is "
            "empty",
            "liquidation_date",
        )
    return status


# ---- rows -------------------------------------------------------------------------------------------


class _Memo(dict):
    """parser(text) remembered per distinct text: codes and dates repeat on almost every row."""

    __slots__ = ("parser",)
    LIMIT = 4096

    def __init__(self, parser: Callable[[str], Any]):
        super().__init__()
        self.parser = parser

    def __missing__(self, text: str) -> Any:
        value = self.parser(text)  # an InvalidValue is not remembered; bad cells are rare
        if len(self) < self.LIMIT:
            self[text] = value
        return value


def _row_parser(
    columns: dict[str, int], names: dict[str, str] | None = None
) -> Callable[[Sequence[str], int], Line]:
    """A function turning one row of cell texts into a Line, or raising InvalidValue.

    The hot path of a million-row import: column positions live in closure variables, repeated values
    come from memos, plain amounts skip the general money parser. Absent columns have position -1.
    """
    get = columns.get
    i_entry, i_duty = columns["entry_number"], columns["duty"]
    i_line, i_ordinal, i_type, i_importer, i_port = (
        get(f, -1) for f in ("line_number", "ordinal", "entry_type", "importer_number", "port")
    )
    i_date, i_summary_date, i_hts, i_goods, i_country = (
        get(f, -1) for f in ("entry_date", "entry_summary_date", "hts", "goods_value", "country_of_origin")
    )
    i_status, i_liq_date = get("liquidation_status", -1), get("liquidation_date", -1)
    liquidation = i_status >= 0 and i_liq_date >= 0
    i_drawback, i_protest, i_recon = get("drawback", -1), get("protest", -1), get("reconciliation", -1)
    memo = {field: _Memo(parser) for field, parser in _PARSERS.items()}
    m_line, m_ordinal, m_type, m_importer, m_port = (
        memo[f] for f in ("line_number", "ordinal", "entry_type", "importer_number", "port")
    )
    m_date, m_summary_date, m_hts, m_country = (
        memo[f] for f in ("entry_date", "entry_summary_date", "hts", "country_of_origin")
    )
    m_status, m_liq_date = memo["liquidation_status"], memo["liquidation_date"]
    m_drawback, m_recon = memo["drawback"], memo["reconciliation"]
    m_protest = _Memo(_protest_parser(names))
    plain, decimal, money = _PLAIN_MONEY.fullmatch, Decimal, parse_money
    needs_date = (None, LIQUIDATED, RELIQUIDATED)
    # Rows of one entry usually follow each other: remember the last entry number only.
    last = [None, ""]

    def parse(cells: Sequence[str], row_number: int) -> Line:
        raw = cells[i_entry]
        if raw == last[0]:
            entry = last[1]
        else:
            entry = parse_entry_number(raw)
            last[0], last[1] = raw, entry
        text = cells[i_duty]
        duty = decimal(text) if plain(text) else money(text, "duty amount", required=True)
        goods = None
        if i_goods >= 0:
            text = cells[i_goods]
            goods = decimal(text) if plain(text) else money(text, "goods value")
        entry_date = m_date[cells[i_date]] if i_date >= 0 else None
        summary_date = m_summary_date[cells[i_summary_date]] if i_summary_date >= 0 else None
        if entry_date is None and summary_date is None:
            raise InvalidValue("entry date and entry summary date are both empty")
        status = liq_date = None
        if liquidation:
            liq_date = m_liq_date[cells[i_liq_date]]
            status = m_status[cells[i_status]]
            if status in needs_date:
                status = resolve_status(status, liq_date, cells[i_status])
        return Line(
            row_number,
            entry,
            m_line[cells[i_line]] if i_line >= 0 else None,
            m_ordinal[cells[i_ordinal]] if i_ordinal >= 0 else None,
            m_type[cells[i_type]] if i_type >= 0 else None,
            m_importer[cells[i_importer]] if i_importer >= 0 else None,
            m_port[cells[i_port]] if i_port >= 0 else None,
            entry_date,
            summary_date,
            m_hts[cells[i_hts]] if i_hts >= 0 else None,
            goods,
            duty,
            m_country[cells[i_country]] if i_country >= 0 else None,
            status,
            liq_date,
            m_drawback[cells[i_drawback]] if i_drawback >= 0 else None,
            m_protest[cells[i_protest]] if i_protest >= 0 else None,
            m_recon[cells[i_recon]] if i_recon >= 0 else None,
        )

    return parse


def _is_blank(cells: Sequence[str]) -> bool:
    return not "".join(cells).strip()


def _entry_for_error(cells: Sequence[str], position: int) -> str:
    """The canonical number if the cell holds a well-formed one, else the cell text (shortened)."""
    if position >= len(cells):
        return ""
    number = canonical(cells[position])
    return number if is_well_formed(number) else cells[position].strip()[:40]


def _explain(
    cells: Sequence[str], row_number: int, columns: dict[str, int], names: dict[str, str]
) -> RowError:
    """Every problem of a row the fast path refused, in one RowError (column: the first problem's)."""
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for field, position in columns.items():
        try:
            parser = _protest_parser(names) if field == "protest" else _PARSERS[field]
            values[field] = parser(cells[position])
        except InvalidValue as exc:
            problems.append((field, exc.reason))
    dates = [f for f in ("entry_date", "entry_summary_date") if f in columns]
    if all(f in values and values[f] is None for f in dates):
        problems.append((dates[0], "entry date and entry summary date are both empty"))
    if "liquidation_status" in values and "liquidation_date" in values:
        try:
            resolve_status(
                values["liquidation_status"], values["liquidation_date"], cells[columns["liquidation_status"]]
            )
        except InvalidValue as exc:
            problems.append((exc.field, exc.reason))
    if not problems:  # the fast path and this one disagree: a bug, but the row stays rejected
        problems.append(("", "this row could not be read"))
    return RowError(
        row_number,
        _entry_for_error(cells, columns["entry_number"]),
        names.get(problems[0][0], ""),
        "; ".join(reason for _, reason in problems),
    )


# ---- header -----------------------------------------------------------------------------------------


@dataclass
class _HeaderScan:
    row_number: int
    cells: list[str]
    hits: dict[str, list[tuple[int, int]]]  # field -> [(alias priority, position)]
    sheet: str = ""

    @property
    def complete(self) -> bool:
        hits = self.hits
        return (
            "entry_number" in hits
            and "duty" in hits
            and ("entry_date" in hits or "entry_summary_date" in hits)
        )


def _scan_header(records: Iterable[Sequence[str]], sheet: str = "") -> _HeaderScan | None:
    """The first row with every required column, else the row that looks most like a header."""
    best = None
    for row_number, cells in enumerate(records, start=1):
        hits: dict[str, list[tuple[int, int]]] = {}
        for position, cell in enumerate(cells):
            found = _HEADER_KEYS.get(header_key(cell))
            if found:
                hits.setdefault(found[0], []).append((found[1], position))
        scan = _HeaderScan(row_number, list(cells), hits, sheet)
        if scan.complete:
            return scan
        if hits and (best is None or len(hits) > len(best.hits)):
            best = scan
    return best


def _column_letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _header_list(cells: Sequence[str]) -> str:
    shown = [show(cell, 60)[1:-1] for cell in cells if cell.strip()]
    more = f" and {len(shown) - 40} more" if len(shown) > 40 else ""
    return ", ".join(shown[:40]) + more if shown else "(none)"


def _no_header_message(best: _HeaderScan | None, blank: bool) -> str:
    if blank:
        return (
            "The file has no data: its first lines are empty. Export the ES-003 report again and upload it."
        )
    if best is None:
        return (
            "This file is not a readable CSV or Excel (.xlsx) report: none of its first 20 lines is an "
            "ES-003 header row (with Entry Summary Number, Line Tariff Duty Amount and Entry Date). "
            "Export the ES-003 report from ACE Reports as CSV or Excel and upload that file."
        )
    missing = []
    for field in ("entry_number", "duty"):
        if field not in best.hits:
            _, header, aliases, _ = next(f for f in FIELDS if f[0] == field)
            missing.append(f"{header} (also accepted: {', '.join(aliases)})")
    if "entry_date" not in best.hits and "entry_summary_date" not in best.hits:
        missing.append("Entry Date (or Entry Summary Date)")
    where = f"row {best.row_number}" + (f" of sheet {best.sheet!r}" if best.sheet else "")
    return (
        f"The report cannot be imported: it has no {' and no '.join(missing)} column. "
        f"Headers found ({where}): {_header_list(best.cells)}. "
        "Run the ES-003 report again in ACE with the missing column and upload the new export."
    )


def _resolve_columns(scan: _HeaderScan) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """Field -> position and field -> header as found; a header used twice rejects the file."""
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    warnings: list[str] = []
    for field, found in scan.hits.items():
        found.sort()
        priority, position = found[0]
        name = scan.cells[position].strip()
        twins = [p for pr, p in found if pr == priority]
        if len(twins) > 1:
            # Two columns claiming the same meaning: which one ACE meant cannot be known.
            letters = ", ".join(_column_letter(p) for p in twins)
            raise FileRejected(
                f"The column {name!r} appears {len(twins)} times (columns {letters}). Remove the extra "
                "column so that each appears once, and upload the file again."
            )
        columns[field], names[field] = position, name
        for _, other in found[len(twins) :]:
            warnings.append(f"Both {name!r} and {scan.cells[other].strip()!r} are present; {name!r} is used.")
    status, liq_date = "liquidation_status" in columns, "liquidation_date" in columns
    if not (status and liq_date):
        absent = " and ".join(
            header
            for field, header in (
                ("liquidation_status", "Liquidation Status"),
                ("liquidation_date", "Liquidation Date"),
            )
            if field not in columns
        )
        warnings.insert(
            0,
            f"This report has no {absent} column, so the portal cannot tell which entries are liquidated and "
            "their refund path will show as needing data. In ACE Reports, add the fields Liquidation Status "
            "and Liquidation Date to the ES-003 report, run it again and upload the new export.",
        )
        # Half of the pair is not enough to classify; ignore it rather than trust it.
        columns.pop("liquidation_status", None)
        columns.pop("liquidation_date", None)
    return columns, names, warnings


# ---- files ------------------------------------------------------------------------------------------

_NOT_READABLE = (
    "This file is not a readable CSV or Excel (.xlsx) report: it looks like binary data. Export the "
    "ES-003 report from ACE Reports as CSV or Excel and upload that file."
)
_KNOWN_BINARY = (
    (
        b"\xd0\xcf\x11\xe0",
        "This is an old-format Excel file (.xls) or a password-protected workbook. Open it in Excel, remove "
        "any password, save it as Excel Workbook (.xlsx) or CSV, and upload that file.",
    ),
    (b"%PDF", "This is a PDF, not a CSV or Excel (.xlsx) report. Export the ES-003 report as CSV or Excel."),
)


def _sniff_encoding(head: bytes) -> str:
    """Text encoding of a CSV from its first bytes; binary data is rejected."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        # UTF-16 without a byte-order mark puts a zero beside every ASCII character; anything else
        # with zero bytes is binary.
        even, odd = head[0::2], head[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.01 * len(even):
            encoding = "utf-16-le"
        elif even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.01 * len(odd):
            encoding = "utf-16-be"
        else:
            raise FileRejected(_NOT_READABLE)
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8"
        except UnicodeDecodeError:
            # ACE exports saved by Excel on Windows. A file whose non-UTF-8 bytes come after the
            # first 64 KB is read as UTF-8; its bad bytes become U+FFFD and fail the cell they sit in.
            encoding = "cp1252"
    text = head.decode(encoding, "replace")
    if len(_CONTROL.findall(text)) * 100 > len(text):
        raise FileRejected(_NOT_READABLE)
    return encoding


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
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _open_xlsx(handle, owned, filename, total_bytes)
    for magic, message in _KNOWN_BINARY:
        if head.startswith(magic):
            raise FileRejected(message)
    encoding = _sniff_encoding(head)
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


# ---- entries ----------------------------------------------------------------------------------------

_ENTRY_FIELDS = (
    "entry_type",
    "importer_number",
    "port",
    "entry_date",
    "entry_summary_date",
    "liquidation_status",
    "liquidation_date",
    "drawback",
    "protest",
    "reconciliation",
)


def _shown(value: object) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, date):
        return f"{value:%m/%d/%Y}"
    return str(value)


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    if len(rows) > 5:
        shown += f" and {len(rows) - 5} more"
    return ("row " if len(rows) == 1 else "rows ") + shown


def build_entry(
    lines: Sequence[Line], *, liquidation_known: bool, column_names: dict[str, str] | None = None
) -> EntryFacts | list[RowError]:
    """The entry of these lines, or a RowError per line when they disagree on an entry-level field."""
    if not lines:
        raise ValueError("build_entry needs at least one line")
    lines = sorted(lines, key=lambda line: line.row_number)
    number = lines[0].entry_number
    if any(line.entry_number != number for line in lines):
        raise ValueError("build_entry got lines of more than one entry")
    names = column_names or {}
    problems: list[tuple[str, str]] = []
    for field in _ENTRY_FIELDS:
        seen: dict[object, list[int]] = {}
        for line in lines:
            seen.setdefault(getattr(line, field), []).append(line.row_number)
        if len(seen) > 1:
            values = "; ".join(f"{_shown(value)} ({_rows_text(rows)})" for value, rows in seen.items())
            problems.append(
                (field, f"the rows of this entry disagree on {names.get(field, ACE_HEADER[field])}: {values}")
            )
    # The same tariff ordinal twice would count its duty twice (two exports pasted together?).
    ordinals: dict[tuple[int, int], list[int]] = {}
    for line in lines:
        if line.line_number is not None and line.ordinal is not None:
            ordinals.setdefault((line.line_number, line.ordinal), []).append(line.row_number)
    for (line_number, ordinal), rows in ordinals.items():
        if len(rows) > 1:
            problems.append(
                (
                    "",
                    f"line {line_number} tariff ordinal {ordinal} appears more than once "
                    f"({_rows_text(rows)})",
                )
            )
    if problems:
        column = names.get(problems[0][0], ACE_HEADER.get(problems[0][0], ""))
        reason = "; ".join(reason for _, reason in problems)
        return [RowError(line.row_number, number, column, reason) for line in lines]
    first = lines[0]
    return EntryFacts(
        entry_number=number,
        entry_type=first.entry_type,
        importer_number=first.importer_number,
        port=first.port,
        entry_date=first.entry_date,
        entry_summary_date=first.entry_summary_date,
        liquidation_status=first.liquidation_status if liquidation_known else None,
        liquidation_date=first.liquidation_date if liquidation_known else None,
        drawback=bool(first.drawback),
        protest=bool(first.protest),
        reconciliation=bool(first.reconciliation),
        lines=tuple(lines),
    )


def group_entries(
    items: Iterable[Line | RowError], *, liquidation_known: bool, column_names: dict[str, str] | None = None
) -> tuple[list[EntryFacts], list[RowError]]:
    """Entries of a whole (small) report; an entry with any bad row is rejected with all its rows.

    Holds everything in memory: for tests and small files, not for the million-row import.
    """
    lines_of: dict[str, list[Line]] = {}
    errors: list[RowError] = []
    bad_rows: dict[str, list[int]] = {}
    fatal = None
    for item in items:
        if isinstance(item, Line):
            lines_of.setdefault(item.entry_number, []).append(item)
        else:
            errors.append(item)
            bad_rows.setdefault(item.entry_number, []).append(item.row_number)
            if item.fatal:
                fatal = item
    entries: list[EntryFacts] = []
    for number in sorted(lines_of):
        lines = lines_of[number]
        if fatal is not None:
            reason = f"nothing from this file was imported: {fatal.reason}"
            errors.extend(RowError(line.row_number, number, "", reason) for line in lines)
        elif number in bad_rows:
            rows = sorted(bad_rows[number])
            reason = (
                f"entry rejected: {_rows_text(rows)} {'has an error' if len(rows) == 1 else 'have errors'}"
            )
            errors.extend(RowError(line.row_number, number, "", reason) for line in lines)
        else:
            built = build_entry(lines, liquidation_known=liquidation_known, column_names=column_names)
            if isinstance(built, EntryFacts):
                entries.append(built)
            else:
                errors.extend(built)
    errors.sort(key=lambda error: error.row_number)
    return entries, errors
