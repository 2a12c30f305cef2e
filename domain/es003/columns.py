"""The ES-003 columns: ACE's headers and their aliases (spec §2), and finding the header row of a file."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.tabular import FileRejected, header_key, show

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


_HEADER_KEYS = {
    header_key(name): (field, priority)
    for field, header, aliases, _ in FIELDS
    for priority, name in enumerate((header, *aliases))
}


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
