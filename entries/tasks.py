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


@shared_task(acks_late=True)
def reclassify_all_clients(as_of: str | None = None) -> dict:
    """The daily job: paths move with time. One client at a time, each in its own scope."""
    from datetime import date

    from django.utils import timezone

    from clients.models import Client

    from .reclassification import entries_reclassify
    from .registry import current_registry

    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    registry = current_registry()
    totals = {"clients": 0, "checked": 0, "changed": 0}
    for client in Client.objects.filter(is_active=True).order_by("pk"):
        with scope(client=client):
            result = entries_reclassify(client=client, as_of=day, registry=registry)
        totals["clients"] += 1
        totals["checked"] += result.checked
        totals["changed"] += result.changed
    return totals


@shared_task(acks_late=True)
def reclassify_after_registry_change() -> None:
    """A Chapter 99 rule changed: recompute line programs and duty totals, then every path."""
    from django.utils import timezone

    from clients.models import Client

    from .reclassification import entries_reclassify
    from .registry import current_registry
    from .services import entries_recompute_programs

    registry = current_registry()
    today = timezone.localdate()
    for client in Client.objects.order_by("pk"):
        with scope(client=client):
            entries_recompute_programs(client=client, registry=registry)
            entries_reclassify(client=client, as_of=today, registry=registry)


@shared_task(acks_late=True)
def route_broker_report(report_id: int) -> None:
    from .models import BrokerReport
    from .routing import broker_report_route

    report = BrokerReport.objects.get(pk=report_id)  # staff-side row: not tenant-scoped
    if report.status == BrokerReport.Status.SUCCEEDED:
        return
    broker_report_route(report=report)
