"""CBP's answers in CBP's own words (spec §7): the claim details CSV (plain and with Excel's ="..." text
cells), the claim statuses, REV-603's secondary statuses, every rejection reason with its next action, and
re-filing a Phase 2 rejection only while the entry is still on Phase 2.

The files are written here, in the layout of CBP's claim details export (ENTRY_NUMBER, CLAIM_NUMBER, STATUS,
ERROR_DESCRIPTION; CRLF).
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from clients.models import ChecklistItem, OnboardingProfile
from domain.cbp_reports import open_cbp_report, unwrap_excel_text
from entries.models import Entry
from refunds.models import UNKNOWN_REASON_ACTION, Declaration, DeclarationEntry, RejectionReason
from refunds.planning import declaration_plan
from refunds.services import declaration_entry_allow_refile
from refunds.services import declaration_record_filing as record_filing
from tests.refunds.helpers import (
    FILED_ON,
    build,
    declarations_of,
    entry_number,
    make_entries,
    make_ready,
    problems,
    process,
    row,
)

CLAIM = "CAPE2611230001"
HEADER = "ENTRY_NUMBER,CLAIM_NUMBER,STATUS,ERROR_DESCRIPTION"

# CBP's reasons (spec §7) -> (the table's code, words the next action must say, goes into the next build)
REASONS = {
    "UNABLE TO CALCULATE DUTY": ("no_ieepa_duty", "reviews the entry", False),
    "PROTEST ON ENTRY": ("protest", "withdraw", False),
    "ENTRY SUMMARY IN FINAL LIQUIDATION": ("final_liquidation", "Phase 3", False),
    "STATEMENT PROCESSING NOT COMPLETE": ("statement_processing", "statement", False),
    "INVALID HTS": ("hts_error", "post-summary correction (PSC)", False),
    "HTS RELATIONSHIP MISMATCH": ("hts_error", "post-summary correction (PSC)", False),
    "GOODS VALUE AMOUNT MUST BE REPORTED ON THE CH 1-97": (
        "goods_value",
        "declare the entry again now",
        True,
    ),
    "Account Mismatch": ("account_mismatch", "importer of record declares it", False),
}
ENTRIES = [entry_number(i) for i in range(len(REASONS) + 3)]


def claim_details(rows: list[tuple[str, str, str]], *, excel: bool = False) -> bytes:
    """CBP's claim details CSV; excel=True wraps the numbers in ="..." as the ACE Portal sometimes does."""

    def cell(text: str) -> str:
        return f'="{text}"' if excel else text

    lines = [HEADER] + [f"{cell(n)},{cell(CLAIM)},{status},{reason}" for n, status, reason in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def answer_rows() -> list[tuple[str, str, str]]:
    rows = [(ENTRIES[i], "Entry Summary Updated", "") for i in range(2)]
    rows += [(ENTRIES[2 + i], "Failed", reason) for i, reason in enumerate(REASONS)]
    rows.append((ENTRIES[-1], "FAILED", "A REASON CBP NEVER GAVE BEFORE"))
    return rows


@pytest.fixture
def filed(client_a, staff_a, admin_a):
    make_ready(client_a, admin_a)
    make_entries(client_a, len(ENTRIES))
    (declaration,) = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        return record_filing(actor=staff_a, declaration=declaration, claim_number=CLAIM, filed_on=FILED_ON)


@pytest.mark.parametrize("excel", [False, True], ids=["plain", "excel-text-cells"])
def test_claim_details_record_each_entry_with_its_next_action(client_a, staff_a, filed, excel):
    report = process(client_a, staff_a, "results", claim_details(answer_rows(), excel=excel))

    assert report.status == "succeeded", report.message
    assert (report.rows_read, report.rows_unmatched) == (len(ENTRIES), 0), problems(report)
    assert [row(client_a, n).status for n in ENTRIES[:2]] == ["accepted", "accepted"]
    for i, (reason, (code, action, refile)) in enumerate(REASONS.items()):
        rejected = row(client_a, ENTRIES[2 + i])
        assert rejected.status == "rejected"
        assert rejected.cbp_reason == reason  # shown as CBP wrote it
        assert rejected.reason.code == code, reason
        assert action in rejected.next_action, reason
        assert rejected.refile_allowed is refile, reason
    unknown = row(client_a, ENTRIES[-1])
    assert (unknown.cbp_reason, unknown.reason, unknown.next_action) == (
        "A REASON CBP NEVER GAVE BEFORE",
        None,
        UNKNOWN_REASON_ACTION,
    )
    with scope(client=client_a):
        declaration = Declaration.objects.get(pk=filed.pk)
    assert declaration.get_status_display() == "Accepted with Error(s)"  # CBP's claim status


def test_claim_details_pages_show_cbps_words(client, client_a, staff_a, filed):
    process(client_a, staff_a, "results", claim_details(answer_rows()))
    client.force_login(staff_a)

    page = client.get(filed.get_absolute_url()).content.decode()
    queue = client.get(reverse("staff:cape")).content.decode()

    assert "Accepted with Error(s)" in page
    assert "HTS RELATIONSHIP MISMATCH" in page and "post-summary correction (PSC)" in page
    assert "A REASON CBP NEVER GAVE BEFORE" in queue  # unknown reasons go to staff, as written


@pytest.mark.parametrize("status", ["Failed initial validation", "REJECTED BY BATCH VALIDATION"])
def test_whole_file_refused_rejects_every_entry_and_lets_them_be_declared_again(
    client_a, staff_a, filed, status
):
    rows = [(n, status, "") for n in ENTRIES]

    report = process(client_a, staff_a, "results", claim_details(rows))

    assert report.status == "succeeded", report.message
    rejected = row(client_a, ENTRIES[0])
    assert rejected.cbp_reason.lower() == status.lower()
    assert rejected.reason.code == "upload_failed" and rejected.refile_allowed
    with scope(client=client_a):
        assert declaration_plan(client=client_a, as_of=FILED_ON).count == len(ENTRIES)


def test_the_samples_layout_reads_the_same_plain_and_wrapped(tmp_path):
    plain = claim_details(answer_rows())
    wrapped = claim_details(answer_rows(), excel=True)
    assert b'="' in wrapped
    read = []
    for name, content in (("plain.csv", plain), ("wrapped.csv", wrapped)):
        (tmp_path / name).write_bytes(content)
        with open_cbp_report(tmp_path / name, kind="results") as reader:
            read.append(list(reader.rows()))
    assert read[0] == read[1]
    assert {r.result for r in read[0]} == {"accepted", "rejected"}


@pytest.mark.parametrize(
    ("cell", "text"),
    [('="D9P60332970"', "D9P60332970"), ('="a""b"', 'a"b'), ("=SUM(A1)", "=SUM(A1)"), ("plain", "plain")],
)
def test_unwrap_excel_text(cell, text):
    assert unwrap_excel_text(cell) == text


# --- REV-603 ------------------------------------------------------------------------------------------


def accept_all(client_a, staff_a):
    process(client_a, staff_a, "results", claim_details([(n, "Entry Summary Updated", "") for n in ENTRIES]))


def rev603(rows: list[tuple[str, str]]) -> bytes:
    lines = ["Entry Number,Claim Number,Refund Secondary Status,Status Date"]
    lines += [f"{n},{CLAIM},{status},11/30/2026" for n, status in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_rev603_secondary_statuses_in_cbps_words(client_a, staff_a, filed):
    accept_all(client_a, staff_a)
    rows = [
        (ENTRIES[0], "Sent to Treasury"),
        (ENTRIES[1], "Treasury Issued"),
        (ENTRIES[2], "FUNDS DIVERTED"),
        (ENTRIES[3], "Check/ACH Returned"),
    ]

    report = process(client_a, staff_a, "rev603", rev603(rows))

    assert report.status == "succeeded", report.message
    assert report.rows_unmatched == 0, problems(report)
    assert [row(client_a, n).refund_status for n in ENTRIES[:4]] == [
        "sent",
        "issued",
        "diverted",
        "ach_returned",
    ]
    assert "diverted (Funds Diverted)" in report.message and "(Check/ACH Returned)" in report.message


@pytest.mark.parametrize("status", ["Funds Diverted", "Check/ACH Returned"])
def test_diverted_or_returned_refund_reopens_ach_enrollment(client_a, staff_a, filed, status):
    accept_all(client_a, staff_a)
    with scope(client=client_a):
        assert OnboardingProfile.objects.get().ach_status == "active"

    process(client_a, staff_a, "rev603", rev603([(ENTRIES[0], status)]))

    with scope(client=client_a):
        assert OnboardingProfile.objects.get().ach_status == "refund_rejected"
        item = ChecklistItem.objects.get(key="ach_enrollment")
    assert item.status == "blocked" and status in item.review_note


def test_sent_or_issued_refund_leaves_ach_enrollment_alone(client_a, staff_a, filed):
    accept_all(client_a, staff_a)

    process(
        client_a,
        staff_a,
        "rev603",
        rev603([(ENTRIES[0], "Sent to Treasury"), (ENTRIES[1], "Treasury Issued")]),
    )

    with scope(client=client_a):
        assert OnboardingProfile.objects.get().ach_status == "active"


# --- Re-filing a Phase 2 rejection ----------------------------------------------------------------


@pytest.fixture
def phase2_rejected(client_a, staff_a, admin_a):
    """One Phase 2 entry, liquidated 70 days ago, filed and rejected by CBP for a reason that waits for staff."""
    make_ready(client_a, admin_a)
    today = timezone.localdate()
    make_entries(
        client_a,
        1,
        path="cape_phase2",
        liquidation_status="liquidated",
        liquidation_date=today - timedelta(days=70),
    )
    (declaration,) = declarations_of(build(client_a, staff_a, as_of=today))
    with scope(client=client_a):
        declaration = record_filing(
            actor=staff_a, declaration=declaration, claim_number=CLAIM, filed_on=today
        )
    process(
        client_a,
        staff_a,
        "results",
        claim_details([(entry_number(0), "Failed", "STATEMENT PROCESSING NOT COMPLETE")]),
    )
    return declaration


def allow(staff, declaration):
    with scope(client=declaration.client):
        return declaration_entry_allow_refile(
            actor=staff, declaration=declaration, entry_number=entry_number(0), note="statement paid"
        )


def test_phase2_rejection_may_be_filed_again_within_its_80_days(client_a, staff_a, phase2_rejected):
    assert allow(staff_a, phase2_rejected).refile_allowed
    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=timezone.localdate())
    assert [r[1] for r in plan.eligible] == [entry_number(0)]


def test_phase2_rejection_not_filed_again_once_type09_is_marked(client_a, staff_a, phase2_rejected):
    with scope(client=client_a):
        Entry.objects.update(marked_reconciliation_filed=True)

    with pytest.raises(ValidationError, match="Type 09 reconciliation entry is marked"):
        allow(staff_a, phase2_rejected)
    assert row(client_a, entry_number(0)).refile_allowed is False


def test_phase2_rejection_not_filed_again_past_its_80_days(client_a, staff_a, phase2_rejected):
    with scope(client=client_a):
        Entry.objects.update(liquidation_date=timezone.localdate() - timedelta(days=81))

    with pytest.raises(ValidationError, match="no longer within its 80 days"):
        allow(staff_a, phase2_rejected)


def test_phase2_rejection_allowed_by_the_table_still_waits_for_the_80_days(
    client_a, staff_a, phase2_rejected
):
    """A reason whose next action is "declare again now" does not put a Phase 2 entry past its window back."""
    with scope(client=client_a):
        DeclarationEntry.objects.update(refile_allowed=True)
        Entry.objects.update(liquidation_date=timezone.localdate() - timedelta(days=81))
        plan = declaration_plan(client=client_a, as_of=timezone.localdate())
    assert plan.eligible == []


def test_every_reason_has_a_readable_label(db):
    labels = dict(RejectionReason.objects.values_list("code", "label"))
    assert {code for code, _, _ in REASONS.values()} <= labels.keys()
    assert all(label and "_" not in label for label in labels.values())
