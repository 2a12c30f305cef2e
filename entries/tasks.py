"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from .models import EntryReport
from .services import report_import


@shared_task(bind=True, acks_late=True)
def import_entry_report(self, report_id: int) -> None:
    with scopes_disabled():  # the id alone does not tell the client; look it up, then claim it
        claimed = EntryReport.objects.filter(pk=report_id, status=EntryReport.Status.PENDING).update(
            status=EntryReport.Status.RUNNING
        )
        report = EntryReport.objects.select_related("client").get(pk=report_id)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if not claimed and not (redelivered and report.status == EntryReport.Status.RUNNING):
        # Done already, or another worker holds it (the sweeper queued a report a busy worker was about
        # to start). A message redelivered after its worker died finds it RUNNING and goes on.
        return
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


@shared_task
def sweep_queued_reports() -> int:
    """Every few minutes: imports that never reached a worker (the broker was down) are queued again."""
    from .services import reports_sweep_queued

    return len(reports_sweep_queued())


@shared_task(bind=True, acks_late=True, max_retries=6)
def send_deadline_reminders(self, as_of: str | None = None) -> dict:
    """Daily: one reminder digest per person. Safe to run again: each reminder is recorded once sent."""
    from datetime import date

    from .reminder_services import reminders_send

    counts = reminders_send(today=date.fromisoformat(as_of) if as_of else None)
    if counts["failed"]:  # the mail server refused some: those were not recorded, so a re-run sends them
        raise self.retry(countdown=15 * 60)
    return counts
