"""An entry's stored values from its staged aggregates: money in cents back to Decimal, dates, its lines' text.

Plain values in, values out; the classification runs here (domain.classification.classify_totals), once
per new or changed entry. Used by store.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

from domain.chapter99 import Registry
from domain.classification import classify_totals

from ..models import Entry

_ENTRY_COLUMNS = (
    "entry_number",
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
    "line_count",
    "total_duty",
    "goods_value",
    "ieepa_duty",
    "section_122_duty",
    "content_hash_a",
    "content_hash_b",
    "refund_path",
    "exclusion_reason",
    "projected_liquidation",
    "cape_window_closes",
    "protest_deadline",
    "next_deadline",
    "next_deadline_kind",
    "explanation",
    "rule_set_version",
    "registry_version",
    "classified_as_of",
)


def _lines_text(lines, ieepa, s122) -> str:
    """An entry's lines and duty as its history shows them: "7 lines, IEEPA $147,433.93"."""
    text = f"{int(lines):,} line{'' if int(lines) == 1 else 's'}, IEEPA ${Decimal(str(ieepa)):,.2f}"
    if s122 and Decimal(str(s122)):
        text += f", s.122 ${Decimal(str(s122)):,.2f}"
    return text[:60]


def _typed(*names: str) -> tuple[tuple[str, str], ...]:
    """Entry columns with their database types, so that their rows go through a binary COPY.

    Formatting 200,000 entries of 33 values as text took Python about as long as the database took
    to store them.
    """
    fields = [Entry._meta.get_field(name) for name in names]
    return tuple((f.column, f.db_type(connection) or "") for f in fields)


def _entry_values(agg: tuple, *, as_of: date, registry: Registry, liquidation_known: bool) -> list:
    """The Entry columns of one aggregated entry, classified; amounts in cents."""
    (
        number,
        entry_type,
        importer,
        port,
        entry_date,
        summary_date,
        status,
        liq_date,
        drawback,
        protest,
        recon,
        line_count,
        duty_cents,
        goods_cents,
        ieepa_cents,
        s122_cents,
        hash_a,
        hash_b,
    ) = agg
    c = classify_totals(
        entry_number=number,
        entry_type=entry_type or None,
        entry_date=entry_date,
        entry_summary_date=summary_date,
        liquidation_status=status if liquidation_known else None,
        liquidation_date=liq_date,
        drawback=bool(drawback),
        protest=bool(protest),
        reconciliation=bool(recon),
        ieepa_duty=Decimal(int(ieepa_cents)).scaleb(-2),
        section_122_duty=Decimal(int(s122_cents)).scaleb(-2),
        as_of=as_of,
        registry=registry,
    )
    values = [
        number,
        entry_type or "",
        importer or "",
        port or "",
        entry_date,
        summary_date,
        status if liquidation_known else None,
        liq_date,
        bool(drawback),
        bool(protest),
        bool(recon),
        int(line_count),
        int(duty_cents),
        int(goods_cents),
        int(ieepa_cents),
        int(s122_cents),
        int(hash_a),
        int(hash_b),
        str(c.refund_path),
        str(c.exclusion_reason or c.reason or ""),
        c.projected_liquidation,
        c.cape_window_closes,
        c.protest_deadline,
        c.next_deadline,
        str(c.next_deadline_kind or ""),
        c.explanation,
        c.rule_set_version,
        c.registry_version,
        as_of,
    ]
    return values


# Spooled entry rows carry their dates as day ordinals and their amounts in cents: plain ints pickle
# about twenty times faster than date and Decimal objects, and a million-row report has 200,000
# entries to spool. The positions come from the model, so a new date or money column is covered.
_DATE_AT = tuple(
    i for i, c in enumerate(_ENTRY_COLUMNS) if Entry._meta.get_field(c).get_internal_type() == "DateField"
)


_MONEY_AT = tuple(
    i for i, c in enumerate(_ENTRY_COLUMNS) if Entry._meta.get_field(c).get_internal_type() == "DecimalField"
)


def _ordinal(value) -> int | None:
    day = _as_date(value)
    return None if day is None else day.toordinal()


def _stored(values: list) -> list:
    """A spooled entry row as the database takes it: dates and Decimal amounts again."""
    for i in _DATE_AT:
        if values[i] is not None:
            values[i] = date.fromordinal(values[i])
    for i in _MONEY_AT:
        values[i] = Decimal(values[i]).scaleb(-2)
    return values


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
