"""ES-003 cell values (spec §2): each parse_* turns one cell's text into a value or raises InvalidValue
with a message for a customs clerk. Also read by the CBP report reader (domain.cbp_reports)."""

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from domain.entry_numbers import canonical, check_digit, is_well_formed
from domain.tabular import InvalidValue, header_key, show

UNLIQUIDATED, LIQUIDATED, RELIQUIDATED = "unliquidated", "liquidated", "reliquidated"
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
_EXCEL_AS_TEXT = "export the report again as CSV, or format the column as text"


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
    """One of domain.vocabulary.LIQUIDATION_STATUSES, or None when blank (the row decides what blank means)."""
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
