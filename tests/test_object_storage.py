"""Client files in an S3-compatible object store (brokerage/storage.py), against a real S3 server.

CI (.ci/run) starts moto's standalone server and sets TEST_S3_ENDPOINT_URL; each test gets a bucket of
its own. Without the variable these tests skip, unless REQUIRE_SERVICES=1, where that is a failure.
"""

import csv
import glob
import io
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from brokerage.settings import s3_storage_options
from clients.models import Letter
from entries.ingestion import importer as ingestion
from entries.models import Entry, EntryReport
from tests.conftest import wait_for
from tests.entries.helpers import SPLIT_IORS, es003_csv, es003_rows, import_outcome, upload, with_errors
from tests.factories import ClientFactory, importer_number, member


def _s3_endpoint() -> str:
    endpoint = os.environ.get("TEST_S3_ENDPOINT_URL", "")
    if not endpoint:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but TEST_S3_ENDPOINT_URL is not set (no S3 server)")
        pytest.skip("TEST_S3_ENDPOINT_URL is not set (no S3 server)")
    return endpoint


@pytest.fixture
def s3(settings):
    """The default storage switched to a fresh bucket on the real S3 server: (boto3 client, bucket, env)."""
    import boto3

    endpoint = _s3_endpoint()
    bucket = f"portal-test-{uuid.uuid4().hex[:16]}"
    keys = {"access_key": "test-key", "secret_key": "test-secret"}  # any pair: the test server checks none
    api = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["access_key"],
        aws_secret_access_key=keys["secret_key"],
    )
    api.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "brokerage.storage.PrivateS3Storage",
            "OPTIONS": s3_storage_options(bucket=bucket, endpoint_url=endpoint, region="us-east-1", **keys),
        },
    }
    env = {
        "STORAGE_S3_BUCKET": bucket,
        "STORAGE_S3_ENDPOINT_URL": endpoint,
        "STORAGE_S3_REGION": "us-east-1",
        "STORAGE_S3_ACCESS_KEY_ID": keys["access_key"],
        "STORAGE_S3_SECRET_ACCESS_KEY": keys["secret_key"],
    }
    yield api, bucket, env
    for item in api.list_objects_v2(Bucket=bucket).get("Contents", []):
        api.delete_object(Bucket=bucket, Key=item["Key"])
    api.delete_bucket(Bucket=bucket)


def _keys(api, bucket) -> list[str]:
    return sorted(item["Key"] for item in api.list_objects_v2(Bucket=bucket).get("Contents", []))


def _local_files(settings) -> list[Path]:
    return [p for p in Path(settings.PRIVATE_STORAGE_ROOT).rglob("*") if p.is_file()]


def _local_copies() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "portal-copy-*")))


@pytest.fixture
def acme(db):
    client = ClientFactory(slug="acme-s3", legal_name="Acme Imports LLC")
    for number in SPLIT_IORS:
        importer_number(client, number)
    return client


def _post_report(web, client, data: bytes, capture, name="report.csv"):
    with capture(execute=True):
        response = web.post(
            reverse("entries:reports", kwargs={"client_slug": client.slug}),
            {"files": [SimpleUploadedFile(name, data, content_type="text/csv")]},
        )
    assert response.status_code == 302
    with scope(client=client):
        return EntryReport.objects.latest("pk")


def test_upload_import_error_report_and_download_go_through_the_object_store(
    s3, settings, client, acme, django_capture_on_commit_callbacks
):
    api, bucket, _ = s3
    data = es003_csv(with_errors(es003_rows(40)))
    local_before, copies_before = _local_files(settings), _local_copies()
    client.force_login(member(acme))

    report = _post_report(client, acme, data, django_capture_on_commit_callbacks)

    # Stored in the bucket, encrypted at rest, and nothing on the web server's disk.
    assert _keys(api, bucket) == [report.file.name]
    head = api.head_object(Bucket=bucket, Key=report.file.name)
    assert head["ServerSideEncryption"] == "AES256"
    assert _local_files(settings) == local_before
    # Imported from the store: the page shows the figures, the error report lists the rejected rows.
    assert report.status == EntryReport.Status.SUCCEEDED, report.message
    assert report.entries_created > 0 and report.rows_rejected > 0
    page = client.get(report.get_absolute_url()).content.decode()
    assert "Rows rejected" in page
    errors = client.get(
        reverse("entries:report_errors", kwargs={"client_slug": acme.slug, "public_id": report.public_id})
    )
    rows = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert rows[0] == ["row", "entry_number", "column", "reason"] and len(rows) == report.rows_rejected + 1
    # The original comes back byte for byte, streamed by the checked view, with its length.
    download = client.get(
        reverse("entries:report_file", kwargs={"client_slug": acme.slug, "public_id": report.public_id})
    )
    assert download.status_code == 200 and int(download["Content-Length"]) == len(data)
    assert b"".join(download.streaming_content) == data
    # The import's local copy of the stored file is gone.
    assert _local_copies() == copies_before


def test_another_tenants_file_is_never_readable_and_has_no_url(
    s3, client, acme, django_capture_on_commit_callbacks
):
    api, bucket, _ = s3
    other = ClientFactory(slug="other-s3")
    importer_number(other, "98-765432100")
    data = es003_csv(es003_rows(5))
    client.force_login(member(acme))
    report = _post_report(client, acme, data, django_capture_on_commit_callbacks)
    # The other tenant has a file of its own in the same bucket, so a leak would have something to show.
    other_data = data.replace(SPLIT_IORS[0].encode(), b"98-765432100")
    client.force_login(member(other))
    _post_report(client, other, other_data, django_capture_on_commit_callbacks)
    assert len(_keys(api, bucket)) == 2

    own = reverse("entries:report_file", kwargs={"client_slug": acme.slug, "public_id": report.public_id})
    via_other = reverse(
        "entries:report_file", kwargs={"client_slug": other.slug, "public_id": report.public_id}
    )
    for path in (own, via_other):
        response = client.get(path)
        assert response.status_code == 404
        assert data not in response.content
    # No URL to hand out, and the object grants nobody but the bucket's owner.
    with pytest.raises(ValueError, match="no public URL"):
        default_storage.url(report.file.name)
    grants = api.get_object_acl(Bucket=bucket, Key=report.file.name)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers / AuthenticatedUsers


def test_a_letter_renders_into_the_store_and_downloads_for_the_client_only(
    s3, client, client_a, client_b, staff_a, member_a, member_b, django_capture_on_commit_callbacks
):
    api, bucket, _ = s3
    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("clients:letter_new", kwargs={"client_slug": client_a.slug, "kind": "reactivation"}),
            {
                "company_name": "Alpha Imports LLC",
                "address_line1": "1 Dock Street",
                "city": "Newark",
                "state": "NJ",
                "postal_code": "07114",
                "importer_numbers": "12-345678900",
                "signer_name": "Dana Alvarez",
                "signer_title": "President",
                "details": "Last used in 2023.",
                "generate": "",
            },
        )
    assert response.status_code == 302
    with scopes_disabled():
        letter = Letter.objects.get()
    assert _keys(api, bucket) == [letter.file.name]
    url = reverse(
        "clients:letter_download", kwargs={"client_slug": client_a.slug, "public_id": letter.public_id}
    )
    client.force_login(member_a)
    pdf = b"".join(client.get(url).streaming_content)
    assert pdf.startswith(b"%PDF")
    client.force_login(member_b)
    assert client.get(url).status_code == 404


@pytest.mark.usefixtures("postgres")
def test_two_halves_import_from_a_local_copy_of_the_stored_file(s3, db, settings, monkeypatch):
    """The second-half process reads a local copy of the stored file; the result is the local disk's."""
    monkeypatch.setattr(ingestion, "SPLIT_MIN_BYTES", 0)
    data = es003_csv(with_errors(es003_rows(300)))
    copies_before = _local_copies()
    client = ClientFactory()
    for number in SPLIT_IORS:
        importer_number(client, number)
    outcomes = []
    for storage in ("s3", "disk"):
        if storage == "disk":
            settings.STORAGES = {
                **settings.STORAGES,
                "default": {
                    "BACKEND": "brokerage.storage.PrivateFileStorage",
                    "OPTIONS": {"location": str(settings.PRIVATE_STORAGE_ROOT)},
                },
            }
            with scope(client=client):
                Entry.objects.all().delete()  # with their lines: the second import starts from the same place
        report, _ = upload(client, "", data, filename="report.csv", reprocess=True)
        assert type(report.file.storage._wrapped).__name__ == (
            "PrivateS3Storage" if storage == "s3" else "PrivateFileStorage"
        )
        outcomes.append(import_outcome(client, report))
    assert outcomes[0] == outcomes[1] and outcomes[0]["entries"]
    assert _local_copies() == copies_before


def test_a_worker_with_no_shared_disk_imports_from_the_store(
    s3, settings, client, acme, start_celery_worker, tmp_path
):
    _, _, env = s3
    # The worker's own, empty disk: whatever it reads, it reads from the bucket.
    start_celery_worker(env={**env, "PRIVATE_STORAGE_ROOT": str(tmp_path / "worker-disk")})
    client.force_login(member(acme))
    response = client.post(
        reverse("entries:reports", kwargs={"client_slug": acme.slug}),
        {"files": [SimpleUploadedFile("report.csv", es003_csv(es003_rows(30)), content_type="text/csv")]},
    )
    assert response.status_code == 302
    with scope(client=acme):
        report = EntryReport.objects.latest("pk")

    def finished():
        report.refresh_from_db()
        return report.status in (EntryReport.Status.SUCCEEDED, EntryReport.Status.FAILED)

    wait_for(finished, timeout=90, message="the worker's import")
    assert report.status == EntryReport.Status.SUCCEEDED, report.message
    assert report.entries_created == 30
    assert not list((tmp_path / "worker-disk").rglob("*.upload"))
