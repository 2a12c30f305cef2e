"""Broker-wide reports: one upload, rows routed to the clients that hold their importer numbers."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from entries.models import BrokerReport, Entry
from tests.entries.helpers import SAMPLES
from tests.factories import ClientFactory, assign, importer_number, member, staff_user

UNKNOWN_IOR_ROW = (
    "ABC12345676,01,55-555555500,2704,03/02/2025,03/09/2025,1,1,9903.01.25,0.00,10.00,CN,Open,,N,N,N"
)


@pytest.fixture
def two_clients(db):
    north = ClientFactory(slug="north", legal_name="North Imports")
    south = ClientFactory(slug="south", legal_name="South Imports")
    importer_number(north, "19-528224900")
    importer_number(south, "34-370224800")
    return north, south


def _combined() -> bytes:
    text = (SAMPLES / "es003_basic.csv").read_text()
    return (text.rstrip("\n") + "\n" + UNKNOWN_IOR_ROW + "\n").encode()


def _upload(client, content: bytes, name="all-importers.csv", capture=None):
    url = reverse("staff:broker_reports")
    with capture(execute=True):
        return client.post(url, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def test_manager_routes_rows_to_each_client(client, two_clients, django_capture_on_commit_callbacks):
    north, south = two_clients
    client.force_login(staff_user(manager=True))
    response = _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    report = BrokerReport.objects.get()
    assert response.url == report.get_absolute_url()
    assert report.status == "succeeded", report.message
    assert report.rows_read == 471 and report.rows_unmatched == 1
    assert {r["slug"] for r in report.routed} == {"north", "south"}
    with scope(client=north):
        assert set(Entry.objects.values_list("importer_number", flat=True)) == {"19-528224900"}
        north_count = Entry.objects.count()
    with scope(client=south):
        assert set(Entry.objects.values_list("importer_number", flat=True)) == {"34-370224800"}
        south_count = Entry.objects.count()
    assert north_count + south_count == 60

    page = client.get(report.get_absolute_url()).content.decode()
    assert "North Imports" in page and "South Imports" in page and "1</strong> rows were not routed" in page
    unmatched = client.get(reverse("staff:broker_report_unmatched", kwargs={"public_id": report.public_id}))
    rows = list(csv.reader(io.StringIO(b"".join(unmatched.streaming_content).decode())))
    assert rows[0] == ["row", "entry_number", "importer_number", "reason"]
    assert rows[1][0] == "472" and "55-555555500 is not one of your clients' importer numbers" in rows[1][3]


def test_routed_import_classifies_like_a_direct_upload(
    client, two_clients, django_capture_on_commit_callbacks
):
    from tests.entries.helpers import upload

    north, _ = two_clients
    client.force_login(staff_user(manager=True))
    _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    with scope(client=north):
        routed = dict(Entry.objects.values_list("entry_number", "ieepa_duty"))
    assert routed and all(v >= 0 for v in routed.values())
    # The same rows uploaded straight to a client with that importer number give the same amounts.
    other = ClientFactory(slug="other")
    with scopes_disabled():
        from clients.models import ImporterNumber

        ImporterNumber.objects.filter(number="19-528224900").update(client=other)
    upload(other, "es003_basic.csv")
    with scope(client=other):
        assert dict(Entry.objects.values_list("entry_number", "ieepa_duty")) == routed


def test_staff_route_only_to_their_own_caseload(client, two_clients, django_capture_on_commit_callbacks):
    north, south = two_clients
    staff = staff_user()
    assign(north, staff)
    client.force_login(staff)
    _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    report = BrokerReport.objects.get()
    assert [r["slug"] for r in report.routed] == ["north"]
    with scope(client=south):
        assert not Entry.objects.exists()
    assert report.rows_unmatched > 1


def test_other_staff_get_404_on_someone_elses_broker_report(
    client, two_clients, django_capture_on_commit_callbacks
):
    client.force_login(staff_user(manager=True))
    _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    report = BrokerReport.objects.get()
    client.force_login(staff_user())
    assert client.get(report.get_absolute_url()).status_code == 404
    assert (
        client.get(
            reverse("staff:broker_report_unmatched", kwargs={"public_id": report.public_id})
        ).status_code
        == 404
    )
    assert report.original_name not in client.get(reverse("staff:broker_reports")).content.decode()


def test_client_users_get_404_on_broker_reports(client, two_clients):
    north, _ = two_clients
    client.force_login(member(north, role="client_admin"))
    assert client.get(reverse("staff:broker_reports")).status_code == 404


def test_broker_report_that_is_not_a_report_is_rejected_whole(
    client, two_clients, django_capture_on_commit_callbacks
):
    client.force_login(staff_user(manager=True))
    _upload(
        client, (SAMPLES / "bad_not_a_report.csv").read_bytes(), capture=django_capture_on_commit_callbacks
    )
    report = BrokerReport.objects.get()
    assert report.status == "failed" and "nothing was imported" in report.message
    with scopes_disabled():
        assert not Entry.objects.exists()


def test_routing_with_fewer_open_files_than_clients_routes_every_row(
    client, two_clients, monkeypatch, django_capture_on_commit_callbacks
):
    """A broker with more clients than open files: shares are closed and appended to, rows in file order."""
    from entries.ingestion import routing

    north, south = two_clients
    client.force_login(staff_user(manager=True))
    _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    expected = {r["slug"]: (r["rows"], r["created"]) for r in BrokerReport.objects.get().routed}
    with scopes_disabled():
        lines = sorted(Entry.objects.values_list("entry_number", "line_count", "ieepa_duty"))
        Entry.objects.all().delete()

    monkeypatch.setattr(routing, "MAX_OPEN_SHARES", 1)  # every switch of client closes and re-opens a share
    _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    report = BrokerReport.objects.latest("pk")
    assert report.status == "succeeded", report.message
    assert {r["slug"]: (r["rows"], r["created"]) for r in report.routed} == expected
    assert sum(rows for rows, _ in expected.values()) == 470
    with scopes_disabled():
        assert sorted(Entry.objects.values_list("entry_number", "line_count", "ieepa_duty")) == lines


def test_routing_again_a_redelivered_report_counts_its_rows_once(
    client, two_clients, django_capture_on_commit_callbacks
):
    from entries.ingestion.routing import broker_report_route

    client.force_login(staff_user(manager=True))
    _upload(client, _combined(), capture=django_capture_on_commit_callbacks)
    report = BrokerReport.objects.get()
    broker_report_route(report=report)  # the task delivered again (a worker died after routing)
    report.refresh_from_db()
    assert (report.rows_read, report.rows_unmatched) == (471, 1)
    assert sum(r["rows"] for r in report.routed) == 470


def _left_running(attempts: int) -> BrokerReport:
    """An uploaded broker report whose earlier runs all started and died (its worker killed)."""
    from django.core.files.uploadedfile import SimpleUploadedFile as Upload

    from entries.ingestion.routing import broker_report_upload

    report = broker_report_upload(actor=staff_user(manager=True), uploaded=Upload("all.csv", _combined()))
    BrokerReport.objects.filter(pk=report.pk).update(status=BrokerReport.Status.RUNNING, attempts=attempts)
    return report


def test_a_broker_report_whose_every_routing_died_is_failed_instead_of_routed_again(two_clients, settings):
    from entries.tasks import route_broker_report
    from tests.conftest import deliver

    settings.IMPORT_MAX_ATTEMPTS = 3
    report = _left_running(attempts=3)

    deliver(route_broker_report, report.pk, redelivered=True)  # the 4th delivery

    report.refresh_from_db()
    assert (report.status, report.attempts) == ("failed", 3)  # not started a 4th time
    assert "stopped before it finished each time" in report.message
    with scopes_disabled():
        assert Entry.objects.count() == 0


def test_a_broker_report_left_running_is_taken_over_only_by_its_redelivered_message(two_clients, settings):
    from entries.tasks import route_broker_report
    from tests.conftest import deliver

    settings.IMPORT_MAX_ATTEMPTS = 3
    report = _left_running(attempts=1)

    deliver(route_broker_report, report.pk, redelivered=False)  # a second message: its worker may be alive
    report.refresh_from_db()
    assert (report.status, report.attempts) == ("running", 1)

    deliver(route_broker_report, report.pk, redelivered=True)  # its worker died: taken over
    report.refresh_from_db()
    assert (report.status, report.attempts) == ("succeeded", 2), report.message
    with scopes_disabled():
        assert Entry.objects.count() == 60
