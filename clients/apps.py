from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Clients, people and access"

    def ready(self):
        from . import signals  # noqa: F401 — connects the security log receivers
