"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django.conf import settings
from django_scopes import scopes_disabled

from brokerage.queueing import ScopedTask
from clients.jobs import job_claim

from .models import CbpReport
from .services import cbp_report_give_up, cbp_report_process


@shared_task(base=ScopedTask, bind=True, acks_late=True)
def reconcile_cbp_report(self, report_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; claim the report by id
        claimed = job_claim(
            CbpReport.objects.select_related("client"),
            pk=report_id,
            redelivered=self.redelivered,
            max_attempts=settings.IMPORT_MAX_ATTEMPTS,
            give_up=cbp_report_give_up,
        )
    if claimed is None:  # done already, another worker holds it, or every attempt died
        return
    with self.client_scope(CbpReport, report_id, related=("declaration", "created_by")) as report:
        cbp_report_process(report=report)
