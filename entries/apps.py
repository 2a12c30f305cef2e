from django.apps import AppConfig


class EntriesConfig(AppConfig):
    name = "entries"
    verbose_name = "Entries and ACE reports"

    def ready(self):
        # What clients shows of entries (the overview's figures, the words of programs and flags), given
        # through its hook and vocabulary: clients sits below entries and may not import it
        # (tests/test_layers.py).
        from clients import hooks, vocabulary

        from . import selectors
        from .models import Chapter99Rule
        from .services import FLAG_LABELS

        hooks.overview_entries.provide(selectors.client_overview)
        vocabulary.register("program", lambda: dict(Chapter99Rule.Program.choices))
        vocabulary.register("entry_flag", lambda: FLAG_LABELS)
