"""The import lease: a live worker's import is never taken over; a dead worker's is, by a redelivered
message or by the sweeper. The lease is a PostgreSQL session lock, so "a worker" here is a second
database session that takes the lease and is then closed, as a killed worker's session is."""

import os

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from entries.ingestion import services as ingestion_services
from entries.ingestion.services import reports_sweep_queued
from entries.models import Entry, EntryReport
from entries.tasks import import_entry_report
from tests.conftest import wait_for
from tests.entries.helpers import keep


@pytest.fixture
def postgresql(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        reason = "the import lease is a PostgreSQL advisory lock: set DATABASE_URL"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


def _other_worker_session(report_id: int) -> psycopg.Connection:
    """Another process's database session holding the report's import lease."""
    params = connection.get_connection_params()
    session = psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")},
        autocommit=True,
    )
    session.execute("SELECT pg_advisory_lock(%s, %s)", [ingestion_services._LOCK_IMPORT, report_id])
    return session


def _die(session: psycopg.Connection) -> None:
    """The worker dies: its connection closes, and its server process ends (a moment later)."""
    pid = session.info.backend_pid
    session.close()

    def gone():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # the test runs in one transaction
            cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            return cursor.fetchone()[0] == 0

    wait_for(gone, timeout=10, interval=0.05, message="the dead worker's session to end")


def _left_running(importer) -> EntryReport:
    """A report a worker started: marked running, as the task's claim leaves it."""
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
        EntryReport.objects.filter(pk=report.pk).update(status=EntryReport.Status.RUNNING, attempts=1)
    return report


def test_a_live_workers_import_is_not_taken_over_and_a_dead_ones_is(postgresql, importer):
    report = _left_running(importer)
    later = timezone.now() + ingestion_services.SWEEP_AFTER * 2
    worker = _other_worker_session(report.pk)
    try:
        import_entry_report.apply(args=(report.pk,))  # a second delivery while the worker is alive
        with scope(client=importer):
            report.refresh_from_db()
            assert report.status == EntryReport.Status.RUNNING and report.attempts == 1
            assert not Entry.objects.exists()
        assert reports_sweep_queued(now=later) == []  # the sweeper leaves it alone too
    finally:
        _die(worker)  # and the lease with it

    assert reports_sweep_queued(now=later) == [report.pk]  # eager in tests: taken over at once
    with scope(client=importer):
        report.refresh_from_db()
        assert report.status == EntryReport.Status.SUCCEEDED and report.attempts == 2
        assert Entry.objects.count() == 60
    assert reports_sweep_queued(now=later) == []


def test_a_redelivered_message_takes_over_a_dead_workers_import(postgresql, importer):
    report = _left_running(importer)
    _die(_other_worker_session(report.pk))
    import_entry_report.apply(args=(report.pk,))
    with scope(client=importer):
        report.refresh_from_db()
        assert report.status == EntryReport.Status.SUCCEEDED and report.attempts == 2
        assert Entry.objects.count() == 60
    import_entry_report.apply(args=(report.pk,))  # yet another copy: finds it done
    with scope(client=importer):
        report.refresh_from_db()
        assert report.attempts == 2 and Entry.objects.count() == 60
