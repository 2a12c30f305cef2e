"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from .letters import tasks as letters_tasks  # noqa: F401  (Celery's autodiscovery imports clients.tasks only)
from .models import AuditExport
from .onboarding import tasks as onboarding_tasks  # noqa: F401
from .services import audit_export_build


@shared_task(acks_late=True)
def build_audit_export(export_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; look it up, then enter its scope
        export = AuditExport.objects.select_related("client").get(pk=export_id)
    with scope(client=export.client):
        audit_export_build(export=export)
