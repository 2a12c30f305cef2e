from django.apps import AppConfig


class ProtestsConfig(AppConfig):
    name = "protests"
    verbose_name = "Protests (CBP Form 19)"

    def ready(self):
        # The refunds CBP pays on allowed protests arrive in the CAPE refund report, read by refunds, which sits
        # below protests and may not import it (tests/test_layers.py): given through refunds' hooks.
        from refunds import hooks

        from . import following

        hooks.allowed_protest_entries.provide(following.allowed_protest_entries)
        hooks.protest_refunds_record.provide(following.protest_refunds_record)
