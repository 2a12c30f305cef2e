from django.apps import AppConfig


class EntriesConfig(AppConfig):
    name = "entries"
    verbose_name = "Entries and ACE reports"

    def ready(self):
        # The client overview's entry figures, given through clients' hook: clients sits below entries and may
        # not import it (tests/test_layers.py).
        from clients import hooks

        from . import selectors

        hooks.overview_entries.provide(selectors.client_overview)
