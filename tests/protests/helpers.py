"""Shared arrangements for the protests tests: the client's protestable entries, built and filed protests."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django_scopes import scope

from entries.models import Entry, EntryLine
from protests.models import Protest
from protests.services import protest_drafts_build
from tests.refunds.helpers import entry_number

IOR_A = "12-345678900"


def today() -> date:
    return timezone.localdate()


def protest_entries(
    client,
    count: int,
    *,
    start: int = 0,
    days: int = 120,
    port: str = "2704",
    importer: str = IOR_A,
    path: str = "protest",
    duty: str = "100.00",
    s122: str = "0",
    status: str = "liquidated",
    hts: str = "8471300100",
    **fields,
) -> list[Entry]:
    """Entries liquidated `days` ago (as of today) with an IEEPA duty and one commodity line each."""
    liquidated = today() - timedelta(days=days) if days is not None else None
    with scope(client=client):
        entries = Entry.objects.bulk_create(
            [
                Entry(
                    client=client,
                    entry_number=entry_number(start + i),
                    entry_type="01",
                    importer_number=importer,
                    port=port,
                    entry_date=date(2025, 9, 1),
                    entry_summary_date=date(2025, 9, 10),
                    liquidation_status=status,
                    liquidation_date=liquidated,
                    ieepa_duty=Decimal(duty),
                    section_122_duty=Decimal(s122),
                    refund_path=path,
                    **fields,
                )
                for i in range(count)
            ]
        )
        EntryLine.objects.bulk_create(
            [
                EntryLine(client=client, entry=e, hts=h, duty=Decimal("1.00"))
                for e in entries
                for h in (hts, "99030125")
            ]
        )
    return entries


def build(client, actor, **kwargs) -> list[Protest]:
    with scope(client=client):
        return protest_drafts_build(actor=actor, client=client, as_of=kwargs.pop("as_of", today()), **kwargs)
