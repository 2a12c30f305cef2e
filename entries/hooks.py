"""What the apps above entries provide to it (brokerage.hooks): entries may not import them.

Each hook says who provides it, from which AppConfig.ready().
"""

from brokerage.hooks import Hook

# refunds: recompute a client's CAPE ledger figures (LedgerFigures) from its declarations; (client_id) -> None.
ledger_figures_refresh = Hook("entries.hooks.ledger_figures_refresh")

# refunds: a Q on Entry for "in a live CAPE declaration", so a reminder is not sent for a deadline the
# client has acted on; () -> Q | None.
in_live_declaration = Hook("entries.hooks.in_live_declaration")

# refunds: the IRS overpayment rates staff keep (InterestRate) as domain.interest's table; () -> RateTable | None.
interest_rate_table = Hook("entries.hooks.interest_rate_table")
