"""CBP's decision list runs as a job row (like the CBP reports): the upload queues it, a task on the imports
queue applies it, its page shows the status, the decisions recorded and the rows not applied (also as CSV);
staff only, and another client's people get 404."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from brokerage.celery import queue_name, route_task
from clients.models import AuditEvent
from protests import decision_lists, following
from protests.models import ProtestDecisionList, ProtestEntry
from tests.protests.helpers import build, protest_entries, today

NUMBER = "2704-26-000007"


def filed(client_a, staff_a, count=3):
    entries = protest_entries(client_a, count)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number=NUMBER,
            filed_on=today() - timedelta(days=10),
            filed_by_party="importer",
        )
    return protest, entries


def upload(client, client_a, protest, body: bytes, name="decisions.csv"):
    url = reverse(
        "protests:decision_list", kwargs={"client_slug": client_a.slug, "public_id": protest.public_id}
    )
    return client.post(url, {"file": SimpleUploadedFile(name, body)})


def test_the_upload_is_a_job_that_records_the_decisions_and_lists_the_rest(
    client, client_a, staff_a, django_capture_on_commit_callbacks
):
    protest, entries = filed(client_a, staff_a)
    body = (
        "Protest Number,Entry Number,Decision\r\n"
        f"{NUMBER},{entries[0].entry_number},Allowed\r\n"
        f"{NUMBER},{entries[1].entry_number},Denied\r\n"
        f"{NUMBER},{entries[2].entry_number},Lost\r\n"
        f"2704-26-999999,{entries[2].entry_number},Denied\r\n"
    ).encode()
    client.force_login(staff_a)

    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eagerly) once the upload commits
        response = upload(client, client_a, protest, body)

    with scope(client=client_a):
        job = ProtestDecisionList.objects.get()
        statuses = dict(ProtestEntry.objects.values_list("entry_number", "status"))
        assert AuditEvent.objects.filter(action="protests.decision_list_uploaded").count() == 1
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert (job.status, job.rows_read, job.applied) == ("succeeded", 4, 2)
    assert statuses[entries[0].entry_number] == "allowed" and statuses[entries[1].entry_number] == "denied"
    assert statuses[entries[2].entry_number] == "pending"
    page = client.get(job.get_absolute_url()).content.decode()
    assert "4 rows read: 2 decisions recorded, 2 not applied." in page
    assert (
        "decision &#x27;Lost&#x27; is not one we know" in page
        and "protest 2704-26-999999 is another protest" in page
    )
    assert "hx-get" not in page  # finished: the page stops polling
    csv_url = reverse(
        "protests:decision_list_problems",
        kwargs={"client_slug": client_a.slug, "public_id": protest.public_id, "list_id": job.public_id},
    )
    rows = client.get(csv_url).content.decode().splitlines()
    assert rows[0] == "row,entry_number,reason" and rows[1].startswith(
        f"4,{entries[2].entry_number},decision"
    )
    assert len(rows) == 3


def test_a_queued_list_is_shown_as_queued_and_polled(client, client_a, staff_a):
    protest, _ = filed(client_a, staff_a, count=1)
    client.force_login(staff_a)

    upload(client, client_a, protest, b"Entry Number,Decision\r\n")  # the task is not run

    with scope(client=client_a):
        job = ProtestDecisionList.objects.get()
    page = client.get(job.get_absolute_url()).content.decode()
    assert job.status == "pending" and "Queued" in page and "hx-get" in page
    # It waits on the imports queue, with the other uploads (README, "Workers and queues").
    assert route_task("protests.tasks.apply_protest_decision_list", (), {}, {}) == {
        "queue": queue_name("imports")
    }


def test_a_file_without_the_columns_fails_the_job_and_records_nothing(
    client, client_a, staff_a, django_capture_on_commit_callbacks
):
    protest, entries = filed(client_a, staff_a, count=1)
    client.force_login(staff_a)

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, client_a, protest, b"Something,Else\r\n1,2\r\n")

    with scope(client=client_a):
        job = ProtestDecisionList.objects.get()
        assert ProtestEntry.objects.get().status == "pending"
    assert job.status == "failed" and "The whole file was rejected; nothing was recorded." in job.message
    assert "Decision" in job.message  # names the missing column


def test_a_draft_takes_no_decision_list(client, client_a, staff_a):
    protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    client.force_login(staff_a)

    response = upload(client, client_a, protest, b"Entry Number,Decision\r\n")

    assert response.status_code == 200  # the page again, nothing queued
    with scope(client=client_a):
        assert not ProtestDecisionList.objects.exists()
        with pytest.raises(ValidationError, match="it has no decision to record"):
            decision_lists.protest_decision_list_upload(
                actor=staff_a, protest=protest, uploaded=SimpleUploadedFile("d.csv", b"Entry Number\r\n")
            )


def test_only_staff_of_the_client_see_the_list(
    client, client_a, staff_a, member_a, admin_a, staff_b, client_b
):
    protest, _ = filed(client_a, staff_a, count=1)
    with scope(client=client_a):
        job = ProtestDecisionList.objects.create(
            client=client_a, protest=protest, original_name="alpha-decisions.csv", status="succeeded"
        )
    kwargs = {"client_slug": client_a.slug, "public_id": protest.public_id, "list_id": job.public_id}
    urls = [
        reverse("protests:decision_list_status", kwargs=kwargs),
        reverse("protests:decision_list_problems", kwargs=kwargs),
    ]
    for user in (member_a, admin_a, staff_b):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
    # A's list under B's URL is not found either.
    client.force_login(staff_b)
    other = reverse("protests:decision_list_status", kwargs={**kwargs, "client_slug": client_b.slug})
    assert client.get(other).status_code == 404
    client.force_login(staff_a)
    assert all(client.get(url).status_code == 200 for url in urls)
