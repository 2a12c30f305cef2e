"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django_scopes import scopes_disabled

from brokerage.queueing import ScopedTask

from .models import CbpReport
from .services import cbp_report_process


@shared_task(base=ScopedTask, bind=True, acks_late=True)
def reconcile_cbp_report(self, report_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; claim the report by id
        claimed = CbpReport.objects.filter(pk=report_id, status=CbpReport.Status.PENDING).update(
            status=CbpReport.Status.RUNNING
        )
    with self.client_scope(CbpReport, report_id, related=("declaration", "created_by")) as report:
        if not claimed and not (self.redelivered and report.status == CbpReport.Status.RUNNING):
            # Done already, or another worker holds it; a message redelivered after its worker died goes on.
            return
        cbp_report_process(report=report)
