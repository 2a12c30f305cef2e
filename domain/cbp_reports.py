"""Reader for the files CBP sends back about CAPE: validation results, ES-022, REV-603 and REV-613 (spec §7).

Pure (stdlib + openpyxl, no Django) and streaming, with the ES-003 reader's tolerance and its shared core
(domain.tabular): CSV (comma, tab or semicolon; UTF-8 with or without a byte-order mark, UTF-16 or UTF-32,
or Windows-1252) or XLSX, found by content;
title lines above the header; headers matched by domain.tabular.header_key, so case, spacing and
punctuation do not count, and each field has a few aliases. The column mappings are in docs/CAPE.md.
Each data row becomes a Row, or a BadRow saying why it cannot be used.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO

from domain import xlsx
from domain.cbp_columns import _REFUND_STATUS_WORDS, _RESULT_WORDS, KINDS, UPLOAD_FAILURES, Column
from domain.es003.values import parse_date, parse_entry_number, parse_money
from domain.tabular import (
    HEADER_SEARCH_ROWS,
    SNIFF_BYTES,
    ZIP_MAGIC,
    FileRejected,
    InvalidValue,
    Memo,
    header_key,
    show,
    sniff_encoding,
)

__all__ = ["FileRejected", "KINDS", "BadRow", "Reader", "Row", "open_cbp_report"]

MAX_CLAIM_CHARS = 40


@dataclass(frozen=True, slots=True)
class Row:
    row_number: int
    entry_number: str
    claim_number: str = ""
    result: str = ""  # accepted / rejected (results)
    reason: str = ""  # CBP's rejection reason (results) or ACH return reason (REV-613)
    principal_cents: int | None = None
    interest_cents: int | None = None
    refund_status: str = (
        ""  # sent / issued / diverted / ach_returned (REV-603; REV-613 rows are ach_returned)
    )
    on_date: date | None = None


@dataclass(frozen=True, slots=True)
class BadRow:
    row_number: int
    entry_text: str
    claim_number: str
    reason: str


_PLAIN_CENTS = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]{1,2}))?", re.ASCII)


def unwrap_excel_text(cell: str) -> str:
    """``="D9P60332970"`` -> ``D9P60332970``: the text-cell formula Excel and the ACE Portal write so that a
    number keeps its leading zeros. Anything else is returned as it is."""
    if len(cell) >= 3 and cell[0] == "=" and cell[1] == '"' and cell[-1] == '"':
        return cell[2:-1].replace('""', '"')
    return cell


def _unwrapped(cells: list[str]) -> list[str]:
    return [unwrap_excel_text(c) if c[:2] == '="' else c for c in cells]


def _cents(text: str, label: str) -> int | None:
    """Integer cents: 1234.5 and 1234.56 directly (what ACE exports), anything else through parse_money."""
    match = _PLAIN_CENTS.fullmatch(text)
    if match:
        sign, whole, fraction = match.groups()
        cents = int(whole) * 100 + (int(fraction.ljust(2, "0")) if fraction else 0)
        return -cents if sign else cents
    amount = parse_money(text, label)
    return None if amount is None else int(amount * 100)


def _claim(text: str) -> str:
    value = text.strip().upper()
    plain = value.replace("-", "")
    if value and (len(value) > MAX_CLAIM_CHARS or not (plain.isascii() and plain.isalnum())):
        raise InvalidValue(f"claim number {show(text)} should be letters, digits and dashes")
    return value


def _word(words: dict[str, str], label: str, expected: str):
    def parse(text: str) -> str:
        value = words.get(header_key(text))
        if value is None:
            raise InvalidValue(f"{label} {show(text)} is not one we know (expected {expected})")
        return value

    return parse


_DATE_LABELS = {
    "es022": "refund date",
    "rev603": "status date",
    "rev613": "return date",
    "protest_decisions": "decision date",
}


class _RowParser:
    """One kind's cells -> Row or BadRow. Entry numbers in `known` (the ledger's, checked when they were
    stored) skip the check-digit test; every other number gets it, with the reason when it fails."""

    def __init__(self, kind: str, columns: dict[str, int], known: Container[str]):
        self.kind = kind
        self.known = known
        self.positions = [columns.get(f) for f in ("entry_number", "claim_number", "result", "reason")]
        self.positions += [columns.get(f) for f in ("principal", "interest", "on_date", "refund_status")]
        self.claims = Memo(_claim)
        label = _DATE_LABELS.get(kind, "date")
        self.dates = Memo(lambda text: parse_date(text, label))
        self.results = Memo(_word(_RESULT_WORDS, "status", "Entry Summary Updated or Failed"))
        self.statuses = Memo(
            _word(
                _REFUND_STATUS_WORDS,
                "refund status",
                "Sent to Treasury, Treasury Issued, Funds Diverted or Check/ACH Returned",
            )
        )

    def __call__(self, cells: Sequence[str], row_number: int) -> Row | BadRow:
        count = len(cells)
        entry_at, claim_at, result_at, reason_at, principal_at, interest_at, date_at, status_at = (
            self.positions
        )
        entry_text = cells[entry_at] if entry_at < count else ""
        claim_text = cells[claim_at] if claim_at is not None and claim_at < count else ""
        try:
            number = entry_text.strip()
            if number not in self.known:
                number = parse_entry_number(entry_text)
            claim = self.claims[claim_text]
            kind = self.kind
            on_date = None
            if kind != "results" and date_at is not None and date_at < count:
                on_date = self.dates[cells[date_at]]
            if kind == "es022":
                principal = _cents(cells[principal_at] if principal_at < count else "", "principal amount")
                if principal is None:
                    raise InvalidValue("principal amount is missing")
                interest = 0
                if interest_at is not None and interest_at < count:
                    interest = _cents(cells[interest_at], "interest amount") or 0
                return Row(row_number, number, claim, "", "", principal, interest, "", on_date)
            reason = ""
            if reason_at is not None and reason_at < count:
                reason = " ".join(cells[reason_at].split())
            if kind == "results":
                word = cells[result_at] if result_at < count else ""
                result = self.results[word]
                if result == "rejected" and not reason:
                    reason = UPLOAD_FAILURES.get(header_key(word), "")
                return Row(row_number, number, claim, result, "" if result == "accepted" else reason[:1000])
            if kind == "rev603":
                status = self.statuses[cells[status_at] if status_at < count else ""]
                return Row(row_number, number, claim, refund_status=status, on_date=on_date)
            if kind == "protest_decisions":  # the decision's words are the protests app's to read
                allowed = None
                if principal_at is not None and principal_at < count:
                    allowed = _cents(cells[principal_at], "allowed amount")
                return Row(
                    row_number, number, claim, reason=reason[:200], principal_cents=allowed, on_date=on_date
                )
            # REV-613: every row is a refund the bank sent back.
            return Row(
                row_number, number, claim, reason=reason[:200], refund_status="ach_returned", on_date=on_date
            )
        except InvalidValue as problem:
            return BadRow(row_number, entry_text.strip()[:64], claim_text.strip()[:64], problem.reason)


def _resolve_header(kind: str, cells: Sequence[str]) -> dict[str, int]:
    """field -> column position for the columns of this kind found among cells (best alias wins)."""
    wanted: dict[str, tuple[str, int]] = {}
    for column in KINDS[kind]:
        for priority, name in enumerate((column.header, *column.aliases)):
            wanted.setdefault(header_key(name), (column.field, priority))
    found: dict[str, tuple[int, int]] = {}
    for position, text in enumerate(cells):
        match = wanted.get(header_key(str(text).strip("\ufeff")))
        if match is None:
            continue
        field, priority = match
        if field not in found or priority < found[field][1]:
            found[field] = (position, priority)
    return {field: position for field, (position, _) in found.items()}


def _missing(kind: str, columns: dict[str, int]) -> list[Column]:
    return [c for c in KINDS[kind] if c.required and c.field not in columns]


def _scan(kind: str, records: Sequence[Sequence[str]]) -> tuple[int, dict[str, int]] | None:
    """(header row number, columns) of the first row that has every required column of the kind."""
    for number, cells in enumerate(records, start=1):
        columns = _resolve_header(kind, cells)
        if columns and not _missing(kind, columns):
            return number, columns
    return None


def _no_header(kind: str, records: Sequence[Sequence[str]]) -> FileRejected:
    best: dict[str, int] = {}
    for cells in records:
        columns = _resolve_header(kind, cells)
        if len(columns) > len(best):
            best = columns
    needed = ", ".join(f"'{c.header}'" for c in _missing(kind, best))
    return FileRejected(
        f"No header row with the columns this report needs was found in the first {HEADER_SEARCH_ROWS} rows: "
        f"missing {needed}. Check that the file is the right kind of report."
    )


_NOT_READABLE = "This file is not a CSV or Excel (.xlsx) report."


class Reader:
    """An open CBP report: its kind, header facts, and rows on demand (once)."""

    def __init__(
        self,
        *,
        kind: str,
        format: str,
        header_row: int,
        columns: dict[str, int],
        rows,
        closer,
        tell=lambda: 0,
    ):
        self.kind = kind
        self.format = format
        self.header_row_number = header_row
        self.columns = columns
        self.has_claim_numbers = "claim_number" in columns
        self.known_entry_numbers: Container[str] = frozenset()
        self.rows_read = 0
        self._rows = rows
        self._closer = closer
        self._tell = tell

    def rows(self) -> Iterator[Row | BadRow]:
        """Each data row once; blank rows are skipped. Set known_entry_numbers first to skip their check."""
        parse = _RowParser(self.kind, self.columns, self.known_entry_numbers)
        width = max(self.columns.values()) + 1
        header = self.header_row_number
        for row_number, cells in self._rows:
            self.rows_read = row_number - header
            for cell in cells[:width]:
                if cell and not cell.isspace():
                    yield parse(cells, row_number)
                    break

    def position(self) -> int:
        """Bytes of the file read so far (0 when unknown), for a progress estimate."""
        try:
            return self._tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_cbp_report(source: str | os.PathLike | IO[bytes], *, kind: str) -> Reader:
    """Open a CBP report of this kind (see KINDS); FileRejected when it cannot be reconciled at all."""
    if kind not in KINDS:
        raise ValueError(f"unknown CBP report kind {kind!r}")
    owned = isinstance(source, str | os.PathLike)
    handle: IO[bytes] = open(source, "rb") if owned else source  # noqa: SIM115  closed by Reader.close()
    try:
        handle.seek(0)
        head = handle.read(SNIFF_BYTES)
        handle.seek(0)
        if not head.strip():
            raise FileRejected("The file is empty.")
        if head.startswith(ZIP_MAGIC):
            return _open_xlsx(handle, kind, owned)
        return _open_csv(handle, kind, owned, sniff_encoding(head, not_readable=_NOT_READABLE))
    except FileRejected:
        if owned:
            handle.close()
        raise
    except Exception as exc:
        if owned:
            handle.close()
        raise FileRejected("This file could not be read as a CSV or Excel (.xlsx) report.") from exc


def _open_csv(handle: IO[bytes], kind: str, owned: bool, encoding: str) -> Reader:
    for delimiter in (",", "\t", ";"):
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
        records = []
        try:
            for cells in csv.reader(text, delimiter=delimiter):
                records.append(_unwrapped(cells))
                if len(records) == HEADER_SEARCH_ROWS:
                    break
        except csv.Error as exc:
            text.detach()
            raise FileRejected(f"This file is not valid CSV near row {len(records) + 1} ({exc}).") from exc
        text.detach()
        found = _scan(kind, records)
        if found is None:
            continue
        header_row, columns = found
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)

        def rows(reader=reader, header_row=header_row):
            # Row numbers count records as a spreadsheet shows them (the header row is one of them).
            for number, cells in enumerate(reader, start=1):
                if number > header_row:
                    yield number, _unwrapped(cells)

        def close(text=text):
            try:
                text.detach()
            except ValueError:
                pass
            if owned:
                handle.close()

        return Reader(
            kind=kind,
            format="csv",
            header_row=header_row,
            columns=columns,
            rows=rows(),
            closer=close,
            tell=handle.tell,
        )
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    records = [cells for _, cells in zip(range(HEADER_SEARCH_ROWS), csv.reader(text), strict=False)]
    text.detach()
    raise _no_header(kind, records)


_XLSX_CONVERTERS = {
    "entry_number": xlsx.entry_number_text,
    "principal": xlsx.money_text,
    "interest": xlsx.money_text,
    "on_date": xlsx.date_text,
}


def _open_xlsx(handle: IO[bytes], kind: str, owned: bool) -> Reader:
    try:
        xlsx.check_archive(handle)
        handle.seek(0)
        workbook = xlsx.open_workbook(handle)
    except xlsx.WorkbookRejected as exc:
        raise FileRejected(str(exc)) from exc
    all_records: list[list[str]] = []
    for sheet in workbook.worksheets:
        records = [[xlsx.header_text(v) for v in row] for row in xlsx.sheet_rows(sheet, HEADER_SEARCH_ROWS)]
        all_records.extend(records)
        found = _scan(kind, records)
        if found is None:
            continue
        header_row, columns = found
        converters = [(p, _XLSX_CONVERTERS.get(f, xlsx.code_text)) for f, p in columns.items()]
        size = max(columns.values()) + 1

        def rows(sheet=sheet, header_row=header_row, converters=converters, size=size):
            for number, values in enumerate(xlsx.sheet_rows(sheet), start=1):
                if number <= header_row:
                    continue
                cells = [""] * size
                for position, convert in converters:
                    if position < len(values) and (value := values[position]) is not None:
                        cells[position] = convert(value)
                yield number, cells

        def close():
            workbook.close()
            if owned:
                handle.close()

        return Reader(
            kind=kind, format="xlsx", header_row=header_row, columns=columns, rows=rows(), closer=close
        )
    workbook.close()
    raise _no_header(kind, all_records)
