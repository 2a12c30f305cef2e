"""What the apps above refunds provide to it (brokerage.hooks): refunds may not import them.

Each hook says who provides it, from which AppConfig.ready().
"""

from brokerage.hooks import Hook

# protests: a client's entries under an allowed (or partially allowed) protest, {entry number: ProtestEntry
# pk}: CBP pays an allowed protest's reliquidation in the same refund report (ES-022) as CAPE refunds, so a
# row in no CAPE declaration is matched to its protest; (client=) -> dict[str, int].
allowed_protest_entries = Hook("refunds.hooks.allowed_protest_entries", default={})

# protests: record those refunds on the protest entries, in the reconciliation's transaction;
# (client_id=, paid={ProtestEntry pk: (principal, interest, refunded_on)}) -> None.
protest_refunds_record = Hook("refunds.hooks.protest_refunds_record")
