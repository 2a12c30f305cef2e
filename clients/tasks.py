"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task

from brokerage.queueing import ScopedTask

from .letters import tasks as letters_tasks  # noqa: F401  (Celery's autodiscovery imports clients.tasks only)
from .models import AuditExport
from .onboarding import tasks as onboarding_tasks  # noqa: F401
from .services import audit_export_build


@shared_task(base=ScopedTask, bind=True, acks_late=True)
def build_audit_export(self, export_id: int) -> None:
    with self.client_scope(AuditExport, export_id) as export:
        audit_export_build(export=export)
