"""End-to-end in Chromium: after an upload, the Reports list the user lands on shows each import move to done.

A real Celery worker on Redis does the imports (PostgreSQL, as the other browser tests); the page is never
reloaded: a marker set in the page's window after landing must still be there when the rows say Done.
"""

import time

import pytest

from tests.e2e.conftest import login, shot
from tests.entries.helpers import es003_report_of_entries
from tests.factories import ClientFactory, UserFactory, importer_number, member

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _statuses(page) -> list[str]:
    return page.eval_on_selector_all(
        "#report-list td.report-status", "cells => cells.map(c => c.dataset.status)"
    )


def test_reports_list_shows_each_import_moving_to_done_without_reloading(
    page, celery_worker_process, tmp_path
):
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    importer_number(acme, "19-528224900")
    member(acme, UserFactory(email="lena@acme.example"), role="client_admin")
    files = []
    for name, rows in (("es003_q1.csv", 60_000), ("es003_q2.csv", 5_000)):
        path = tmp_path / name
        path.write_bytes(es003_report_of_entries(rows, "19-528224900", bad_entry=False))
        files.append(str(path))

    login(page, "lena@acme.example")
    page.goto(page.base + "/c/acme/reports/")
    page.set_input_files("input[name=files]", files)
    page.click("button:has-text('Upload and import')")
    page.wait_for_selector("text=2 reports received")
    page.evaluate("window.landed = 'still here'")
    assert "/c/acme/reports/" in page.url

    seen: list[list[str]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        statuses = _statuses(page)
        if not seen or statuses != seen[-1]:
            seen.append(statuses)
            if any(s in ("pending", "running") for s in statuses) and len(seen) >= 2:
                shot(page, "20-reports-list-import-running")
        if statuses == ["succeeded", "succeeded"]:
            break
        time.sleep(0.2)

    assert _statuses(page) == ["succeeded", "succeeded"], f"statuses seen on the list: {seen}"
    assert any(s != "succeeded" for s in seen[0]), f"the list showed everything done at once: {seen}"
    assert page.evaluate("window.landed") == "still here"  # the page was never reloaded
    listing = page.inner_text("#report-list")
    assert "es003_q1.csv" in listing and "12,000" in listing and "1,000" in listing
    assert (
        page.locator("#report-list [hx-get]").count() == 0
        and page.get_attribute("#report-list", "hx-get") is None
    )
    shot(page, "21-reports-list-imports-done")

    # The entries the imports stored: a page size and numbered pages, sorted by a column.
    page.goto(page.base + "/c/acme/entries/?per=25")
    page.click("th a:has-text('IEEPA duty')")
    page.wait_for_url("**sort=ieepa**")
    assert page.get_attribute("th[aria-sort=ascending]", "scope") == "col"
    assert page.locator("nav[aria-label=Pages] .page-item.active").inner_text().strip() == "1"
    shot(page, "22-entries-sorted-numbered-pages")
    assert not page.console_errors, page.console_errors
