"""ES-003 rows into entries: the rows of one entry must agree, and one bad row rejects its whole entry
(spec §3). group_entries() holds a report in memory: for tests and small files; the import streams."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from .columns import ACE_HEADER
from .rows import Line, RowError


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
