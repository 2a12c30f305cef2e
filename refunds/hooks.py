"""What the apps above refunds provide to it (brokerage.hooks): refunds may not import them.

Each hook says who provides it, from which AppConfig.ready().
"""

from brokerage.hooks import Hook

# protests: the rows CBP refunds by entry outside CAPE declarations — allowed and partially allowed protest
# entries, which CBP refunds in the same ES-022 / REV-603 / REV-613 reports — described for the reconciliation
# and the ledger's totals (refunds.ledgers.OtherRefunds); () -> tuple[OtherRefunds, ...].
refunds_outside_cape = Hook("refunds.hooks.refunds_outside_cape", default=())
