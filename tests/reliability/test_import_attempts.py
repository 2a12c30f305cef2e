"""Drills: an import whose process keeps dying is failed after a bounded number of attempts, and a pool
process that grew past the memory limit is replaced after its task.

Both use a real `celery worker` with a prefork pool, as compose runs the workers.
"""

import os
import re
import signal
import time
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from bench.ingest import generate_csv
from entries.ingestion.services import report_upload
from entries.models import Entry, EntryReport
from tests.conftest import wait_for
from tests.entries.helpers import SAMPLES
from tests.factories import ClientFactory, importer_number, member
from tests.reliability.helpers import record_figures

pytestmark = pytest.mark.services

IMPORTERS = ("27-418305200", "61-907734100")


def _report(pk: int) -> EntryReport:
    with scopes_disabled():
        return EntryReport.objects.get(pk=pk)


def _pool_process(worker) -> int | None:
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return int(children[0]) if len(children) == 1 else None


def _deliveries(worker) -> int:
    return len(re.findall(r"import_entry_report\[[^\]]+\] received", worker.log_path.read_text()))


def test_an_import_whose_process_is_killed_every_time_is_failed_after_three_attempts(
    start_celery_worker, tmp_path, client, settings
):
    assert settings.IMPORT_MAX_ATTEMPTS == 3  # the default the worker runs with too
    owner = ClientFactory(slug="dies")
    for number in IMPORTERS:
        importer_number(owner, number)
    path = tmp_path / "es003_large.csv"
    generate_csv(path, 50_000, IMPORTERS)
    worker = start_celery_worker(pool="prefork")

    with scope(client=owner), path.open("rb") as handle:
        report, _ = report_upload(actor=None, client=owner, uploaded=File(handle, name=path.name))
    started = time.monotonic()

    # As the kernel's out-of-memory killer would: each time a run starts, its pool process dies.
    kills = 0
    deadline = time.monotonic() + 180
    while not (current := _report(report.pk)).is_finished:
        assert time.monotonic() < deadline, f"still {current.status} after {kills} kills"
        if current.status == EntryReport.Status.RUNNING and current.attempts > kills:
            victim = _pool_process(worker)
            if victim is not None:
                os.kill(victim, signal.SIGKILL)
                kills += 1
        time.sleep(0.02)
    failed_after = time.monotonic() - started

    assert current.status == EntryReport.Status.FAILED
    assert current.attempts == 3 and kills == 3
    assert "could not be imported after 3 attempts" in current.message
    with scope(client=owner):
        assert not Entry.objects.exists()
    client.force_login(member(owner))
    assert "could not be imported after 3 attempts" in client.get(current.get_absolute_url()).content.decode()

    deliveries = _deliveries(worker)
    time.sleep(5)  # and the message is not handed out any more
    assert _deliveries(worker) == deliveries == 4  # three runs killed, the fourth delivery failed it
    assert worker.poll() is None
    record_figures(
        "import_attempts_bounded",
        {"kills": kills, "deliveries": deliveries, "failed_after_s": round(failed_after, 1)},
    )


def test_a_pool_process_past_the_memory_limit_is_replaced_after_its_task(
    start_celery_worker, client, importer
):
    # A limit every process exceeds (1 MB), so that the recycling shows with an ordinary import.
    worker = start_celery_worker(pool="prefork", env={"WORKER_MAX_MEMORY_MB": "1"})
    first = wait_for(lambda: _pool_process(worker), timeout=10, message="the pool process")
    client.force_login(member(importer))
    url = reverse("entries:reports", kwargs={"client_slug": importer.slug})

    for name in ("es003_basic.csv", "es003_messy.csv"):
        client.post(url, {"files": [SimpleUploadedFile(name, (SAMPLES / name).read_bytes())]})
        with scope(client=importer):
            report = EntryReport.objects.get(original_name=name)
        done = wait_for(lambda r=report: _report(r.pk).is_finished and _report(r.pk), timeout=60)
        assert done.status == EntryReport.Status.SUCCEEDED, done.message

    second = wait_for(lambda: _pool_process(worker), timeout=10, message="the new pool process")
    assert second != first  # without the limit (CELERY_WORKER_MAX_MEMORY_PER_CHILD) it would be the same
    assert worker.poll() is None
