"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from .models import CbpReport
from .services import cbp_report_process


@shared_task(bind=True, acks_late=True)
def reconcile_cbp_report(self, report_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; look it up, then claim it
        claimed = CbpReport.objects.filter(pk=report_id, status=CbpReport.Status.PENDING).update(
            status=CbpReport.Status.RUNNING
        )
        report = CbpReport.objects.select_related("client", "declaration", "created_by").get(pk=report_id)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if not claimed and not (redelivered and report.status == CbpReport.Status.RUNNING):
        # Done already, or another worker holds it; a message redelivered after its worker died goes on.
        return
    with scope(client=report.client):
        cbp_report_process(report=report)
