from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = "CAPE declarations and refunds"

    def ready(self):
        # What entries needs from the CAPE ledger and the interest rates, given through its hooks, and the
        # words of declaration statuses for clients' vocabulary: both sit below refunds and may not import it
        # (tests/test_layers.py).
        from clients import vocabulary
        from entries import hooks

        from . import figures, planning, selectors
        from .models import Declaration

        vocabulary.register("declaration_status", lambda: dict(Declaration.Status.choices))
        hooks.ledger_figures_refresh.provide(figures.ledger_figures_refresh)
        hooks.in_live_declaration.provide(selectors.entries_in_live_declaration)
        hooks.interest_rate_table.provide(planning.interest_rate_table)
