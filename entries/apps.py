from django.apps import AppConfig
from django.db.models.signals import pre_delete


def _client_deleted(sender, instance, **kwargs) -> None:
    from .figures import client_figures_removed

    client_figures_removed(client_id=instance.pk)


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
        # A deleted client's deadline days leave the brokerage-wide sums in the same transaction (its
        # DeadlineFigures rows go by cascade, which no refresh sees).
        pre_delete.connect(_client_deleted, sender="clients.Client", dispatch_uid="entries.brokerage_figures")
        vocabulary.register("program", lambda: dict(Chapter99Rule.Program.choices))
        vocabulary.register("entry_flag", lambda: FLAG_LABELS)
