"""Drill: no worker is running, and the queued-report sweeper still does its job.

The sweeper runs in `celery beat`'s own process (brokerage/beat.py), so an import left queued (Redis was
down at upload) is put back in Redis while every worker is gone; the worker that comes back imports it.
"""

import json
import time
from datetime import timedelta

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from entries.ingestion.services import SWEEP_AFTER, report_upload
from entries.models import Entry, EntryReport
from tests.conftest import wait_for
from tests.entries.helpers import SAMPLES
from tests.reliability.helpers import record_figures

pytestmark = pytest.mark.services


def test_beat_queues_a_stuck_upload_again_while_no_worker_runs(start_celery_worker, private_redis, importer):
    with scope(client=importer):
        upload = SimpleUploadedFile("es003_basic.csv", (SAMPLES / "es003_basic.csv").read_bytes())
        report, _ = report_upload(actor=None, client=importer, uploaded=upload, enqueue=False)
        # As if Redis had been down at upload, longer than the sweeper's grace period.
        EntryReport.objects.filter(pk=report.pk).update(
            created_at=report.created_at - SWEEP_AFTER - timedelta(seconds=1)
        )

    beat = start_celery_worker(broker_url=private_redis.url, beat=True, env={"REPORT_SWEEP_SECONDS": "1"})
    started = time.monotonic()
    broker = redis.Redis.from_url(private_redis.url)

    def queued_imports():
        messages = [json.loads(raw) for raw in broker.lrange(f"{beat.queue_prefix}imports", 0, -1)]
        return [m for m in messages if m["headers"]["task"] == "entries.tasks.import_entry_report"]

    queued = wait_for(queued_imports, timeout=30, interval=0.2, message="beat to queue the import")
    queued_after = time.monotonic() - started
    assert queued[0]["headers"]["argsrepr"] == f"({report.pk},)"
    assert "Swept queued reports in beat" in beat.log_path.read_text()
    with scope(client=importer):
        assert EntryReport.objects.get(pk=report.pk).status == EntryReport.Status.PENDING  # no worker yet

    start_celery_worker(broker_url=private_redis.url)  # compose restarts the worker
    with scope(client=importer):
        done = wait_for(
            lambda: (current := EntryReport.objects.get(pk=report.pk)).is_finished and current,
            timeout=60,
            message="the worker that came back to import it",
        )
        assert done.status == EntryReport.Status.SUCCEEDED, done.message
        assert Entry.objects.count() == 60
    record_figures("sweeper_in_beat", {"queued_by_beat_after_s": round(queued_after, 1), "entries": 60})
