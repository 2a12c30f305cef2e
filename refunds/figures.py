"""The CAPE ledger's share of the caseload dashboard's stored figures (entries.figures keeps the rest).

entries.figures.figures_refresh(ledger=True) calls this through entries.hooks (entries may not import
refunds); RefundsConfig.ready() provides it.
"""

from entries.models import LedgerFigures

from .models import DeclarationEntry
from .selectors import _open_rejections, _totals_aggregates, other_refund_totals


def ledger_figures_refresh(client_id: int) -> None:
    """Recompute one client's LedgerFigures from its CAPE ledger (inside figures_refresh's lock); refunds paid on
    allowed protests count as refunded, as in the ledger's totals (refunds.ledgers)."""
    wanted = ("filed", "accepted", "refunded", "refunded_principal")
    aggregates = {name: aggregate for name, aggregate in _totals_aggregates().items() if name in wanted}
    ledger = DeclarationEntry.objects.filter(client_id=client_id)
    other = other_refund_totals(client_ids=[client_id]).get(client_id)
    if not other and not ledger.exists():
        LedgerFigures.objects.filter(client_id=client_id).delete()
        return
    totals = ledger.exclude(status=DeclarationEntry.Status.RELEASED).aggregate(**aggregates)
    if other:
        totals["refunded"] += other["refunded"]
        totals["refunded_principal"] += other["refunded_principal"]
    # refunds.selectors owns the rule: rejected and not in a pending or accepted declaration since.
    totals["open_rejections"] = _open_rejections().filter(client_id=client_id).count()
    LedgerFigures.objects.update_or_create(client_id=client_id, defaults=totals)
