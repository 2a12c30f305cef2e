"""The upload page, the report page with its progress and summary, and the error report."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from entries.models import Entry, EntryReport
from tests.conftest import wait_for
from tests.factories import ClientFactory, importer_number, member
from tests.fixtures import SAMPLES


@pytest.fixture
def acme(db):
    client = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    for number in ("19-528224900", "34-370224800"):
        importer_number(client, number)
    return client


def _files(*names):
    return [SimpleUploadedFile(n, (SAMPLES / n).read_bytes(), content_type="text/csv") for n in names]


def test_upload_two_files_shows_each_report_with_its_summary(
    client, acme, django_capture_on_commit_callbacks
):
    client.force_login(member(acme))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("entries:reports", kwargs={"client_slug": "acme"}),
            {"files": _files("es003_basic.csv", "bad_check_digit.csv")},
        )
    assert response.status_code == 302
    listing = client.get(response.url).content.decode()
    assert "es003_basic.csv" in listing and "bad_check_digit.csv" in listing
    with scope(client=acme):
        bad = EntryReport.objects.get(original_name="bad_check_digit.csv")
    page = client.get(bad.get_absolute_url()).content.decode()
    assert "Rows rejected" in page and "check digit should be" in page

    errors = client.get(
        reverse("entries:report_errors", kwargs={"client_slug": "acme", "public_id": bad.public_id})
    )
    rows = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert rows[0] == ["row", "entry_number", "column", "reason"]
    assert len(rows) == bad.rows_rejected + 1 and all(r[0].isdigit() for r in rows[1:])


def test_same_file_again_is_flagged_on_the_page(client, acme, django_capture_on_commit_callbacks):
    client.force_login(member(acme))
    url = reverse("entries:reports", kwargs={"client_slug": "acme"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"files": _files("es003_basic.csv")})
    response = client.post(url, {"files": _files("es003_basic.csv")}, follow=True)
    assert "was already imported" in response.content.decode()
    with scope(client=acme):
        assert EntryReport.objects.count() == 1


def test_whole_file_rejection_is_shown_in_words(client, acme, django_capture_on_commit_callbacks):
    client.force_login(member(acme))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("entries:reports", kwargs={"client_slug": "acme"}),
            {"files": _files("bad_not_a_report.csv")},
        )
    with scope(client=acme):
        report = EntryReport.objects.get()
    page = client.get(report.get_absolute_url()).content.decode()
    assert "Failed" in page and "nothing was imported" in page


def test_original_file_downloads_for_the_client_only(client, acme, django_capture_on_commit_callbacks):
    client.force_login(member(acme))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("entries:reports", kwargs={"client_slug": "acme"}), {"files": _files("es003_basic.csv")}
        )
    with scope(client=acme):
        report = EntryReport.objects.get()
    url = reverse("entries:report_file", kwargs={"client_slug": "acme", "public_id": report.public_id})
    assert b"".join(client.get(url).streaming_content) == (SAMPLES / "es003_basic.csv").read_bytes()
    other = ClientFactory(slug="other")
    client.force_login(member(other))
    assert client.get(url).status_code == 404
    wrong_scope = reverse(
        "entries:report_file", kwargs={"client_slug": "other", "public_id": report.public_id}
    )
    assert client.get(wrong_scope).status_code == 404


@pytest.mark.services
def test_upload_progress_and_summary_with_a_real_worker(client, celery_worker_process):
    acme = ClientFactory(slug="acme-live")
    for number in ("19-528224900", "34-370224800"):
        importer_number(acme, number)
    client.force_login(member(acme))
    response = client.post(
        reverse("entries:reports", kwargs={"client_slug": "acme-live"}), {"files": _files("es003_basic.csv")}
    )
    assert response.status_code == 302

    def finished():
        with scopes_disabled():
            report = EntryReport.objects.get()
        return report if report.is_finished else None

    report = wait_for(finished, timeout=90, message="the worker to import the report")
    assert report.status == EntryReport.Status.SUCCEEDED, report.message
    # The page polls a fragment; once done it shows the summary and stops polling.
    fragment = client.get(report.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment
    assert re.search(r"Entries created</div><div class=\"value\">60<", fragment)
    with scopes_disabled():
        assert Entry.objects.filter(client=acme).count() == 60


def test_entries_page_lists_imported_entries_nearest_deadline_first(
    client, acme, django_capture_on_commit_callbacks
):
    client.force_login(member(acme))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("entries:reports", kwargs={"client_slug": "acme"}), {"files": _files("es003_basic.csv")}
        )
    html = client.get(reverse("entries:list", kwargs={"client_slug": "acme"})).content.decode()
    assert "60 entries" in html and "No entries yet" not in html
    with scope(client=acme):
        first = Entry.objects.exclude(next_deadline=None).order_by("next_deadline", "entry_number").first()
    assert str(first) in html
    assert html.index(str(first)) < html.index('aria-label="Pages"')


def test_entries_page_query_count_does_not_grow(client, acme, django_assert_max_num_queries):
    client.force_login(member(acme))
    url = reverse("entries:list", kwargs={"client_slug": "acme"})
    with django_assert_max_num_queries(12) as one:
        client.get(url)
    from entries.ingestion.services import report_import, report_upload

    with scope(client=acme):
        report, _ = report_upload(
            actor=None, client=acme, uploaded=_files("es003_basic.csv")[0], enqueue=False
        )
        report_import(report=report)
    with django_assert_max_num_queries(len(one.captured_queries) + 2):
        client.get(url)


def test_reports_list_polls_while_an_import_waits_and_stops_when_done(client, acme):
    from entries.ingestion.services import report_import
    from tests.entries.helpers import AS_OF, keep

    client.force_login(member(acme))
    url = reverse("entries:reports", kwargs={"client_slug": "acme"})
    report, _ = keep(acme, "es003_basic.csv")  # uploaded, its worker not started yet

    waiting = client.get(url).content.decode()
    assert 'id="report-list" hx-get="/c/acme/reports/"' in waiting and 'hx-trigger="every 1s"' in waiting
    assert "Queued" in waiting and "Waiting to start" in waiting

    with scope(client=acme):
        report_import(report=report, as_of=AS_OF)
    polled = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'id="report-list"' in polled
    assert "<html" not in polled  # the list alone, swapped in place
    assert "hx-get" not in polled and 'data-status="succeeded"' in polled and "Done" in polled


def test_embedded_default_shows_the_import_done_on_the_page_the_user_lands_on(transactional_db, client, acme):
    client.force_login(member(acme))
    # Real commits, eager tasks (the embedded default): the import runs as the upload is received.
    response = client.post(
        reverse("entries:reports", kwargs={"client_slug": "acme"}),
        {"files": _files("es003_basic.csv")},
        follow=True,
    )

    page = response.content.decode()
    assert "1 report received and processed: each one&#x27;s result is below." in page
    assert 'data-status="succeeded"' in page and "hx-get" not in page.split('id="report-list"')[1][:40]
