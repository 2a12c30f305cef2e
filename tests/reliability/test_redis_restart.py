"""Drill: Redis (the broker) restarts while a worker is importing a report.

A private redis-server (persistent, as docker-compose runs it) is the broker of a real worker with a
prefork pool of two, as compose runs it. While a large report is being imported the test restarts Redis, either briefly
(down for a second, back before the import ends) or for longer (down until the import has finished, so
the acknowledgement finds no broker). Then it checks what people see: the import finishes once, the
worker process is the same one and still alive, and a report uploaded after the restart is imported
without anyone restarting anything.
"""

import re
import time

import pytest
from django.core.files import File
from django_scopes import scope, scopes_disabled

from entries.ingestion.services import report_upload
from entries.models import Entry, EntryReport
from tests.conftest import wait_for
from tests.entries.helpers import SAMPLES
from tests.factories import ClientFactory, importer_number
from tests.reliability.helpers import IMPORTERS, ROWS, large_report, record_figures

pytestmark = pytest.mark.services


def _upload(client, path) -> EntryReport:
    with scope(client=client), path.open("rb") as handle:
        report, created = report_upload(actor=None, client=client, uploaded=File(handle, name=path.name))
    assert created
    return report


def _report(pk: int) -> EntryReport:
    with scopes_disabled():
        return EntryReport.objects.get(pk=pk)


@pytest.mark.parametrize("outage", ["brief", "until-the-import-ends"])
def test_worker_survives_a_redis_restart_mid_import_and_imports_the_next_upload(
    start_celery_worker, private_redis, importer, tmp_path, outage
):
    client = ClientFactory(slug="restart")
    for number in IMPORTERS:
        importer_number(client, number)
    path = tmp_path / "es003_large.csv"
    large_report(path)
    # As compose runs it: a prefork pool of two (with one process the worker happened to survive).
    worker = start_celery_worker(broker_url=private_redis.url, pool="prefork", concurrency=2)

    report = _upload(client, path)

    def mid_way():
        current = _report(report.pk)
        if current.is_finished:
            pytest.fail("the import finished before Redis could be restarted")
        return current.rows_read if current.rows_read >= ROWS * 0.2 else None

    rows_at_stop = wait_for(mid_way, timeout=60, interval=0.05, message="the import to be mid-way")
    private_redis.stop()
    stopped_at = time.monotonic()
    if outage == "brief":
        time.sleep(1)
    else:
        wait_for(lambda: _report(report.pk).is_finished, timeout=120, message="the import to end")
    assert not _report(report.pk).is_finished or outage != "brief"
    private_redis.start()
    down_for = time.monotonic() - stopped_at

    done = wait_for(
        lambda: (current := _report(report.pk)).is_finished and current,
        timeout=120,
        message="the interrupted import to finish",
    )
    assert done.status == EntryReport.Status.SUCCEEDED, done.message
    assert done.attempts == 1  # finished once, by the worker that had it
    assert worker.poll() is None, "the worker died:\n" + worker.log_path.read_text()[-4000:]

    # A new upload after the restart: queued through the restarted Redis, imported by the same worker.
    uploaded_at = time.monotonic()
    sample = tmp_path / "es003_basic.csv"
    sample.write_bytes((SAMPLES / "es003_basic.csv").read_bytes())
    later = _upload(importer, sample)
    later = wait_for(
        lambda: (current := _report(later.pk)).is_finished and current,
        timeout=60,
        message="the upload made after the restart to be imported",
    )
    next_import_s = time.monotonic() - uploaded_at
    assert later.status == EntryReport.Status.SUCCEEDED, later.message
    with scope(client=importer):
        assert Entry.objects.count() == later.entries_created == 60  # es003_basic.csv holds 60
    assert worker.poll() is None, "the worker died:\n" + worker.log_path.read_text()[-4000:]
    log = worker.log_path.read_text()
    assert "Unrecoverable error" not in log
    assert len(re.findall(r"Connected to ", log)) >= 2  # it reconnected by itself
    record_figures(
        f"redis_restart_{outage.replace('-', '_')}",
        {
            "rows_read_at_stop": rows_at_stop,
            "redis_down_s": round(down_for, 1),
            "import_attempts": done.attempts,
            "upload_after_restart_imported_in_s": round(next_import_s, 1),
            "worker_pid_unchanged": True,
        },
    )
