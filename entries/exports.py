"""Entry exports: the export_entries command's CSV and the entries page's CSV/XLSX downloads."""

from collections.abc import Iterator
from dataclasses import fields
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from brokerage.spreadsheets import safe_cell
from clients.models import Client
from domain.classification import Classification

from .models import Entry
from .reclassification import FACT_FIELDS, classify_facts
from .registry import current_registry

# The first eight columns are an interface other tools rely on: never reorder or rename them.
EXPORT_COLUMNS = (
    "entry_number",
    "refund_path",
    "exclusion_reason",
    "ieepa_duty",
    "section_122_duty",
    "projected_liquidation",
    "cape_window_closes",
    "protest_deadline",
    "next_deadline",
    "next_deadline_kind",
    "entry_type",
    "importer_number",
    "entry_date",
    "entry_summary_date",
    "liquidation_status",
    "liquidation_date",
    "explanation",
)


# The columns the classification as of the day gives; the others are the entry's stored facts.
_CLASSIFIED = frozenset(field.name for field in fields(Classification)) & set(EXPORT_COLUMNS)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def entry_export_rows(*, client: Client, as_of: date, entries: QuerySet | None = None) -> Iterator[list[str]]:
    """Rows classified as of the date from the stored facts, sorted by entry number; nothing is written."""
    registry = current_registry()
    entries = entries if entries is not None else Entry.objects.filter(client=client)
    extra = ("importer_number",)
    for facts in entries.order_by("entry_number").values(*FACT_FIELDS, *extra).iterator(chunk_size=5000):
        c = classify_facts(facts, as_of=as_of, registry=registry)
        yield [
            _text(getattr(c, column) if column in _CLASSIFIED else facts[column]) for column in EXPORT_COLUMNS
        ]


def stored_export_rows(*, entries: QuerySet) -> Iterator[list[str]]:
    """The page's export: the classification as stored and shown on the page, in the same columns.

    Every export column is an Entry field of the same name, so the stored values read straight across.
    """
    for row in entries.order_by("entry_number").values_list(*EXPORT_COLUMNS).iterator(chunk_size=5000):
        yield [_text(v) for v in row]


def human_rows(rows: Iterator[list[str]]) -> Iterator[list]:
    """For people's spreadsheets: formula-like text neutralised (the machine CSV above stays exact)."""
    for row in rows:
        yield [safe_cell(v) for v in row]
