"""Refunds CBP pays by entry outside a CAPE declaration (on an allowed protest), kept in the same ledger.

CBP refunds an allowed protest's reliquidation in the same ES-022 / REV-603 / REV-613 reports as a CAPE refund,
and the client's "refunded" figures are one sum. The rows that receive such refunds belong to a higher layer
(protests.ProtestEntry) that this app may not import, so that app describes them through a hook
(refunds.hooks.refunds_outside_cape, provided in protests.apps), and the reconciliation and the totals read
them through the description.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q

# Every model registered here has these columns, as refunds.DeclarationEntry does.
REFUND_FIELDS = (
    "principal_refunded",
    "interest_refunded",
    "refunded_on",
    "refund_status",
    "refund_status_on",
    "refund_note",
)


@dataclass(frozen=True)
class OtherRefunds:
    """A tenant model whose rows CBP may refund by entry number, apart from the CAPE ledger."""

    model: type[models.Model]  # with client, entry_number and REFUND_FIELDS
    refundable: Q  # the rows CBP refunds (e.g. allowed and partially allowed protest entries)
    reference: (
        str  # the lookup of the number CBP may put in a report's claim column (e.g. the protest number)
    )


def registered() -> tuple[OtherRefunds, ...]:
    """The other ledgers, as the apps above refunds describe them (refunds.hooks.refunds_outside_cape)."""
    from . import hooks

    return tuple(hooks.refunds_outside_cape())
