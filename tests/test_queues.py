"""Each kind of work has its own queue (settings.TASK_QUEUES, brokerage.celery.route_task).

The table checks that every task of ours and every beat job has its queue; the test with two real
workers, one per queue, checks what the queues are for: a long import does not delay a letter.
"""

import time

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from brokerage.celery import app, route_task
from clients.models import Letter
from entries.models import EntryReport
from tests.conftest import wait_for
from tests.entries.helpers import SPLIT_IORS, es003_csv, es003_rows
from tests.factories import ClientFactory, assign, importer_number, member, staff_user


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        ("entries.tasks.import_entry_report", "imports"),
        ("entries.tasks.route_broker_report", "imports"),
        ("refunds.tasks.reconcile_cbp_report", "imports"),
        ("clients.letters_tasks.render_letter", "letters"),
        ("clients.letters_tasks.render_letter_batch", "letters"),
        ("clients.tasks.build_audit_export", "letters"),
        ("protests.tasks.render_protest_document", "letters"),
        ("entries.tasks.send_deadline_reminders", "reminders"),
        ("clients.onboarding_tasks.send_code_window_reminder", "reminders"),
        ("clients.onboarding_tasks.send_due_code_window_reminders", "reminders"),
        ("clients.onboarding_tasks.send_stale_onboarding_digests", "reminders"),
        ("entries.tasks.reclassify_all_clients", "nightly"),
        ("entries.tasks.reclassify_after_registry_change", "nightly"),
        ("entries.tasks.sweep_queued_reports", "nightly"),
        ("protests.tasks.deem_denied_protests", "nightly"),
    ],
)
def test_task_goes_to_the_queue_of_its_kind(task, kind, settings):
    settings.QUEUE_PREFIX = "portal-a."
    assert route_task(task, (), {}, {}) == {"queue": f"portal-a.{kind}"}


def test_every_task_of_ours_and_every_beat_job_has_a_queue():
    app.loader.import_default_modules()
    apps = {config.name for config in django_apps.get_app_configs()} - {"import_export"}
    ours = {name for name in app.tasks if name.split(".")[0] in apps and not name.startswith("django")}
    routed = {name for names in settings.TASK_QUEUES.values() for name in names}
    assert ours == routed  # a new task must be given a kind of work (a name that is no task fails too)
    for job in settings.CELERY_BEAT_SCHEDULE.values():
        assert job["task"] in routed


def test_unlisted_task_goes_to_the_default_queue():
    assert route_task("celery.backend_cleanup", (), {}, {}) is None


LETTER = {
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
}


@pytest.mark.services
def test_a_long_import_does_not_delay_a_letter(client, start_celery_worker):
    acme = ClientFactory(slug="acme-queues", legal_name="Alpha Imports LLC")
    for number in SPLIT_IORS:
        importer_number(acme, number)
    staff = staff_user()
    assign(acme, staff)
    imports = start_celery_worker(queues=["imports"])
    letters = start_celery_worker(queues=["letters", "default"])

    # A large report: its import keeps the imports worker busy for seconds.
    client.force_login(member(acme))
    data = es003_csv(es003_rows(60_000))
    response = client.post(
        reverse("entries:reports", kwargs={"client_slug": acme.slug}),
        {"files": [SimpleUploadedFile("large.csv", data, content_type="text/csv")]},
    )
    assert response.status_code == 302
    with scope(client=acme):
        report = EntryReport.objects.get()

    def report_status():
        report.refresh_from_db()
        return report.status

    wait_for(lambda: report_status() == EntryReport.Status.RUNNING, timeout=60, message="the import to start")

    # While it runs, staff ask for a letter: the letters worker renders it at once.
    client.force_login(staff)
    asked = time.monotonic()
    response = client.post(
        reverse("clients:letter_new", kwargs={"client_slug": acme.slug, "kind": "reactivation"}), LETTER
    )
    assert response.status_code == 302

    def letter_done():
        with scopes_disabled():
            letter = Letter.objects.get()
        return letter if letter.is_finished else None

    letter = wait_for(letter_done, timeout=60, message="the letter")
    waited = time.monotonic() - asked
    assert letter.status == Letter.Status.SUCCEEDED, letter.message
    assert report_status() == EntryReport.Status.RUNNING, (
        f"the import finished first (letter took {waited:.1f}s)"
    )

    wait_for(lambda: report_status() == EntryReport.Status.SUCCEEDED, timeout=300, message="the import")
    assert report.entries_created == 60_000
    # Each worker ran only its own kind of work ("Task <name>[<id>] received" in its log).
    assert "import_entry_report[" in imports.log_path.read_text()
    assert "render_letter[" in letters.log_path.read_text()
    assert "render_letter[" not in imports.log_path.read_text()
    assert "import_entry_report[" not in letters.log_path.read_text()
