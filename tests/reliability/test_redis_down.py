"""Drill: Redis (the broker) is down when a user uploads a report.

A private redis-server on its own port is the broker of this test and of its real worker; the test stops
it, uploads through the page, starts it again, and lets the sweeper (the beat task, run by the worker)
queue the import, which the worker then runs.
"""

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from entries.ingestion.services import SWEEP_AFTER
from entries.models import Entry, EntryReport
from entries.tasks import sweep_queued_reports
from tests.conftest import wait_for
from tests.entries.helpers import SAMPLES
from tests.factories import member
from tests.reliability.helpers import record_figures

pytestmark = pytest.mark.services

OUTAGE_SECONDS = 5


def test_upload_while_redis_is_down_is_kept_queued_then_swept_and_imported(
    client, importer, private_redis, start_celery_worker
):
    worker = start_celery_worker(broker_url=private_redis.url)
    client.force_login(member(importer))
    url = reverse("entries:reports", kwargs={"client_slug": importer.slug})

    private_redis.stop()
    down_at = time.monotonic()
    response = client.post(
        url, {"files": [SimpleUploadedFile("es003_basic.csv", (SAMPLES / "es003_basic.csv").read_bytes())]}
    )
    upload_seconds = time.monotonic() - down_at
    assert response.status_code == 302  # the user is not shown an error: the file is kept
    assert upload_seconds < 3  # and is not kept waiting for the broker
    with scope(client=importer):
        report = EntryReport.objects.get()
    assert report.status == EntryReport.Status.PENDING
    listing = client.get(url).content.decode()
    assert "1 report received" in listing and "Queued" in listing
    assert "Queued" in client.get(report.get_absolute_url()).content.decode()

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))  # the outage lasts a while
    private_redis.start()
    up_at = time.monotonic()
    # As if Redis had been down for the sweeper's whole grace period (two minutes); then the beat task.
    with scope(client=importer):
        EntryReport.objects.filter(pk=report.pk).update(
            created_at=report.created_at - SWEEP_AFTER - timedelta(seconds=1)
        )
    sweep_queued_reports.delay()

    def finished():
        with scope(client=importer):
            current = EntryReport.objects.get(pk=report.pk)
        return current if current.is_finished else None

    done = wait_for(finished, timeout=60, message="the swept import to finish")
    recovered = time.monotonic() - up_at
    assert done.status == EntryReport.Status.SUCCEEDED, done.message
    assert done.attempts == 1
    with scope(client=importer):
        assert Entry.objects.count() == 60  # es003_basic.csv holds 60 entries
    assert "Done" in client.get(report.get_absolute_url()).content.decode()
    log = worker.log_path.read_text()
    assert "sweep_queued_reports" in log and "import_entry_report" in log  # both ran on the real worker
    record_figures(
        "redis_down",
        {
            "upload_response_while_down_s": round(upload_seconds, 2),
            "redis_down_s": round(up_at - down_at, 1),
            "redis_up_to_import_done_s": round(recovered, 1),
            "entries": 60,
        },
    )
