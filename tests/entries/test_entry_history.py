"""The entry page's history shows every change a later report makes: path, amounts and lines."""

import csv
import io
from decimal import Decimal

from django_scopes import scope

from entries.models import Entry
from tests.entries.helpers import SAMPLES, upload
from tests.factories import member


def _report_with_changed_duty(number: str, new_duty: str, **others: str) -> tuple[bytes, Decimal]:
    """es003_basic.csv with every IEEPA row of one entry (and of `others`, number=duty) carrying a new duty.

    Returns the file and the first entry's new IEEPA total.
    """
    duties = {number: new_duty, **others}
    rows = list(csv.reader(io.StringIO((SAMPLES / "es003_basic.csv").read_text())))
    header = rows[0]
    entry, hts, duty = (
        header.index(name)
        for name in ("Entry Summary Number", "HTS Number - Full", "Line Tariff Duty Amount")
    )
    total = Decimal(0)
    for row in rows[1:]:
        found = row[entry].replace("-", "")
        if found in duties and row[hts].startswith(("9903.01", "9903.02")):
            row[duty] = duties[found]
            total += Decimal(new_duty) if found == number else 0
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(), total


def _cape_entry(client) -> Entry:
    with scope(client=client):
        return (
            Entry.objects.filter(refund_path="cape_phase1", section_122_duty=0, ieepa_duty__gt=0)
            .order_by("entry_number")
            .first()
        )


def test_a_later_report_that_changes_duty_shows_in_the_entry_history(client, importer):
    upload(importer, "es003_basic.csv")
    entry = _cape_entry(importer)
    client.force_login(member(importer))
    assert "No change since the entry was imported" in client.get(entry.get_absolute_url()).content.decode()
    old_total = entry.ieepa_duty

    data, new_total = _report_with_changed_duty(entry.entry_number, "12.34")
    upload(importer, "es003_basic.csv", data, filename="es003_basic_corrected.csv")

    with scope(client=importer):
        entry.refresh_from_db()
    assert entry.ieepa_duty == new_total != old_total
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "No change since the entry was imported" not in html
    assert f"IEEPA ${old_total:,.2f}" in html and f"IEEPA ${new_total:,.2f}" in html
    assert "es003_basic_corrected.csv" in html


def test_a_later_report_that_removes_the_ieepa_duty_shows_the_path_change_too(client, importer):
    upload(importer, "es003_basic.csv")
    entry = _cape_entry(importer)
    client.force_login(member(importer))

    data, _ = _report_with_changed_duty(entry.entry_number, "0.00")
    upload(importer, "es003_basic.csv", data, filename="es003_basic_no_ieepa.csv")

    with scope(client=importer):
        entry.refresh_from_db()
        fields = set(entry.history.values_list("field", flat=True))
    assert entry.refund_path == "not_affected"
    assert {"refund_path", "lines"} <= fields
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "No change since the entry was imported" not in html
    assert "Refund path" in html and "CAPE Phase 1" in html and "Not affected" in html
    assert "IEEPA $0.00" in html


def test_staff_only_marks_hold_when_a_later_report_changes_the_entry(importer):
    from entries.services import entry_set_flags
    from tests.factories import staff_user

    upload(importer, "es003_basic.csv")
    surety = _cape_entry(importer)
    with scope(client=importer):
        filed = (
            Entry.objects.filter(refund_path="cape_phase1", section_122_duty=0, ieepa_duty__gt=0)
            .exclude(pk=surety.pk)
            .order_by("entry_number")
            .first()
        )
        for entry, marks in ((surety, {"surety_paid": True}), (filed, {"reconciliation_filed": True})):
            entry_set_flags(
                actor=staff_user(),
                entry=entry,
                drawback=False,
                protest=False,
                reconciliation=False,
                note="marked",
                **marks,
            )
    # Both marked entries change in the later report, so the import classifies them again.
    data, total = _report_with_changed_duty(surety.entry_number, "55.55", **{filed.entry_number: "66.66"})
    upload(importer, "es003_basic.csv", data, filename="later.csv")
    with scope(client=importer):
        surety.refresh_from_db()
        filed.refresh_from_db()
    assert surety.ieepa_duty == total
    assert (surety.refund_path, surety.exclusion_reason) == ("excluded", "surety_paid")
    assert (filed.refund_path, filed.exclusion_reason) == ("excluded", "reconciliation_filed")
