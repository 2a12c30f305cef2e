"""Drill: the same report uploaded by two people at the same moment is imported once.

Two threads, each a logged-in user with their own database connection, post the upload form at the same
instant (a barrier releases both). Without the upload lock both find no earlier import of the file and
both queue one.
"""

import hashlib
import os
import threading
import time

import pytest
from django.db import connection
from django.test import Client as Browser
from django.urls import reverse
from django_scopes import scope

from entries.models import Entry, EntryReport
from tests.entries.helpers import SAMPLES
from tests.factories import member
from tests.reliability.helpers import record_figures

FILES = ("es003_basic.csv", "es003_messy.csv", "es003_basic.xlsx")


@pytest.fixture
def postgresql(settings):
    """Concurrent writers need a real database server (SQLite would only make one of them wait)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        reason = "two concurrent uploads need PostgreSQL: set DATABASE_URL"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


def _post_together(browsers: list[Browser], url: str, name: str) -> list:
    barrier = threading.Barrier(len(browsers))
    responses: list = [None] * len(browsers)
    errors: list = []

    def upload(index: int, browser: Browser) -> None:
        try:
            with (SAMPLES / name).open("rb") as handle:
                barrier.wait(timeout=10)
                responses[index] = browser.post(url, {"files": [handle]}, follow=True)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=upload, args=(i, b)) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return responses


def test_same_report_uploaded_by_two_people_at_once_is_imported_once(postgresql, transactional_db, importer):
    people = [member(importer, role="client_admin"), member(importer)]
    browsers = []
    for person in people:
        browser = Browser()
        browser.force_login(person)
        browsers.append(browser)
    url = reverse("entries:reports", kwargs={"client_slug": importer.slug})

    started = time.monotonic()
    per_file = {}
    for name in FILES:
        responses = _post_together(browsers, url, name)
        pages = [r.content.decode() for r in responses]  # the reports page each person lands on
        assert [r.status_code for r in responses] == [200, 200]
        received = sorted("1 report received" in page for page in pages)
        # The second person's file is the first one's: done already, or still being imported.
        already = sorted(
            f"{name} was already imported" in page or f"{name} is already being imported" in page
            for page in pages
        )
        assert received == [False, True] and already == [False, True], name

        sha256 = hashlib.sha256((SAMPLES / name).read_bytes()).hexdigest()
        with scope(client=importer):
            reports = list(EntryReport.objects.filter(sha256=sha256))
        assert len(reports) == 1, f"{name}: {len(reports)} imports"
        assert reports[0].status == EntryReport.Status.SUCCEEDED and reports[0].attempts == 1
        per_file[name] = reports[0].entries_created
    with scope(client=importer):
        assert EntryReport.objects.count() == len(FILES)
        assert Entry.objects.count() == sum(per_file.values())  # the second upload added nothing
    record_figures(
        "concurrent_uploads",
        {
            "files": len(FILES),
            "uploads": 2 * len(FILES),
            "imports": len(FILES),
            "entries": per_file,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
