"""CBP's results and refund reports matched to the ledger: results, ES-022, REV-603, REV-613, unmatched rows,
the rejection table's next actions, re-filing, totals, and an ACH return reopening onboarding."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from clients.models import AuditEvent, ChecklistItem, OnboardingProfile
from clients.onboarding.selectors import client_ready_to_file
from entries.models import Entry
from refunds.models import UNKNOWN_REASON_ACTION, CbpReport, Declaration, DeclarationEntry
from refunds.planning import declaration_plan
from refunds.selectors import client_rejections, ledger_totals, rejection_queue
from refunds.services import cbp_report_process, cbp_report_upload, declaration_entry_allow_refile
from refunds.services import declaration_record_filing as record_filing
from tests.conftest import wait_for
from tests.entries.helpers import AS_OF
from tests.refunds.helpers import (
    FILED_ON,
    OUTSIDER,
    RESULTS,
    E,
    build,
    csv_bytes,
    declarations_of,
    make_entries,
    make_ready,
    problems,
    process,
    row,
)


def xlsx_bytes(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["CBP ACE Report"])
    for cells in rows:
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def filed(client_a, staff_a, admin_a):
    """Client A, ready to file, with one filed declaration (claim CAPE-0001) of six entries."""
    make_ready(client_a, admin_a)
    make_entries(client_a, 6, duty="1000.00")
    make_entries(client_a, 1, start=900, path="protest")  # the client's, but never declared
    (declaration,) = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        return record_filing(
            actor=staff_a, declaration=declaration, claim_number="CAPE-0001", filed_on=FILED_ON
        )


def test_results_are_recorded_per_entry_and_unmatched_rows_reported(client_a, staff_a, filed):
    report = process(
        client_a, staff_a, "results", csv_bytes(RESULTS, bom=True, title="CAPE Validation Results")
    )

    assert report.status == "succeeded", report.message
    assert (report.rows_read, report.rows_matched, report.rows_unmatched) == (11, 6, 5)
    found = dict(problems(report))
    # Row numbers as a spreadsheet shows them: the title, a blank line, the header, then the rows.
    assert "not one of this client's entries" in found[10]
    assert "not in declaration CAPE-0001" in found[11]
    assert "no declaration of this client has CAPE claim number CAPE-9999" in found[12]
    assert "Excel" in found[13]
    assert "check digit" in found[14]
    assert row(client_a, E[0]).status == "accepted"
    rejected = row(client_a, E[3])
    assert rejected.status == "rejected" and rejected.cbp_reason == "Entry is subject to an active PROTEST"
    assert rejected.reason.code == "protest"
    assert rejected.next_action.startswith("The protest decides the refund")
    assert rejected.result_report_id == report.pk
    assert row(client_a, E[5]).reason is None and row(client_a, E[5]).next_action == UNKNOWN_REASON_ACTION
    with scope(client=client_a):
        declaration = Declaration.objects.get(pk=filed.pk)
    assert (declaration.status, declaration.accepted_count, declaration.rejected_count) == (
        "partially_rejected",
        3,
        3,
    )


def test_results_without_claim_numbers_from_the_declarations_page(client_a, staff_a, filed):
    rows = [["Entry Summary Number", "Validation Result"]] + [[e, "accepted"] for e in E]

    report = process(client_a, staff_a, "results", csv_bytes(rows), declaration=filed)

    assert report.rows_matched == 6 and report.rows_unmatched == 0
    with scope(client=client_a):
        assert Declaration.objects.get(pk=filed.pk).status == "accepted"


def test_results_without_claim_numbers_or_declaration_are_rejected_whole(client_a, staff_a, filed):
    report = process(
        client_a, staff_a, "results", csv_bytes([["Entry Number", "Status"], [E[0], "Accepted"]])
    )

    assert report.status == "failed"
    assert "claim number column" in report.message
    assert row(client_a, E[0]).status == "pending"


def test_partial_results_leave_the_declaration_filed_and_all_rejected_is_rejected(client_a, staff_a, filed):
    process(
        client_a,
        staff_a,
        "results",
        csv_bytes([["Claim Number", "Entry Number", "Status"], ["CAPE-0001", E[0], "Rejected"]]),
    )
    with scope(client=client_a):
        assert Declaration.objects.get(pk=filed.pk).status == "filed"

    rest = [["Claim Number", "Entry Number", "Status"]] + [["CAPE-0001", e, "Rejected"] for e in E[1:]]
    process(client_a, staff_a, "results", csv_bytes(rest))
    with scope(client=client_a):
        assert Declaration.objects.get(pk=filed.pk).status == "rejected"


def test_a_recorded_result_is_not_overwritten_by_a_contradicting_file(client_a, staff_a, filed):
    header = ["Claim Number", "Entry Number", "Status"]
    process(client_a, staff_a, "results", csv_bytes([header, ["CAPE-0001", E[0], "Accepted"]]))

    again = process(client_a, staff_a, "results", csv_bytes([header, ["CAPE-0001", E[0], "Rejected"]]))

    assert "already recorded as accepted" in problems(again)[0][1]
    assert row(client_a, E[0]).status == "accepted"


def test_missing_columns_reject_the_whole_file(client_a, staff_a, filed):
    report = process(client_a, staff_a, "es022", csv_bytes([["Entry Number", "Interest"], [E[0], "1.00"]]))

    assert report.status == "failed"
    assert "'Principal Amount'" in report.message


# --- Refunds ---------------------------------------------------------------------------------------


def _accept_all_but_last(client, staff):
    rows = [["Claim Number", "Entry Number", "Status", "Reason"]]
    rows += [["CAPE-0001", e, "Accepted", ""] for e in E[:5]] + [["CAPE-0001", E[5], "Rejected", "protest"]]
    process(client, staff, "results", csv_bytes(rows))


def test_es022_records_principal_and_interest(client_a, staff_a, filed):
    _accept_all_but_last(client_a, staff_a)
    content = xlsx_bytes(
        [
            [
                "CAPE Claim Number",
                "Entry Number",
                "Refund Principal Amount",
                "Refund Interest Amount",
                "Refund Date",
            ],
            ["CAPE-0001", E[0], 1000, 35.5, date(2026, 12, 10)],
            ["CAPE-0001", E[1], "$1,000.00", "$36.01", "12/11/2026"],
            ["CAPE-0001", E[2], 600, 10, None],  # paid in two parts: summed
            ["CAPE-0001", E[2], 400, 5.25, None],
            ["CAPE-0001", E[5], 1000, 1, None],  # rejected: no refund can be recorded
            ["CAPE-0002", E[0], 1, 1, None],
            ["CAPE-0001", OUTSIDER, 1, 1, None],
            ["CAPE-0001", E[3], "12.345", 0, None],
        ]
    )

    report = process(client_a, staff_a, "es022", content, name="es022.xlsx")

    assert report.status == "succeeded", report.message
    assert (report.rows_read, report.rows_matched, report.rows_unmatched, report.entries_updated) == (
        8,
        4,
        4,
        3,
    )
    reasons = [reason for _, reason in problems(report)]
    assert "is rejected, not accepted" in reasons[0]
    assert "CAPE-0002" in reasons[1]
    assert "not one of this client's entries" in reasons[2]
    assert "fractions of a cent" in reasons[3]
    first = row(client_a, E[0])
    assert (first.principal_refunded, first.interest_refunded, first.refunded_on) == (
        Decimal("1000.00"),
        Decimal("35.50"),
        date(2026, 12, 10),
    )
    assert row(client_a, E[2]).principal_refunded == Decimal("1000.00")
    assert row(client_a, E[2]).interest_refunded == Decimal("15.25")
    with scope(client=client_a):
        totals = ledger_totals(client=client_a)
    assert totals["refunded_principal"] == Decimal("3000.00")
    assert totals["refunded_interest"] == Decimal("86.76")
    assert (totals["filed"], totals["accepted"], totals["rejected"], totals["refunded"]) == (6, 5, 1, 3)

    # The same report again replaces, never adds.
    process(client_a, staff_a, "es022", content, name="es022.xlsx")
    with scope(client=client_a):
        assert ledger_totals(client=client_a)["refunded_principal"] == Decimal("3000.00")


def test_es022_without_claim_numbers_matches_the_accepted_declaration(client_a, staff_a, filed):
    _accept_all_but_last(client_a, staff_a)
    rows = [["Entry", "Principal", "Interest"], [E[0], "10.00", "1.00"], [E[5], "10.00", "1.00"]]

    report = process(client_a, staff_a, "es022", csv_bytes(rows))

    assert report.rows_matched == 1
    assert "is in no pending or accepted declaration" in problems(report)[0][1]


def test_rev603_statuses_and_an_ach_return_reopens_onboarding(client_a, staff_a, admin_a, filed):
    _accept_all_but_last(client_a, staff_a)
    with scope(client=client_a):
        assert client_ready_to_file(client=client_a).ready
    rows = [
        ["Refund Status Report REV-603"],
        ["Claim Number", "Entry Number", "Refund Status", "Status Date"],
        ["CAPE-0001", E[0], "Sent", "12/01/2026"],
        ["CAPE-0001", E[0], "Issued", "12/05/2026"],
        ["CAPE-0001", E[1], "Funds Diverted", "12/05/2026"],
        ["CAPE-0001", E[2], "ACH Returned", "12/06/2026"],
        ["CAPE-0001", E[3], "Lost in the mail", ""],
    ]

    report = process(client_a, staff_a, "rev603", csv_bytes(rows).replace(b",", b";"))

    assert report.status == "succeeded", report.message
    assert (report.rows_matched, report.rows_unmatched, report.ach_returns) == (4, 1, 1)
    assert "not one we know" in problems(report)[0][1]
    assert (row(client_a, E[0]).refund_status, row(client_a, E[0]).refund_status_on) == (
        "issued",
        date(2026, 12, 5),
    )
    assert row(client_a, E[1]).refund_status == "diverted"
    assert row(client_a, E[2]).refund_status == "ach_returned"
    with scope(client=client_a):
        item = ChecklistItem.objects.get(key="ach_enrollment")
        assert item.status == "blocked"
        assert "returned by the bank" in item.review_note
        assert OnboardingProfile.objects.get().ach_status == "refund_rejected"
        readiness = client_ready_to_file(client=client_a)
        assert not readiness.ready and any("ACH" in m for m in readiness.missing)
        assert AuditEvent.objects.filter(action="onboarding.ach_refund_returned").count() == 1
        totals = ledger_totals(client=client_a)
    assert (totals["diverted"], totals["returned"]) == (1, 1)

    # A report repeating a known return does not reopen the item again.
    process(client_a, staff_a, "rev603", csv_bytes(rows).replace(b",", b";"))
    with scope(client=client_a):
        assert AuditEvent.objects.filter(action="onboarding.ach_refund_returned").count() == 1


def test_rev613_ach_rejected_refunds(client_a, staff_a, filed):
    _accept_all_but_last(client_a, staff_a)
    rows = [
        ["Entry Number", "ACH Return Reason", "Return Date"],
        [E[4], "R03 No account / unable to locate account", "2026-12-09"],
        [OUTSIDER, "R02 Account closed", "2026-12-09"],
    ]

    report = process(client_a, staff_a, "rev613", csv_bytes(rows))

    assert (report.rows_matched, report.rows_unmatched, report.ach_returns) == (1, 1, 1)
    returned = row(client_a, E[4])
    assert (returned.refund_status, returned.refund_note) == (
        "ach_returned",
        "R03 No account / unable to locate account",
    )
    with scope(client=client_a):
        assert ChecklistItem.objects.get(key="ach_enrollment").status == "blocked"


def test_reprocessing_a_report_does_not_duplicate_its_unmatched_rows(client_a, staff_a, filed):
    report = process(client_a, staff_a, "results", csv_bytes(RESULTS))
    with scope(client=client_a):
        report.status = CbpReport.Status.PENDING
        cbp_report_process(report=report)
    assert len(problems(report)) == 5


# --- Next actions and re-filing --------------------------------------------------------------------


def test_rejected_entries_wait_for_their_next_action_unless_the_reason_allows_refiling(
    client_a, staff_a, filed
):
    process(client_a, staff_a, "results", csv_bytes(RESULTS))
    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=AS_OF)
        queue = list(client_rejections(client=client_a))
    # Reconciliation allows re-filing (seeded table); protest and the unknown reason wait for staff.
    assert [r[1] for r in plan.eligible] == [E[4]]
    assert plan.awaiting_review == 2 and plan.in_ledger == 3
    assert {r.entry_number for r in queue} == {E[3], E[4], E[5]}

    with scope(client=client_a):
        declaration_entry_allow_refile(
            actor=staff_a, declaration=filed, entry_number=E[5], note="PSC filed and accepted"
        )
        plan = declaration_plan(client=client_a, as_of=AS_OF)
        assert (
            AuditEvent.objects.get(action="refunds.refile_allowed").data["note"] == "PSC filed and accepted"
        )
    assert [r[1] for r in plan.eligible] == [E[4], E[5]]

    second = build(client_a, staff_a)
    assert second.entry_count == 2
    with scope(client=client_a):
        history = list(
            DeclarationEntry.objects.filter(entry_number=E[5])
            .order_by("created_at", "id")
            .values_list("status", flat=True)
        )
        assert history == ["rejected", "pending"]
        assert {r.entry_number for r in client_rejections(client=client_a)} == {E[3]}


def test_only_staff_allow_refiling(client_a, staff_a, admin_a, filed):
    from django.core.exceptions import ValidationError

    process(client_a, staff_a, "results", csv_bytes(RESULTS))
    with scope(client=client_a), pytest.raises(ValidationError):
        declaration_entry_allow_refile(actor=admin_a, declaration=filed, entry_number=E[3], note="done")


def test_next_action_table_is_data_a_manager_can_change(client_a, staff_a, filed):
    from refunds.models import RejectionReason

    RejectionReason.objects.create(
        code="bad-bond",
        label="Bond problem",
        match_phrases="never said before",
        next_action="Call the surety.",
        position=1,
    )

    process(client_a, staff_a, "results", csv_bytes(RESULTS))

    assert row(client_a, E[5]).next_action == "Call the surety."


def test_staff_queue_shows_rejections_of_visible_clients_only(
    client_a, client_b, staff_a, staff_b, manager, filed
):
    process(client_a, staff_a, "results", csv_bytes(RESULTS))

    assert {r.entry_number for r in rejection_queue(user=staff_a)} == {E[3], E[4], E[5]}
    assert {r.entry_number for r in rejection_queue(user=manager)} == {E[3], E[4], E[5]}
    assert rejection_queue(user=staff_b) == []


def test_upload_checks_who_and_what(client_a, member_a, staff_a, filed):
    from django.core.exceptions import ValidationError

    with scope(client=client_a):
        with pytest.raises(ValidationError):
            cbp_report_upload(
                actor=member_a,
                client=client_a,
                kind="es022",
                uploaded=SimpleUploadedFile("a.csv", b"x"),
                enqueue=False,
            )
        with pytest.raises(ValidationError):
            cbp_report_upload(
                actor=staff_a,
                client=client_a,
                kind="es022",
                uploaded=SimpleUploadedFile("a.csv", b""),
                enqueue=False,
            )
        draft = Declaration.objects.create(
            client=client_a, batch=filed.batch, sequence=9, filename="d.csv", content=b"", sha256=""
        )
        with pytest.raises(ValidationError):
            cbp_report_upload(
                actor=staff_a,
                client=client_a,
                kind="results",
                uploaded=SimpleUploadedFile("a.csv", b"x"),
                declaration=draft,
                enqueue=False,
            )


@pytest.mark.services
def test_upload_is_reconciled_by_a_real_worker(celery_worker_process, client_a, staff_a, admin_a):
    make_ready(client_a, admin_a)
    make_entries(client_a, 2)
    (declaration,) = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        record_filing(actor=staff_a, declaration=declaration, claim_number="CAPE-W", filed_on=FILED_ON)
        report = cbp_report_upload(
            actor=staff_a,
            client=client_a,
            kind="results",
            uploaded=SimpleUploadedFile(
                "results.csv",
                csv_bytes([["Claim Number", "Entry Number", "Status"], ["CAPE-W", E[0], "Accepted"]]),
            ),
        )

    def done():
        with scope(client=client_a):
            report.refresh_from_db()
        return report.is_finished

    wait_for(done, message="the worker to reconcile the report")
    assert report.status == "succeeded", report.message + celery_worker_process.log_path.read_text()
    assert row(client_a, E[0]).status == "accepted"
    with scope(client=client_a):
        assert Entry.objects.count() == 2


def _left_running(client, staff, attempts: int) -> CbpReport:
    """An uploaded CBP report whose earlier runs all started and died (its worker killed)."""
    with scope(client=client):
        report = cbp_report_upload(
            actor=staff,
            client=client,
            kind="results",
            uploaded=SimpleUploadedFile("results.csv", csv_bytes(RESULTS)),
            enqueue=False,
        )
        CbpReport.objects.filter(pk=report.pk).update(status=CbpReport.Status.RUNNING, attempts=attempts)
    return report


def test_a_cbp_report_whose_every_run_died_is_failed_instead_of_run_again(client_a, staff_a, filed, settings):
    from refunds.tasks import reconcile_cbp_report
    from tests.conftest import deliver

    settings.IMPORT_MAX_ATTEMPTS = 3
    report = _left_running(client_a, staff_a, attempts=3)

    deliver(reconcile_cbp_report, report.pk, redelivered=True)  # the 4th delivery

    with scope(client=client_a):
        report.refresh_from_db()
    assert (report.status, report.attempts) == ("failed", 3)  # not started a 4th time
    assert "stopped before it finished" in report.message
    assert row(client_a, E[0]).status == "pending"  # nothing recorded
    with scope(client=client_a):
        failed = AuditEvent.objects.get(action="refunds.cbp_report_failed")
    assert (failed.subject_id, failed.data) == (
        str(report.pk),
        {"reason": "attempts exhausted", "attempts": 3},
    )


def test_a_cbp_report_left_running_is_taken_over_only_by_its_redelivered_message(
    client_a, staff_a, filed, settings
):
    from refunds.tasks import reconcile_cbp_report
    from tests.conftest import deliver

    settings.IMPORT_MAX_ATTEMPTS = 3
    report = _left_running(client_a, staff_a, attempts=1)

    deliver(reconcile_cbp_report, report.pk, redelivered=False)  # a second message: its worker may be alive
    with scope(client=client_a):
        report.refresh_from_db()
    assert (report.status, report.attempts) == ("running", 1)
    assert row(client_a, E[0]).status == "pending"

    deliver(reconcile_cbp_report, report.pk, redelivered=True)  # its worker died: taken over
    with scope(client=client_a):
        report.refresh_from_db()
    assert (report.status, report.attempts) == ("succeeded", 2), report.message
    assert row(client_a, E[0]).status == "accepted"
