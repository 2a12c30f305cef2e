"""Paths move with time (the daily job), and with the Chapter 99 registry; every change is history."""

from datetime import date, timedelta

import pytest
from django_scopes import scope

from entries.models import Chapter99Rule, Entry, EntryHistory
from entries.reclassification import entries_reclassify
from entries.tasks import reclassify_after_registry_change, reclassify_all_clients
from tests.entries.helpers import AS_OF, upload


@pytest.fixture
def loaded(importer):
    upload(importer, "es003_basic.csv")
    return importer


def test_daily_job_moves_paths_with_time_and_records_history(loaded):
    with scope(client=loaded):
        cape = (
            Entry.objects.filter(refund_path="cape_phase1")
            .exclude(liquidation_date=None)
            .order_by("cape_window_closes")
            .first()
        )
    day_after_window = cape.cape_window_closes + timedelta(days=1)

    totals = reclassify_all_clients(as_of=day_after_window.isoformat())
    assert totals["checked"] == 60 and totals["changed"] >= 1

    with scope(client=loaded):
        cape.refresh_from_db()
        assert cape.refund_path == "protest"
        assert cape.classified_as_of == day_after_window
        change = EntryHistory.objects.get(entry=cape, field="refund_path")
        assert (change.from_value, change.to_value, change.effective_on) == (
            "cape_phase1",
            "protest",
            day_after_window,
        )


def test_running_the_daily_job_twice_changes_nothing_the_second_time(loaded):
    day = AS_OF + timedelta(days=40)
    first = reclassify_all_clients(as_of=day.isoformat())
    with scope(client=loaded):
        history = EntryHistory.objects.count()
    second = reclassify_all_clients(as_of=day.isoformat())
    assert first["changed"] > 0 and second["changed"] == 0
    with scope(client=loaded):
        assert EntryHistory.objects.count() == history


@pytest.mark.django_db(transaction=True)
def test_daily_job_commits_each_client_and_relaxes_only_its_own_commits(importer):
    """Each client commits on its own (a later failure keeps the earlier clients' work); the job's
    asynchronous commits stay inside its transactions, never the worker's other work on the connection."""
    from django.db import connection

    from tests.factories import ClientFactory

    upload(importer, "es003_basic.csv")
    ClientFactory()  # a second client, after the loaded one
    day = AS_OF + timedelta(days=40)
    totals = reclassify_all_clients(as_of=day.isoformat())
    assert totals["clients"] >= 2 and totals["changed"] > 0
    with scope(client=importer):
        assert Entry.objects.filter(classified_as_of=day).count() == totals["changed"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"


def test_same_day_reclassification_of_a_fresh_import_changes_nothing(loaded):
    with scope(client=loaded):
        result = entries_reclassify(client=loaded, as_of=AS_OF)
    assert result.checked == 60 and result.changed == 0


def test_a_years_worth_of_days_only_moves_paths_forward(loaded):
    order = ["cape_phase1", "protest", "finally_liquidated"]
    with scope(client=loaded):
        liquidated = list(
            Entry.objects.filter(liquidation_status="liquidated", refund_path__in=order).values_list(
                "pk", flat=True
            )
        )
        seen = {pk: [] for pk in liquidated}
        for offset in range(0, 400, 20):
            entries_reclassify(client=loaded, as_of=AS_OF + timedelta(days=offset), entry_ids=liquidated)
            for pk, path in Entry.objects.filter(pk__in=liquidated).values_list("pk", "refund_path"):
                seen[pk].append(order.index(path))
    assert all(steps == sorted(steps) for steps in seen.values())
    assert all(steps[-1] == 2 for steps in seen.values())


def test_registry_change_makes_entries_refundable_and_is_recorded(loaded):
    with scope(client=loaded):
        section_301 = Entry.objects.filter(lines__hts__startswith="990388").distinct().first()
    assert section_301 is not None, "the sample has Section 301 rows"
    with scope(client=loaded):
        before = section_301.ieepa_duty
        duty_301 = sum(line.duty for line in section_301.lines.filter(hts__startswith="990388"))
    # A (hypothetical) ruling adds 9903.88.xx to the IEEPA program: the registry is data, so this is a row.
    Chapter99Rule.objects.create(
        program="ieepa", start="99038800", end="99038899", carries_duty=True, source="test ruling"
    )
    reclassify_after_registry_change()
    with scope(client=loaded):
        section_301.refresh_from_db()
        assert section_301.ieepa_duty == before + duty_301
        assert section_301.registry_version != "2026.1"
        assert set(section_301.lines.filter(hts__startswith="990388").values_list("program", flat=True)) == {
            "ieepa"
        }


def test_registry_row_is_validated_by_the_pure_rules():
    from django.core.exceptions import ValidationError

    rule = Chapter99Rule(program="ieepa", start="99039999", end="99030000", source="backwards")
    with pytest.raises(ValidationError):
        rule.clean()


def test_manager_edits_registry_in_admin_and_entries_follow(
    client, loaded, django_capture_on_commit_callbacks
):
    from tests.factories import staff_user

    client.force_login(staff_user(manager=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/entries/chapter99rule/add/",
            {
                "program": "ieepa",
                "start": "99038800",
                "end": "99038899",
                "carries_duty": "on",
                "source": "admin test",
            },
        )
    assert response.status_code == 302
    with scope(client=loaded):
        assert Entry.objects.filter(lines__program="ieepa", lines__hts__startswith="990388").exists()


def test_plain_staff_cannot_edit_the_registry(client, db):
    from tests.factories import staff_user

    client.force_login(staff_user())
    assert client.get("/admin/entries/chapter99rule/add/").status_code == 403
    assert client.get("/admin/entries/chapter99rule/").status_code == 200


def test_beat_schedules_the_daily_reclassification(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "entries.tasks.reclassify_all_clients" in tasks


def test_daily_job_as_of_defaults_to_today(loaded):
    from django.utils import timezone

    reclassify_all_clients()
    with scope(client=loaded):
        changed = Entry.objects.exclude(classified_as_of=AS_OF)
        assert all(e.classified_as_of == timezone.localdate() for e in changed)
    assert date.today() >= AS_OF
