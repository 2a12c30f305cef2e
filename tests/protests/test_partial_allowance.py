"""A partial allowance carries the amount CBP allowed per entry: staff record it (service and page) or CBP's
decision list gives it; 0 < allowed < protested duty, in cents; the expected refund uses it."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from domain.protests import rules
from protests import decision_lists, following
from protests.models import Protest, ProtestEntry
from tests.protests.helpers import build, protest_entries, today

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "protests"


@pytest.mark.parametrize(
    "allowed, problem",
    [
        (Decimal("0.01"), None),
        (Decimal("99.99"), None),
        (Decimal("0"), "more than $0.00"),
        (Decimal("-5"), "more than $0.00"),
        (Decimal("100.00"), "less than the $100.00 protested"),
        (Decimal("150"), "less than the $100.00 protested"),
        (Decimal("40.005"), "more than two decimals"),
        (None, "missing"),
    ],
)
def test_allowed_amount_is_more_than_nothing_and_less_than_the_duty(allowed, problem):
    found = rules.allowed_amount_problem(allowed, Decimal("100.00"))
    assert (found is None) if problem is None else (problem in found)


def test_expected_refund_counts_allowed_duty_and_allowed_amounts():
    lines = [
        ("allowed", Decimal("100.00"), None),
        ("partially_allowed", Decimal("100.00"), Decimal("40.00")),
        ("partially_allowed", Decimal("100.00"), None),  # amount not known yet: nothing counted
        ("denied", Decimal("100.00"), None),
    ]
    assert rules.expected_refund(lines) == Decimal("140.00")


@pytest.fixture
def filed(client_a, staff_a):
    entries = protest_entries(client_a, 4, s122="20.00")  # each entry protests $100.00 IEEPA + $20.00 s. 122
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        following.protest_record_filing(
            actor=staff_a,
            protest=protest,
            protest_number="2704-26-000001",
            filed_on=today() - timedelta(days=10),
            filed_by_party="importer",
        )
    return protest, entries


def decide(client, actor, protest, decision, numbers, amounts=None):
    with scope(client=client):
        return following.protest_decide(
            actor=actor,
            protest=protest,
            decision=decision,
            decided_on=today() - timedelta(days=1),
            entry_numbers=numbers,
            allowed_amounts=amounts,
        )


def test_staff_record_a_partial_allowance_with_its_amount(client_a, staff_a, filed):
    protest, entries = filed
    first, second = entries[0].entry_number, entries[1].entry_number

    decide(client_a, staff_a, protest, "partially_allowed", [first], {first: Decimal("119.99")})
    decide(client_a, staff_a, protest, "allowed", [second])
    decide(client_a, staff_a, protest, "denied", None)  # the two still pending

    with scope(client=client_a):
        line = ProtestEntry.objects.get(entry_number=first)
        protest = Protest.objects.get(pk=protest.pk)
    assert (line.status, line.allowed_amount) == ("partially_allowed", Decimal("119.99"))
    assert line.court_deadline == today() - timedelta(days=1) + timedelta(
        days=180
    )  # the rest can go to court
    assert protest.status == "partially_allowed"
    assert protest.expected_refund == Decimal("119.99") + Decimal("120.00")


@pytest.mark.parametrize(
    "amount, message",
    [
        (None, "each with the amount CBP allowed"),
        (Decimal("120.00"), "less than the $120.00 protested"),
        (Decimal("0"), "more than $0.00"),
    ],
)
def test_a_partial_allowance_without_a_valid_amount_is_refused(client_a, staff_a, filed, amount, message):
    protest, entries = filed
    first = entries[0].entry_number
    amounts = {first: amount} if amount is not None else {}

    with pytest.raises(ValidationError, match=message.replace("$", r"\$").replace(".", r"\.")):
        decide(client_a, staff_a, protest, "partially_allowed", [first], amounts)

    with scope(client=client_a):
        line = ProtestEntry.objects.get(entry_number=first)
    assert (line.status, line.allowed_amount) == ("pending", None)


def test_an_amount_for_another_decision_is_refused(client_a, staff_a, filed):
    protest, entries = filed
    first = entries[0].entry_number
    with pytest.raises(ValidationError, match="partial allowance only"):
        decide(client_a, staff_a, protest, "allowed", [first], {first: Decimal("50")})


def test_the_page_form_takes_one_entry_and_amount_per_line(client, client_a, staff_a, filed):
    protest, entries = filed
    first, second = entries[0].entry_number, entries[1].entry_number
    url = reverse("protests:decision", kwargs={"client_slug": client_a.slug, "public_id": protest.public_id})
    client.force_login(staff_a)

    response = client.post(
        url,
        {
            "decision": "partially_allowed",
            "decided_on": f"{today():%Y-%m-%d}",
            "entry_numbers": f"{first[:3]}-{first[3:10]}-{first[10]} $100.50\n{second}, 60",
        },
        follow=True,
    )

    page = response.content.decode()
    assert "CBP&#x27;s decision recorded." in page or "CBP's decision recorded." in page
    assert "$100.50 of $120.00 allowed" in page and "$60.00 of $120.00 allowed" in page
    refused = client.post(
        url,
        {
            "decision": "partially_allowed",
            "decided_on": f"{today():%Y-%m-%d}",
            "entry_numbers": entries[2].entry_number,
        },
    ).content.decode()
    assert "each with the amount CBP allowed" in refused


def test_the_decision_list_gives_the_amount_allowed(client_a, staff_a, filed):
    protest, entries = filed
    with scope(client=client_a):
        upload = decision_lists.protest_decision_list_upload(
            actor=staff_a,
            protest=protest,
            uploaded=SimpleUploadedFile("decisions.csv", (FIXTURES / "decisions_partial.csv").read_bytes()),
            enqueue=False,
        )
        decision_lists.protest_decision_list_apply(upload=upload)
        lines = {line.entry_number: line for line in ProtestEntry.objects.all()}
    assert (upload.status, upload.applied) == ("succeeded", 3), upload.message
    assert [(row, entry) for row, entry, _ in upload.problems] == [(5, entries[2].entry_number)]
    assert "less than the $120.00 protested" in upload.problems[0][2]
    assert (lines[entries[0].entry_number].status, lines[entries[0].entry_number].allowed_amount) == (
        "allowed",
        None,
    )
    assert lines[entries[1].entry_number].allowed_amount == Decimal("40.00")
    assert lines[entries[2].entry_number].status == "pending"
    assert lines[entries[3].entry_number].status == "denied"
