"""Uploads are never lost when the broker is down, and a report is imported once however it is queued."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from entries.ingestion.services import reports_sweep_queued
from entries.models import Entry, EntryReport
from entries.tasks import import_entry_report
from tests.conftest import deliver
from tests.entries.helpers import SAMPLES, keep
from tests.factories import member


def test_upload_while_the_broker_is_down_is_kept_and_shown_as_queued(
    client, importer, broker_down, django_capture_on_commit_callbacks
):
    client.force_login(member(importer))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("entries:reports", kwargs={"client_slug": "importer"}),
            {"files": [SimpleUploadedFile("es003_basic.csv", (SAMPLES / "es003_basic.csv").read_bytes())]},
        )
    assert response.status_code == 302
    with scope(client=importer):
        report = EntryReport.objects.get()
    assert report.status == EntryReport.Status.PENDING
    assert "Queued" in client.get(report.get_absolute_url()).content.decode()


def test_sweeper_queues_reports_left_waiting(importer):
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
    assert reports_sweep_queued() == []  # too fresh: a worker may be about to start it
    later = timezone.now() + timedelta(minutes=3)
    assert reports_sweep_queued(now=later) == [report.pk]  # eager in tests: imported right away
    with scope(client=importer):
        report.refresh_from_db()
        assert report.status == EntryReport.Status.SUCCEEDED and Entry.objects.count() == 60
    assert reports_sweep_queued(now=later) == []


def test_a_second_message_for_the_same_report_does_not_import_it_again(importer):
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
    import_entry_report.apply(args=(report.pk,))
    import_entry_report.apply(args=(report.pk,))
    with scope(client=importer):
        report.refresh_from_db()
        assert report.attempts == 1 and report.status == EntryReport.Status.SUCCEEDED
        assert Entry.objects.count() == 60


def _deliver_again(report_id: int) -> None:
    """The task run as a worker runs a message the broker delivered before (its worker died).

    On PostgreSQL the import lease alone lets the task take a dead worker's report over; on SQLite (no
    leases) only this flag does, so without it these tests passed on PostgreSQL only.
    """
    deliver(import_entry_report, report_id, redelivered=True)


def test_a_report_whose_every_attempt_died_is_failed_with_a_message_instead_of_delivered_again(
    client, importer, settings
):
    settings.IMPORT_MAX_ATTEMPTS = 3
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
        # Three runs that started and died before finishing (as a worker killed for memory leaves them).
        EntryReport.objects.filter(pk=report.pk).update(status=EntryReport.Status.RUNNING, attempts=3)

    _deliver_again(report.pk)  # the 4th delivery

    with scope(client=importer):
        report.refresh_from_db()
        assert report.status == EntryReport.Status.FAILED
        assert report.attempts == 3  # it was not started a 4th time
        assert "could not be imported after 3 attempts" in report.message
        assert Entry.objects.count() == 0
    client.force_login(member(importer))
    page = client.get(report.get_absolute_url()).content.decode()
    assert "could not be imported after 3 attempts" in page


def test_a_report_with_attempts_left_is_taken_over_and_imported(importer, settings):
    settings.IMPORT_MAX_ATTEMPTS = 3
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
        EntryReport.objects.filter(pk=report.pk).update(status=EntryReport.Status.RUNNING, attempts=2)

    _deliver_again(report.pk)

    with scope(client=importer):
        report.refresh_from_db()
        assert report.status == EntryReport.Status.SUCCEEDED, report.message
        assert report.attempts == 3
        assert Entry.objects.count() == 60
