"""Building CAPE declarations through the service: the files, the guards, the ledger and recording a filing."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_scopes import scope

from clients.models import AuditEvent
from domain import cape
from domain.interest import RateTable, estimate_interest
from entries.models import Entry
from refunds.models import Declaration, DeclarationEntry
from refunds.planning import declaration_plan
from refunds.services import declaration_discard, declaration_record_filing
from tests.entries.helpers import AS_OF, upload
from tests.refunds.helpers import (
    FILED_ON,
    build,
    declarations_of,
    entry_number,
    file_bytes,
    make_entries,
    make_ready,
)


def ledger(client) -> list[tuple]:
    with scope(client=client):
        return list(DeclarationEntry.objects.order_by("entry_number").values_list("entry_number", "status"))


# --- The files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(9999, [9999]), (10000, [9999, 1]), (19998, [9999, 9999]), (19999, [9999, 9999, 1])],
)
def test_files_follow_the_template_at_the_9999_limit(client_a, staff_a, count, sizes):
    make_entries(client_a, count)

    batch = build(client_a, staff_a)

    declarations = declarations_of(batch)
    assert [d.entry_count for d in declarations] == sizes
    expected = sorted(entry_number(i) for i in range(count))
    written = []
    for declaration in declarations:
        content = file_bytes(declaration)
        assert not content.startswith(b"\xef\xbb\xbf")
        lines = content.split(b"\r\n")
        assert lines[0] == b"Entry Number"
        assert lines[-1] == b""  # every line, the last one too, ends in CRLF
        numbers = [line.decode("ascii") for line in lines[1:-1]]
        assert all(len(n) == 11 and "," not in n and "-" not in n for n in numbers)
        assert content == b"Entry Number\r\n" + b"".join(n.encode() + b"\r\n" for n in numbers)
        assert cape.validate_file(content) == []
        assert declaration.filename.endswith(f"_{declaration.sequence:02d}of{len(sizes):02d}.csv")
        written += numbers
    assert written == expected  # every entry once, in order, across the files
    assert ledger(client_a) == [(n, "pending") for n in expected]
    assert batch.entry_count == count


def test_file_is_the_exact_bytes_cape_renders(client_a, staff_a):
    make_entries(client_a, 3)

    declaration = declarations_of(build(client_a, staff_a))[0]

    numbers = [entry_number(i) for i in range(3)]
    assert (
        file_bytes(declaration) == b"Entry Number\r\n" + b"\r\n".join(n.encode() for n in numbers) + b"\r\n"
    )
    assert declaration.filename == "cape_client-a_20261123_all_01of01.csv"


def test_build_totals_and_interest(client_a, staff_a):
    make_entries(client_a, 2, duty="1000.00", summary=date(2025, 6, 2))
    make_entries(client_a, 1, start=10, duty="500.00", summary=None)

    batch = build(client_a, staff_a)

    assert batch.ieepa_total == Decimal("2500.00")
    assert batch.interest_estimate == estimate_interest(
        principal=Decimal("2000.00"), from_date=date(2025, 6, 2), to_date=AS_OF, table=SEEDED_RATES
    )
    assert "1 entry without an entry summary date: the interest estimate leaves it out." in batch.warnings


# Spec §7a's figures as the data migration seeds them (refunds.InterestRate), non-corporate.
SEEDED_RATES = RateTable(
    source="spec §7a",
    rates=tuple(
        (date(year, month, 1), Decimal(rate))
        for (year, month), rate in zip(
            [(y, m) for y in (2025, 2026) for m in (1, 4, 7, 10)],
            ["0.07"] * 5 + ["0.06", "0.07", "0.07"],
            strict=True,
        )
    ),
)


def test_build_from_a_sample_report_takes_only_cape_entries(staff_a, client_a):
    from tests.factories import importer_number

    for number in ("19-528224900", "34-370224800"):
        importer_number(client_a, number)
    upload(client_a, "es003_basic.csv")
    with scope(client=client_a):
        cape_numbers = set(
            Entry.objects.filter(refund_path__in=["cape_phase1", "cape_phase2"]).values_list(
                "entry_number", flat=True
            )
        )

    batch = build(client_a, staff_a)

    (declaration,) = declarations_of(batch)
    numbers = file_bytes(declaration).decode().split("\r\n")[1:-1]
    assert set(numbers) == cape_numbers and len(numbers) == len(cape_numbers)
    assert declaration.phase2_count == 1
    assert any("Type 09 reconciliation entry" in w for w in batch.warnings)


# --- Guards ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"protest": True}, "active protest"),
        ({"marked_protest": True}, "active protest"),
        ({"drawback": True}, "drawback"),
        ({"marked_drawback": True}, "drawback"),
    ],
)
def test_entry_under_protest_or_drawback_never_goes_into_a_file(client_a, staff_a, fields, reason):
    make_entries(client_a, 2)
    # A stale classification: still on a CAPE path although the flag says otherwise.
    make_entries(client_a, 1, start=50, **fields)

    batch = build(client_a, staff_a)

    content = file_bytes(declarations_of(batch)[0]).decode()
    assert entry_number(50) not in content
    assert content.count("\r\n") == 3
    assert any(reason in w for w in batch.warnings)


@pytest.mark.parametrize(
    "path", ["protest", "finally_liquidated", "excluded", "needs_data", "not_affected", "section_122", ""]
)
def test_entry_on_another_path_never_goes_into_a_file(client_a, staff_a, path):
    make_entries(client_a, 1)
    make_entries(client_a, 1, start=60, path=path)

    content = file_bytes(declarations_of(build(client_a, staff_a))[0]).decode()

    assert entry_number(60) not in content


def test_phase2_entries_wait_for_phase2_to_open(client_a, staff_a):
    make_entries(client_a, 1)
    make_entries(client_a, 1, start=70, path="cape_phase2")

    with scope(client=client_a):
        before = declaration_plan(client=client_a, as_of=date(2026, 6, 28))
        opening = declaration_plan(client=client_a, as_of=date(2026, 6, 29))

    assert [row[1] for row in before.eligible] == [entry_number(0)]
    assert before.held_back == {"phase2_not_open": 1}
    assert len(opening.eligible) == 2
    assert any("Type 09 reconciliation entry" in w for w in opening.warnings)


def test_build_with_nothing_eligible_is_refused(client_a, staff_a):
    make_entries(client_a, 1, path="protest")

    with pytest.raises(ValidationError, match="No entry is eligible"):
        build(client_a, staff_a)


def test_build_for_one_importer_number(client_a, staff_a):
    from tests.factories import importer_number

    importer_number(client_a, "12-345678911")
    make_entries(client_a, 2)
    make_entries(client_a, 3, start=100, importer="12-345678911")

    batch = build(client_a, staff_a, importer_number="12-345678911")

    (declaration,) = declarations_of(batch)
    assert declaration.entry_count == 3
    assert "_12345678911_" in declaration.filename


def test_build_refuses_someone_elses_importer_number_and_future_days(client_a, staff_a):
    make_entries(client_a, 1)
    with pytest.raises(ValidationError):
        build(client_a, staff_a, importer_number="98-765432100")
    with pytest.raises(ValidationError):
        build(client_a, staff_a, as_of=date(2099, 1, 1))


def test_members_and_client_admins_cannot_build_unless_allowed(client_a, member_a, admin_a, settings):
    make_entries(client_a, 1)
    for person in (member_a, admin_a):
        with pytest.raises(ValidationError):
            build(client_a, person)

    settings.CAPE_CLIENT_ADMINS_MAY_BUILD = True
    with pytest.raises(ValidationError):
        build(client_a, member_a)
    assert build(client_a, admin_a).entry_count == 1


def test_other_clients_staff_cannot_build(client_a, staff_b):
    make_entries(client_a, 1)
    with pytest.raises(ValidationError):
        build(client_a, staff_b)


# --- The ledger ------------------------------------------------------------------------------------


def test_entry_in_a_pending_declaration_is_not_declared_again(client_a, staff_a):
    make_entries(client_a, 3)
    build(client_a, staff_a)
    make_entries(client_a, 2, start=10)

    second = build(client_a, staff_a)

    assert second.entry_count == 2
    with pytest.raises(ValidationError, match="No entry is eligible"):
        build(client_a, staff_a)
    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=AS_OF)
    assert plan.in_ledger == 5


def test_database_refuses_a_second_live_row_for_an_entry(client_a, staff_a):
    make_entries(client_a, 1)
    first = declarations_of(build(client_a, staff_a))[0]
    with scope(client=client_a):
        entry = Entry.objects.get()
        other = Declaration.objects.create(
            client=client_a, batch=first.batch, sequence=2, filename="x.csv", content=b"", sha256=""
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            DeclarationEntry.objects.create(
                client=client_a,
                declaration=other,
                entry=entry,
                entry_number=entry.entry_number,
                refund_path="cape_phase1",
                ieepa_duty=Decimal("1"),
                status="accepted",
            )


def test_discarding_a_draft_releases_its_entries(client_a, staff_a):
    make_entries(client_a, 2)
    declaration = declarations_of(build(client_a, staff_a))[0]

    with scope(client=client_a):
        declaration_discard(actor=staff_a, declaration=declaration)

    assert ledger(client_a) == [(entry_number(0), "released"), (entry_number(1), "released")]
    again = declarations_of(build(client_a, staff_a))[0]
    assert again.entry_count == 2
    with scope(client=client_a):
        assert AuditEvent.objects.filter(action="refunds.declaration_discarded").count() == 1


def test_a_filed_declaration_cannot_be_discarded(client_a, staff_a, admin_a):
    make_entries(client_a, 1)
    make_ready(client_a, admin_a)
    declaration = declarations_of(build(client_a, staff_a))[0]
    with scope(client=client_a):
        declaration_record_filing(
            actor=staff_a, declaration=declaration, claim_number="CAPE-1", filed_on=FILED_ON
        )
        with pytest.raises(ValidationError):
            declaration_discard(actor=staff_a, declaration=declaration)


# --- Recording the filing --------------------------------------------------------------------------


def _draft(client, staff):
    make_entries(client, 2)
    return declarations_of(build(client, staff))[0]


def test_recording_a_filing_when_ready(client_a, staff_a, admin_a):
    make_ready(client_a, admin_a)
    declaration = _draft(client_a, staff_a)

    with scope(client=client_a):
        filed = declaration_record_filing(
            actor=staff_a, declaration=declaration, claim_number=" cape-2026-0001 ", filed_on=FILED_ON
        )
        event = AuditEvent.objects.get(action="refunds.declaration_filed")

    assert filed.status == "filed"
    assert (filed.claim_number, filed.filed_on, filed.filed_by) == ("CAPE-2026-0001", FILED_ON, staff_a)
    assert filed.filed_at is not None and filed.readiness_override == ""
    assert event.actor == staff_a and event.data["claim_number"] == "CAPE-2026-0001"


def test_filing_refused_when_not_ready(client_a, staff_a):
    declaration = _draft(client_a, staff_a)

    with scope(client=client_a), pytest.raises(ValidationError, match="not ready to file"):
        declaration_record_filing(
            actor=staff_a, declaration=declaration, claim_number="C1", filed_on=FILED_ON
        )
    with scope(client=client_a):
        assert Declaration.objects.get(pk=declaration.pk).status == "draft"


def test_plain_staff_cannot_override_readiness(client_a, staff_a):
    declaration = _draft(client_a, staff_a)

    with scope(client=client_a), pytest.raises(ValidationError, match="Only a staff manager"):
        declaration_record_filing(
            actor=staff_a,
            declaration=declaration,
            claim_number="C1",
            filed_on=FILED_ON,
            override_reason="urgent",
        )


def test_manager_overrides_readiness_with_a_reason(client_a, staff_a, manager):
    declaration = _draft(client_a, staff_a)

    with scope(client=client_a):
        filed = declaration_record_filing(
            actor=manager,
            declaration=declaration,
            claim_number="C1",
            filed_on=FILED_ON,
            override_reason="Client filed the ACH form on paper; CBP confirmed by phone.",
        )
        override = AuditEvent.objects.get(action="refunds.filing_readiness_overridden")

    assert filed.status == "filed"
    assert filed.readiness_override.startswith("Client filed the ACH form")
    assert override.actor == manager
    assert override.data["reason"].startswith("Client filed")
    assert any("ACE Portal account" in m for m in override.data["missing"])


def test_manager_without_a_reason_cannot_file_for_a_client_not_ready(client_a, staff_a, manager):
    declaration = _draft(client_a, staff_a)
    with scope(client=client_a), pytest.raises(ValidationError, match="not ready"):
        declaration_record_filing(
            actor=manager, declaration=declaration, claim_number="C1", filed_on=FILED_ON
        )


def test_filing_needs_the_authorization_to_cover_the_importer_numbers(client_a, admin_a, staff_a):
    from tests.factories import importer_number

    importer_number(client_a, "12-345678911")
    make_ready(client_a, admin_a, importer_numbers=("12-345678911",))
    declaration = _draft(client_a, staff_a)

    with scope(client=client_a), pytest.raises(ValidationError, match="does not cover"):
        declaration_record_filing(
            actor=staff_a, declaration=declaration, claim_number="C1", filed_on=FILED_ON
        )


def test_filing_refused_when_an_entry_got_a_protest_since_the_build(client_a, staff_a, admin_a):
    make_ready(client_a, admin_a)
    declaration = _draft(client_a, staff_a)
    with scope(client=client_a):
        Entry.objects.filter(entry_number=entry_number(1)).update(marked_protest=True)

        with pytest.raises(ValidationError, match="can no longer be declared"):
            declaration_record_filing(
                actor=staff_a, declaration=declaration, claim_number="C1", filed_on=FILED_ON
            )


def test_claim_number_and_date_are_checked(client_a, staff_a, admin_a):
    make_ready(client_a, admin_a)
    make_entries(client_a, 10001)
    first, second = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        declaration_record_filing(actor=staff_a, declaration=first, claim_number="C1", filed_on=FILED_ON)
        for claim, day in (("C1", FILED_ON), ("", FILED_ON), ("C 2", FILED_ON), ("C2", date(2099, 1, 1))):
            with pytest.raises(ValidationError):
                declaration_record_filing(actor=staff_a, declaration=second, claim_number=claim, filed_on=day)
        with pytest.raises(ValidationError, match="already filed"):
            declaration_record_filing(actor=staff_a, declaration=first, claim_number="C3", filed_on=FILED_ON)


def test_a_stored_number_with_a_wrong_check_digit_is_held_back(client_a, staff_a):
    make_entries(client_a, 2)
    good = entry_number(7)
    bad = good[:10] + str((int(good[10]) + 1) % 10)
    with scope(client=client_a):
        Entry.objects.create(
            client=client_a,
            entry_number=bad,
            ieepa_duty=Decimal("5"),
            refund_path="cape_phase1",
            liquidation_status="unliquidated",
        )

    batch = build(client_a, staff_a)

    content = file_bytes(declarations_of(batch)[0]).decode()
    assert bad not in content and content.count("\r\n") == 3
    assert any("check digit" in w for w in batch.warnings)
