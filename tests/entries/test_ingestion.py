"""Importing ES-003 reports into a client's entries, through the service the upload page and command use."""

import csv
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scope, scopes_disabled

from entries.ingestion.services import report_import
from entries.models import Entry, EntryHistory, EntryLine, EntryReport, RowRejection
from tests.entries.helpers import AS_OF, COLUMNS, EXPECTED, SAMPLE_IORS, SAMPLES, keep, upload
from tests.factories import ClientFactory, importer_number


def stored_rows(client) -> list[dict]:
    def fmt(value):
        if value is None:
            return ""
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        return str(value)

    with scope(client=client):
        return [
            {c: fmt(v) for c, v in zip(COLUMNS, row, strict=True)}
            for row in Entry.objects.order_by("entry_number").values_list(*COLUMNS)
        ]


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_report_is_stored_and_classified_as_expected(importer, sample):
    report, _ = upload(importer, sample)
    assert report.status == EntryReport.Status.SUCCEEDED, report.message
    with (SAMPLES / EXPECTED[sample]).open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    assert stored_rows(importer) == expected
    assert report.entries_created == len(expected) and report.rows_rejected == 0


def test_lines_are_stored_with_their_programs(importer):
    upload(importer, "es003_basic.csv")
    with scope(client=importer):
        rows = sum(1 for _ in (SAMPLES / "es003_basic.csv").open()) - 1
        assert EntryLine.objects.count() == rows
        for entry in Entry.objects.all()[:10]:
            ieepa = sum((line.duty for line in entry.lines.filter(program="ieepa")), Decimal(0))
            assert ieepa == entry.ieepa_duty


@pytest.mark.parametrize("sample", ["bad_empty.csv", "bad_not_a_report.csv", "bad_missing_duty_column.csv"])
def test_bad_file_is_rejected_whole_and_nothing_is_stored(importer, sample):
    upload(importer, "es003_basic.csv")
    before = stored_rows(importer)
    if sample == "bad_empty.csv":
        with pytest.raises(Exception, match="empty"):
            upload(importer, sample)
        return
    report, _ = upload(importer, sample)
    assert report.status == EntryReport.Status.FAILED
    assert "nothing was imported" in report.message
    assert stored_rows(importer) == before


def test_missing_column_message_names_it_and_the_headers_found(importer):
    report, _ = upload(importer, "bad_missing_duty_column.csv")
    assert "Line Tariff Duty Amount" in report.message
    assert "Headers found" in report.message and "Entry Summary Number" in report.message


def test_check_digit_error_rejects_that_entry_only(importer):
    report, _ = upload(importer, "bad_check_digit.csv")
    with scope(client=importer):
        rejections = list(RowRejection.objects.filter(report=report))
    bad_numbers = {r.entry_number for r in rejections}
    assert len(bad_numbers) == 1
    assert any("check digit should be" in r.reason for r in rejections)
    assert report.entries_created == 59 and report.entries_rejected <= 1
    assert all(r.row_number > 1 for r in rejections)


def test_scientific_entry_numbers_are_rejected_with_the_excel_explanation(importer):
    report, _ = upload(importer, "bad_scientific_entry_numbers.csv")
    with scope(client=importer):
        reasons = list(RowRejection.objects.filter(report=report).values_list("reason", flat=True))
    assert reasons and all("Excel" in r for r in reasons)
    assert report.entries_created == 0


def test_bad_values_are_each_reported_with_row_and_reason(importer):
    report, _ = upload(importer, "bad_values.csv")
    with scope(client=importer):
        by_row = {r.row_number: r.reason for r in RowRejection.objects.filter(report=report)}
    assert "Pending Something" in by_row[2]
    assert "02/30/2025" in by_row[3]
    assert "abc" in by_row[4]


def test_same_file_again_is_reported_as_already_imported(importer):
    first, _ = upload(importer, "es003_basic.csv")
    again, created = upload(importer, "es003_basic.csv")
    assert not created and again.pk == first.pk
    with scope(client=importer):
        assert EntryReport.objects.count() == 1


def test_reprocessing_the_same_file_changes_nothing(importer):
    upload(importer, "es003_basic.csv")
    before = stored_rows(importer)
    with scope(client=importer):
        lines_before = EntryLine.objects.count()
    report, created = upload(importer, "es003_basic.csv", reprocess=True)
    assert (
        created and report.entries_unchanged == 60 and report.entries_created == report.entries_updated == 0
    )
    assert stored_rows(importer) == before
    with scope(client=importer):
        assert EntryLine.objects.count() == lines_before


def test_newer_report_updates_entries_in_place(importer):
    first, _ = upload(importer, "es003_basic.csv")
    text = (SAMPLES / "es003_basic.csv").read_text()
    lines = text.splitlines()
    target = lines[1].split(",")[0]
    # The newer export has one fewer row for the first entry: without the uploader's word that the report
    # replaces its entries, the stored entry is kept (tests/entries/test_import_safety.py) ...
    newer = "\n".join([lines[0]] + [line for line in lines[1:] if line != lines[1]]) + "\n"
    kept, _ = upload(importer, "newer.csv", newer.encode())
    assert (kept.entries_kept, kept.entries_updated, kept.entries_unchanged) == (1, 0, 59)
    # ... with it, its lines are replaced, not added to.
    second, _ = keep(importer, "newer.csv", newer.encode(), reprocess=True)
    with scope(client=importer):
        second.replaces_entries = True
        second.save(update_fields=["replaces_entries"])
        report_import(report=second, as_of=AS_OF)
        second.refresh_from_db()
    assert second.entries_updated == 1 and second.entries_unchanged == 59 and second.entries_created == 0
    with scope(client=importer):
        entry = Entry.objects.get(entry_number=target)
        assert entry.last_report == second
        assert entry.lines.count() == sum(1 for line in lines[1:] if line.startswith(target)) - 1
        assert Entry.objects.exclude(pk=entry.pk).filter(last_report=first).count() == 59
        assert Entry.objects.count() == 60


def test_rows_of_another_importer_are_rejected(db):
    client = ClientFactory(slug="only-one")
    importer_number(client, "19-528224900")
    report, _ = upload(client, "es003_basic.csv")
    with scope(client=client):
        reasons = set(RowRejection.objects.filter(report=report).values_list("reason", flat=True))
        assert Entry.objects.exclude(importer_number="19-528224900").count() == 0
    assert any("34-370224800 is not one of this client's importer numbers" in r for r in reasons)
    assert report.entries_created > 0


def test_missing_liquidation_columns_import_with_a_warning(importer):
    rows = list(csv.reader((SAMPLES / "es003_basic.csv").open()))
    keep = [i for i, h in enumerate(rows[0]) if h not in ("Liquidation Status", "Liquidation Date")]
    content = "\n".join(",".join(r[i] for i in keep) for r in rows) + "\n"
    report, _ = upload(importer, "no_liquidation.csv", content.encode())
    assert report.status == EntryReport.Status.SUCCEEDED
    assert report.has_liquidation_columns is False
    assert any("Liquidation" in w for w in report.warnings)
    with scope(client=importer):
        paths = set(Entry.objects.values_list("refund_path", flat=True))
        assert "needs_data" in paths
        assert not Entry.objects.filter(
            refund_path__in=["cape_phase1", "protest", "finally_liquidated"]
        ).exists()


def test_rows_disagreeing_on_entry_fields_reject_the_whole_entry(importer):
    rows = (SAMPLES / "es003_basic.csv").read_text().splitlines()
    header, first, second = rows[0], rows[1].split(","), rows[2].split(",")
    assert first[0] == second[0]
    second[4] = "01/30/2026"  # another entry date for the same entry
    content = "\n".join([header, ",".join(first), ",".join(second)] + rows[3:]) + "\n"
    report, _ = upload(importer, "disagree.csv", content.encode())
    with scope(client=importer):
        assert not Entry.objects.filter(entry_number=first[0]).exists()
        reasons = list(
            RowRejection.objects.filter(report=report, entry_number=first[0]).values_list("reason", flat=True)
        )
    assert any("disagree on Entry Date" in r for r in reasons)
    assert report.entries_created == 59


def test_import_command_prints_the_summary_and_fails_on_a_rejected_file(importer, capsys):
    call_command("import_ace_report", "--client", "importer", str(SAMPLES / "es003_messy.csv"))
    assert "created 40 updated 0 unchanged 0 rejected 0 rows" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("import_ace_report", "--client", "importer", str(SAMPLES / "bad_not_a_report.csv"))
    assert "rejected" in capsys.readouterr().err


def test_upload_over_the_size_limit_is_refused(importer, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    with pytest.raises(Exception, match="the limit is"):
        upload(importer, "es003_basic.csv")


def test_progress_is_reported_while_rows_are_read(importer, monkeypatch):
    from entries.ingestion import importer as ingestion
    from entries.ingestion import staging

    monkeypatch.setattr(staging, "PROGRESS_EVERY_ROWS", 100)
    calls = []
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
        ingestion.import_report(
            client=importer,
            report=report,
            path=report.file.path,
            as_of=AS_OF,
            allowed_importers={"19-528224900", "34-370224800"},
            on_progress=lambda done, total, message: calls.append((done, total, message)),
        )
    reading = [c for c in calls if c[2] == "Reading rows…"]
    assert [c[0] for c in reading] == [100, 200, 300, 400, 470]  # the last: the reading's final count
    assert all(total is None or total >= done for done, total, _ in reading)
    assert calls[-1] == (470, 470, "Storing entries…")


def test_staff_exports_entries_from_the_admin(client, importer, db):
    from tests.factories import staff_user

    upload(importer, "es003_basic.csv")
    client.force_login(staff_user(manager=True))
    response = client.post(
        "/admin/entries/entry/export/", {"format": "0", "resource": "0", "export_items": []}
    )
    if response.status_code == 200 and response.get("Content-Disposition") is None:
        # django-import-export 4 shows a field-choice form first; submit it with every field.
        form = response.context["form"]
        data = {"format": "0", "resource": "0"}
        data.update({name: "on" for name in form.fields if name.startswith("entryresource_")})
        response = client.post("/admin/entries/entry/export/", data)
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("client,entry_number")
    assert len(lines) == 61


def test_file_cut_off_mid_row_is_rejected_whole_and_nothing_is_stored(importer):
    content = (SAMPLES / "es003_basic.csv").read_bytes()
    cut = content[: len(content) // 2]
    cut = cut[: cut.rfind(b",")]  # ends inside a row, as a broken download or copy does
    report, _ = upload(importer, "cut.csv", cut)
    assert report.status == EntryReport.Status.FAILED
    assert "nothing was imported" in report.message
    assert stored_rows(importer) == []


def test_entries_record_the_registry_version_they_were_classified_with(importer):
    from entries.registry import current_registry

    upload(importer, "es003_basic.csv")
    with scope(client=importer):
        assert set(Entry.objects.values_list("registry_version", flat=True)) == {current_registry().version}


def test_a_newer_report_that_moves_an_entry_leaves_it_in_the_history(importer):
    upload(importer, "es003_basic.csv")
    number = "D9P35525385"  # reliquidated 09/03/2026: its CAPE window closed on 2026-11-22, a protest now
    with scope(client=importer):
        before = Entry.objects.get(entry_number=number)
    assert before.refund_path == "protest"
    text = (SAMPLES / "es003_basic.csv").read_text()
    newer = "\n".join(
        line.replace(",Reliquidated,09/03/2026,", ",Reliquidated,10/15/2026,")
        if line.startswith(number)
        else line
        for line in text.splitlines()
    )
    report, _ = upload(importer, "es003_liquidated.csv", newer.encode())
    assert report.entries_updated == 1 and report.entries_unchanged == 59
    with scope(client=importer):
        after = Entry.objects.get(entry_number=number)
        history = {h.field: h for h in after.history.all()}
        untouched = EntryHistory.objects.exclude(entry=after).count()
    assert after.refund_path != before.refund_path and after.next_deadline != before.next_deadline
    path, deadline = history["refund_path"], history["next_deadline"]
    assert (path.from_value, path.to_value) == ("protest", after.refund_path)
    assert (deadline.from_value, deadline.to_value) == (
        before.next_deadline.isoformat() if before.next_deadline else "",
        after.next_deadline.isoformat(),
    )
    assert path.effective_on == AS_OF and "es003_liquidated.csv" in path.note
    assert untouched == 0


def test_a_report_that_only_writes_amounts_differently_changes_nothing(importer):
    upload(importer, "es003_basic.csv")
    text = (SAMPLES / "es003_basic.csv").read_text()
    assert ",5685.51," in text and ",0.00," in text
    # The same amounts as ACE's XLSX-to-CSV conversions write them: a dollar sign, a thousands comma, no cents.
    newer = text.replace(",5685.51,", ',"$5,685.51",').replace(",0.00,", ",0,")
    report, created = upload(importer, "es003_reformatted.csv", newer.encode())
    assert created and report.rows_rejected == 0
    assert report.entries_unchanged == 60 and report.entries_updated == report.entries_created == 0


def test_lines_whose_entries_were_not_stored_make_the_import_fail_whole(importer, monkeypatch):
    from entries.ingestion import store

    # A fault in the merge: the entries are not written, their lines are (lines have no foreign key).
    monkeypatch.setattr(store, "_store_entries", lambda **kwargs: None)  # SQLite
    monkeypatch.setattr(store, "_store_new_entries", lambda *args: None)  # PostgreSQL
    with pytest.raises(Exception, match="not stored as the client's|NOT NULL"):  # PostgreSQL | SQLite
        upload(importer, "es003_basic.csv")
    with scope(client=importer):
        report = EntryReport.objects.get()
        assert report.status == EntryReport.Status.FAILED and "nothing was imported" in report.message
        assert not Entry.objects.exists() and not EntryLine.objects.exists()


def test_deleting_an_entry_or_a_client_deletes_its_lines(importer):
    other = ClientFactory(slug="other")
    importer_number(other, "12-345678900")
    text = (SAMPLES / "es003_basic.csv").read_text()
    for number in SAMPLE_IORS["es003_basic.csv"]:
        text = text.replace(number, "12-345678900")
    upload(importer, "es003_basic.csv")
    upload(other, "other.csv", text.encode())
    with scope(client=importer):
        entry = Entry.objects.order_by("entry_number").first()
        gone, lines_before = entry.lines.count(), EntryLine.objects.count()
        entry.delete()
        assert gone > 0 and EntryLine.objects.count() == lines_before - gone
    with scope(client=other):
        others = EntryLine.objects.count()
    importer.delete()
    with scopes_disabled():
        assert EntryLine.objects.count() == others > 0


def test_a_worker_that_dies_right_after_storing_leaves_the_report_finished(importer, monkeypatch):
    """The figures and status commit with the entries: a redelivered task finds the report done.

    Before, a worker killed between the merge's commit and the job row's update left the report
    running; the redelivered task imported it again and reported every entry as unchanged.
    """
    from entries import tasks
    from entries.ingestion import importer as ingestion

    class WorkerKilled(BaseException):  # not an Exception: nothing in the import may catch it
        pass

    def killed(stage):
        raise WorkerKilled

    monkeypatch.setattr(ingestion._Stage, "drop", killed)  # runs right after the import's transaction
    with scope(client=importer):
        report, _ = keep(importer, "es003_basic.csv")
        with pytest.raises(WorkerKilled):
            report_import(report=report, as_of=AS_OF)
    monkeypatch.undo()
    entries = sum(1 for _ in csv.DictReader((SAMPLES / EXPECTED["es003_basic.csv"]).open(newline="")))
    report.refresh_from_db()
    assert report.status == EntryReport.Status.SUCCEEDED
    assert (report.entries_created, report.entries_unchanged, report.attempts) == (entries, 0, 1)

    tasks.import_entry_report.apply(args=[report.pk])  # the message, delivered again

    report.refresh_from_db()
    assert report.status == EntryReport.Status.SUCCEEDED
    assert (report.entries_created, report.entries_unchanged, report.attempts) == (entries, 0, 1)
    with scope(client=importer):
        assert Entry.objects.count() == entries


def test_entries_sent_in_several_copies_are_stored_as_in_one(importer, monkeypatch):
    from django.db import connection

    from entries.ingestion import store

    # The basic sample's 60 new entries go to the database in COPYs of 7, each checked as it ends.
    monkeypatch.setattr(store, "ENTRY_COPY_BATCH", 7)
    copies = []
    original = store._store_new_entries
    monkeypatch.setattr(store, "_store_new_entries", lambda *args: copies.append(original(*args)))
    report, _ = upload(importer, "es003_basic.csv")
    assert report.status == EntryReport.Status.SUCCEEDED, report.message
    with (SAMPLES / EXPECTED["es003_basic.csv"]).open(newline="") as handle:
        assert stored_rows(importer) == list(csv.DictReader(handle))
    if connection.vendor == "postgresql":
        assert len(copies) == 9  # 60 entries, 7 a COPY


def test_a_failure_while_classifying_stores_nothing(importer, monkeypatch):
    from entries.ingestion import store

    # Some COPYs of entries have reached the database when the thread that classifies them fails.
    monkeypatch.setattr(store, "ENTRY_COPY_BATCH", 7)
    calls = []
    original = store._entry_values

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 40:
            raise RuntimeError("classification broke")
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "_entry_values", failing)
    with pytest.raises(RuntimeError, match="classification broke"):
        upload(importer, "es003_basic.csv")
    with scope(client=importer):
        report = EntryReport.objects.get()
        assert report.status == EntryReport.Status.FAILED and "nothing was imported" in report.message
        assert not Entry.objects.exists() and not EntryLine.objects.exists()
