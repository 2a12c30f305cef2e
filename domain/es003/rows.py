"""One ES-003 row: a Line (valid) or a RowError (why not), and the fast row parser of a million-row import."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from domain.entry_numbers import canonical, is_well_formed
from domain.tabular import InvalidValue, Memo

from .values import (
    _PARSERS,
    _PLAIN_MONEY,
    LIQUIDATED,
    RELIQUIDATED,
    _protest_parser,
    parse_entry_number,
    parse_money,
    resolve_status,
)


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
    memo = {field: Memo(parser) for field, parser in _PARSERS.items()}
    m_line, m_ordinal, m_type, m_importer, m_port = (
        memo[f] for f in ("line_number", "ordinal", "entry_type", "importer_number", "port")
    )
    m_date, m_summary_date, m_hts, m_country = (
        memo[f] for f in ("entry_date", "entry_summary_date", "hts", "country_of_origin")
    )
    m_status, m_liq_date = memo["liquidation_status"], memo["liquidation_date"]
    m_drawback, m_recon = memo["drawback"], memo["reconciliation"]
    m_protest = Memo(_protest_parser(names))
    plain, decimal, money, new_line = _PLAIN_MONEY.fullmatch, Decimal, parse_money, tuple.__new__
    needs_date = (None, LIQUIDATED, RELIQUIDATED)
    # The entry-level cells of consecutive rows of one entry are the same text, so the values parsed
    # from them are too: a row whose entry-level cells equal the last parsed row's reuses that row's
    # values (entry number to reconciliation flag) and parses only its line-level cells. The cells are
    # compared as one tuple, picked in C; a row's values are remembered only once all of them parsed.
    entry_at = [i_entry] + [
        i
        for i in (i_type, i_importer, i_port, i_date, i_summary_date, i_status, i_liq_date)
        + (i_drawback, i_protest, i_recon)
        if i >= 0
    ]
    entry_cells = itemgetter(*entry_at) if len(entry_at) > 1 else lambda cells: (cells[i_entry],)
    last_cells: list = [None]
    last: tuple = ()
    last_number = [None, ""]  # an entry number's text and its canonical form (its check digit is costly)

    def entry_values(cells: Sequence[str]) -> tuple:
        raw = cells[i_entry]
        if raw == last_number[0]:
            entry = last_number[1]
        else:
            entry = parse_entry_number(raw)
            last_number[0], last_number[1] = raw, entry
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
        # As Line holds them: the fields before the line number, those between the ordinal and the HTS
        # number, and those after the country of origin.
        return (
            entry,
            (
                m_type[cells[i_type]] if i_type >= 0 else None,
                m_importer[cells[i_importer]] if i_importer >= 0 else None,
                m_port[cells[i_port]] if i_port >= 0 else None,
                entry_date,
                summary_date,
            ),
            (
                status,
                liq_date,
                m_drawback[cells[i_drawback]] if i_drawback >= 0 else None,
                m_protest[cells[i_protest]] if i_protest >= 0 else None,
                m_recon[cells[i_recon]] if i_recon >= 0 else None,
            ),
        )

    def parse(cells: Sequence[str], row_number: int) -> Line:
        nonlocal last
        key = entry_cells(cells)
        if key != last_cells[0]:
            last = entry_values(cells)
            last_cells[0] = key
        entry, middle, end = last
        text = cells[i_duty]
        duty = decimal(text) if plain(text) else money(text, "duty amount", required=True)
        goods = None
        if i_goods >= 0:
            text = cells[i_goods]
            goods = decimal(text) if plain(text) else money(text, "goods value")
        # tuple.__new__ builds the named tuple in C: Line(...) goes through its generated __new__.
        return new_line(
            Line,
            (
                row_number,
                entry,
                m_line[cells[i_line]] if i_line >= 0 else None,
                m_ordinal[cells[i_ordinal]] if i_ordinal >= 0 else None,
                *middle,
                m_hts[cells[i_hts]] if i_hts >= 0 else None,
                goods,
                duty,
                m_country[cells[i_country]] if i_country >= 0 else None,
                *end,
            ),
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
