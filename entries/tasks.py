"""Thin tasks: ids in, fetch, enter the client's scope, one service call."""

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django_scopes import scope

from brokerage.bulk import asynchronous_commit
from brokerage.queueing import RETRY_ON_DATABASE_GONE, ScopedTask

from .ingestion.services import report_claim, report_import, report_import_lease


@shared_task(base=ScopedTask, bind=True, acks_late=True, reject_on_worker_lost=True)
def import_entry_report(self, report_id: int) -> None:
    # A message delivered again (its worker died, or the sweeper queued it too) finds the report finished,
    # or leased by a live worker, and stops; one whose worker died takes the import over (see the lease).
    with report_import_lease(report_id=report_id) as leased:
        if leased is False:
            return
        report = report_claim(report_id=report_id, leased=leased, redelivered=self.redelivered)
        if report is None:
            return
        with scope(client=report.client):
            report_import(report=report)


@shared_task(acks_late=True, **RETRY_ON_DATABASE_GONE)
def reclassify_all_clients(as_of: str | None = None) -> dict:
    """The daily job: paths move with time. One client at a time, each in its own scope and transaction.

    Run again after a failure it redoes only what did not commit: a client already re-classified has
    nothing left to change, so no entry history is written twice. The first run after a new rule set
    became current re-classifies every entry still under an older one and sends each client whose paths
    changed its one notice (entries.rule_changes; `manage.py reclassify_entries` runs it at once).
    """
    from datetime import date

    from django.utils import timezone

    from clients.models import Client

    from .figures import figures_refresh
    from .reclassification import entries_reclassify
    from .registry import current_registry

    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    registry = current_registry()
    totals = {"clients": 0, "checked": 0, "changed": 0, "rule_set_changes": 0, "notified_clients": 0}
    for client in Client.objects.filter(is_active=True).order_by("pk"):
        # One transaction per client whose commit does not wait for the disk: with thousands of clients
        # the waits were a third of the job (docs/PERFORMANCE.md, "Pages at scale"); a crash loses at
        # most the last clients' whole commits, which the job, being idempotent, redoes when run again.
        with transaction.atomic():
            asynchronous_commit()
            with scope(client=client):
                result = entries_reclassify(client=client, as_of=day, registry=registry)
            # The daily safety net under the dashboard's stored sums: every client's are recomputed (those
            # of a client whose entries changed were just refreshed by entries_reclassify).
            figures_refresh(client_id=client.pk, entries=not result.changed)
        totals["clients"] += 1
        totals["checked"] += result.checked
        totals["changed"] += result.changed
        totals["rule_set_changes"] += result.rule_set_changes
        totals["notified_clients"] += bool(result.rule_set_path_changes)
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


@shared_task(bind=True, acks_late=True)
def route_broker_report(self, report_id: int) -> None:
    from clients.jobs import job_claim

    from .ingestion.routing import broker_report_give_up, broker_report_route
    from .models import BrokerReport

    report = job_claim(  # staff-side rows: not tenant-scoped
        BrokerReport.objects,
        pk=report_id,
        redelivered=bool((self.request.delivery_info or {}).get("redelivered")),
        max_attempts=settings.IMPORT_MAX_ATTEMPTS,
        give_up=broker_report_give_up,
    )
    if report is not None:  # None: done already, another worker routes it, or every attempt died
        broker_report_route(report=report)


@shared_task
def sweep_queued_reports() -> int:
    """Every few minutes: imports that never reached a worker (the broker was down) are queued again."""
    from .ingestion.services import reports_sweep_queued

    return len(reports_sweep_queued())


@shared_task(**RETRY_ON_DATABASE_GONE)
def fold_brokerage_figures() -> int:
    """Every few minutes: the brokerage-wide deadline changes folded into their sums (entries.figures)."""
    from .figures import fold_brokerage_changes

    return fold_brokerage_changes()


@shared_task(bind=True, acks_late=True, **RETRY_ON_DATABASE_GONE)
def send_deadline_reminders(self, as_of: str | None = None) -> dict:
    """Daily: one reminder digest per person. Safe to run again: each reminder is recorded once sent."""
    from datetime import date

    from .reminders.services import reminders_send

    counts = reminders_send(today=date.fromisoformat(as_of) if as_of else None)
    if counts["failed"]:  # the mail server refused some: those were not recorded, so a re-run sends them
        raise self.retry(countdown=15 * 60)
    return counts
