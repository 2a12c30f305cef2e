"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from .models import EntryReport
from .services import report_import


@shared_task(acks_late=True)
def import_entry_report(report_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; look it up, then enter its scope
        report = EntryReport.objects.select_related("client").get(pk=report_id)
    if report.status == EntryReport.Status.SUCCEEDED:
        return  # a redelivered message for work already done
    with scope(client=report.client):
        report_import(report=report)
