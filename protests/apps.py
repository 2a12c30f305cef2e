from django.apps import AppConfig


class ProtestsConfig(AppConfig):
    name = "protests"
    verbose_name = "Protests (CBP Form 19)"

    def ready(self) -> None:
        # CBP refunds an allowed protest's entries in the CAPE refund reports (ES-022, REV-603, REV-613), read by
        # refunds, which sits below protests and may not import it (tests/test_layers.py): the protest entries
        # join the refund ledger through refunds' hooks.
        from refunds import hooks

        from . import following

        hooks.refunds_outside_cape.provide(following.refunds_outside_cape)
