"""Drill: PostgreSQL restarted while the daily jobs run on a real worker.

The jobs run against a private PostgreSQL cluster (initdb under /tmp, its own port) holding a copy of
the test database; the test restarts that cluster in the middle of each job, then compares what the job
left with an uninterrupted run of the same job on the test database.

* Re-classification: a client's transaction is caught open (its rows are held by a second session so
  that the restart lands mid-client, after earlier clients committed); the task fails with
  OperationalError, retries after 5 s and finishes; entries and history equal the uninterrupted run.
* Reminders: the restart happens while a digest email is being handed to the mail server (the worst
  moment: the email goes out, its record's commit fails); each person still gets exactly one email.
"""

import os
import re
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.files import File
from django.db import connection
from django_scopes import scope

from bench.ingest import generate_csv
from entries.ingestion.services import report_import, report_upload
from entries.models import Entry, EntryReport
from entries.reminders.services import reminders_send
from entries.tasks import reclassify_all_clients, send_deadline_reminders
from tests.conftest import wait_for
from tests.factories import ClientFactory, assign, importer_number, member, staff_user
from tests.reliability.helpers import record_figures
from tests.reliability.servers import SmtpSink, private_postgres_or_skip

pytestmark = pytest.mark.services

IMPORTED_AS_OF = date(2026, 11, 23)
RECLASSIFIED_AS_OF = date(2027, 5, 3)  # windows have closed, liquidations passed: paths move
CLIENTS = 5
ROWS_PER_CLIENT = 10_000
HELD_CLIENT = 2  # the third client's transaction is open when the server restarts


@pytest.fixture(scope="module")
def private_postgres():
    from django.conf import settings

    from tests.conftest import _services_missing_reason

    reason = _services_missing_reason(settings)  # the worker needs them: do not start a cluster for nothing
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    cluster = private_postgres_or_skip()
    yield cluster
    cluster.stop()


def _fetch(cursor, sql: str) -> list[tuple]:
    cursor.execute(sql)
    return cursor.fetchall()


def _task_finished(worker, task: str, times: int = 1) -> bool:
    log = Path(worker.log_path).read_text()
    if re.search(rf"{task}\[[^\]]+\] raised unexpected", log):
        pytest.fail(f"{task} failed on the worker:\n{log[-3000:]}")
    return len(re.findall(rf"{task}\[[^\]]+\] succeeded", log)) >= times


ENTRY_STATE = (
    "SELECT client_id, entry_number, refund_path, exclusion_reason, projected_liquidation, cape_window_closes, "
    "protest_deadline, next_deadline, next_deadline_kind, explanation, rule_set_version, registry_version, "
    "classified_as_of FROM entries_entry ORDER BY client_id, entry_number"
)
HISTORY = (
    "SELECT h.client_id, e.entry_number, h.field, h.from_value, h.to_value, h.effective_on "
    "FROM entries_entryhistory h JOIN entries_entry e ON e.id = h.entry_id ORDER BY 1, 2, 3, 4, 5, 6"
)


def test_postgres_restart_mid_reclassification_is_retried_and_equals_an_uninterrupted_run(
    private_postgres, start_celery_worker, settings, tmp_path
):
    clients = []
    for n in range(CLIENTS):
        client = ClientFactory(slug=f"drill-{n}")
        number = f"{40 + n}-{418305200 + n:09d}"
        importer_number(client, number)
        path = tmp_path / f"client-{n}.csv"
        generate_csv(path, ROWS_PER_CLIENT, (number,), seed=n)
        with scope(client=client), path.open("rb") as handle:
            report, _ = report_upload(
                actor=None, client=client, uploaded=File(handle, name=path.name), enqueue=False
            )
            report_import(report=report, as_of=IMPORTED_AS_OF)
            assert report.status == EntryReport.Status.SUCCEEDED, report.message
            assert Entry.objects.count() == ROWS_PER_CLIENT // 5
        clients.append(client)
    private_postgres.copy_of(settings.DATABASES["default"], "drill_reclassify")

    # A second session holds the third client's entries: the job commits clients 1 and 2, then waits
    # inside client 3's transaction, where the restart finds it.
    holder = private_postgres.connect("drill_reclassify", autocommit=False)
    holder.execute("SELECT id FROM entries_entry WHERE client_id = %s FOR UPDATE", [clients[HELD_CLIENT].pk])
    watcher = private_postgres.connect("drill_reclassify")
    worker = start_celery_worker(env={"DATABASE_URL": private_postgres.url("drill_reclassify")})
    reclassify_all_clients.delay(as_of=RECLASSIFIED_AS_OF.isoformat())

    def job_waiting_inside_client_3():
        waiting = watcher.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = 'drill_reclassify' AND wait_event_type = 'Lock'"
        ).fetchone()[0]
        return waiting > 0

    wait_for(
        job_waiting_inside_client_3, timeout=60, interval=0.1, message="the job to reach the third client"
    )
    done_before = watcher.execute(
        "SELECT COUNT(DISTINCT client_id) FROM entries_entry WHERE classified_as_of = %s",
        [RECLASSIFIED_AS_OF],
    ).fetchone()[0]
    watcher.close()
    assert done_before == HELD_CLIENT  # clients 1 and 2 committed before the restart
    restart_seconds = private_postgres.restart()
    holder.close()
    restarted = time.monotonic()
    wait_for(lambda: _task_finished(worker, "reclassify_all_clients"), timeout=90, message="the retried job")
    finished_after = time.monotonic() - restarted
    log = Path(worker.log_path).read_text()
    assert "retry: Retry in 5s" in log and "OperationalError" in log  # failed with the restart, retried

    reclassify_all_clients.apply(kwargs={"as_of": RECLASSIFIED_AS_OF.isoformat()})  # the reference run
    with connection.cursor() as cursor:
        expected_entries, expected_history = _fetch(cursor, ENTRY_STATE), _fetch(cursor, HISTORY)
    with private_postgres.connect("drill_reclassify") as drilled, drilled.cursor() as cursor:
        entries, history = _fetch(cursor, ENTRY_STATE), _fetch(cursor, HISTORY)
    assert len(expected_history) > CLIENTS  # the date moved paths and deadlines of every client
    assert entries == expected_entries
    assert history == expected_history  # no change recorded twice, none lost
    record_figures(
        "postgres_restart_reclassification",
        {
            "clients": CLIENTS,
            "entries": len(entries),
            "clients_committed_before_restart": done_before,
            "restart_s": round(restart_seconds, 1),
            "restart_to_job_succeeded_s": round(finished_after, 1),
            "history_rows_compared": len(history),
            "differences": 0,
        },
    )


REMINDED_ON = date(2026, 12, 1)
REMINDER_CLIENTS = 24
RESTART_AT_EMAIL = 8


def test_postgres_restart_while_reminders_are_sent_sends_none_twice(
    private_postgres, start_celery_worker, settings, transactional_db
):
    staff = staff_user()
    for n in range(REMINDER_CLIENTS):
        client = ClientFactory()
        member(client, role="client_admin")
        assign(client, staff)
        with scope(client=client):
            for k, days in enumerate((2, 7, 20)):
                Entry.objects.create(
                    client=client,
                    entry_number=f"D{n:02d}{k:08d}",
                    refund_path="cape_phase1",
                    ieepa_duty=Decimal("1250.00"),
                    next_deadline=REMINDED_ON + timedelta(days=days),
                    next_deadline_kind="cape_window_closes",
                )
    private_postgres.copy_of(settings.DATABASES["default"], "drill_reminders")

    restart = {}

    def restart_mid_send(number: int) -> None:
        if number == RESTART_AT_EMAIL:  # this email is out; the worker's transaction dies before its commit
            restart["seconds"] = private_postgres.restart()
            restart["at"] = time.monotonic()

    sink = SmtpSink(on_message=restart_mid_send)
    try:
        worker = start_celery_worker(
            env={
                "DATABASE_URL": private_postgres.url("drill_reminders"),
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(sink.port),
            }
        )
        send_deadline_reminders.delay(as_of=REMINDED_ON.isoformat())
        wait_for(
            lambda: _task_finished(worker, "send_deadline_reminders"), timeout=90, message="the reminders"
        )
        finished_after = time.monotonic() - restart["at"]
        send_deadline_reminders.delay(as_of=REMINDED_ON.isoformat())  # tomorrow's beat, or a stray retry
        wait_for(
            lambda: _task_finished(worker, "send_deadline_reminders", 2), timeout=60, message="the re-run"
        )
        received = Counter(sink.received)
    finally:
        sink.close()

    reminders_send(today=REMINDED_ON)  # the reference: the same day, uninterrupted, on the test database
    expected = Counter(to for message in mail.outbox for to in message.to)
    items = (
        "SELECT recipient_id, client_id, entry_number, reason, deadline, threshold FROM clients_sentreminder "
        "ORDER BY 1, 2, 3, 4, 5, 6"
    )
    with connection.cursor() as cursor:
        expected_items = _fetch(cursor, items)
    with private_postgres.connect("drill_reminders") as drilled, drilled.cursor() as cursor:
        drilled_items = _fetch(cursor, items)
        digests = _fetch(cursor, "SELECT recipient_id, COUNT(*) FROM clients_reminderdigest GROUP BY 1")

    assert "seconds" in restart  # the server was restarted mid-run...
    # ...after the 8th email was handed over and before its record was committed: recorded again.
    assert "was sent as the database went away; recorded again" in Path(worker.log_path).read_text()
    assert len(expected) == REMINDER_CLIENTS + 1  # every client admin, and the staff member
    assert received == expected  # the same people...
    assert set(received.values()) == {1}  # ...each exactly once
    assert drilled_items == expected_items and all(count == 1 for _, count in digests)
    record_figures(
        "postgres_restart_reminders",
        {
            "recipients": len(expected),
            "emails_sent": sum(received.values()),
            "restart_during_email": RESTART_AT_EMAIL,
            "restart_s": round(restart["seconds"], 1),
            "restart_to_job_succeeded_s": round(finished_after, 1),
            "sent_reminder_rows_compared": len(drilled_items),
            "duplicates": 0,
        },
    )
