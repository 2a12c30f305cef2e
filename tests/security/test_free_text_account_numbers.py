"""Free text refuses what looks like a full bank account number (issue 14, point 7).

The probe stored `72579151172885` in five tables, the audit trail and a PDF through checklist notes, the
Form 5106 contact name and letter details. One rule (`brokerage/free_text.py`), one validator
(`brokerage.forms.no_account_numbers`), on every free-text field people type into.
"""

import pytest
from django.urls import reverse
from django_scopes import scope

from brokerage.forms import ACCOUNT_NUMBER_MESSAGE
from brokerage.free_text import account_number_like
from clients.forms import (
    AcceptInvitationForm,
    ClientCreateForm,
    ClientProfileForm,
    ImporterNumberForm,
    ImporterNumberVerifyForm,
)
from clients.letters.forms import LetterForm
from clients.models import ChecklistItem, OnboardingProfile
from clients.onboarding.forms import Form5106Form, ItemUpdateForm, ReviewForm
from entries.forms import EntryFlagsForm
from refunds.forms import AllowRefileForm, FilingForm
from tests.security.helpers import database_text

ACCOUNT = "72579151172885"
TYPED = [ACCOUNT, "7257 9151 1728 85", "7257-9151-1728-85", "acct 72579151", "Pat 0012345678 Doe"]
LEGITIMATE = (
    "Entry ABC-1234567-6 and ABC12345676, importer 12-345678900 and 123-45-6789AB and 250101-12345; "
    "protest 2704-25-123456 filed 2025-03-01 (03/01/2025); HTS 9903.01.25; ZIP 10001-1234; "
    "call (555) 123-4567 or 1-555-123-4567; $1,234,567.89; account ending 2885; PO 1234567"
)


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (ACCOUNT, True),
        ("7257 9151 1728 85", True),
        ("7257-9151-1728-85", True),
        ("7257–9151–1728–85", True),  # en dashes
        ("12345678", True),  # eight digits: the shortest run refused
        ("1234567", False),  # seven: a reference, a short amount
        ("Invoice 1234567 of 2025", False),
        ("ABC12345670", False),  # letters: an entry number, even with a wrong check digit (letters say so)
        ("316-1234567-3", False),  # an all-digit filer code with the right check digit
        ("316-1234567-9", True),  # ... and with a wrong one: just digits
        ("31612345679", True),
        ("ABC-1234567-6", False),
        ("999-9999999-0", False),
        ("12-3456789AB", False),
        ("2704-25-123456", False),
        ("2025-03-01", False),
        ("12345-6789", False),
        ("555-123-4567", False),
        ("9903.01.25", False),
        ("99030125", True),  # an HTS number without its dots
        ("account 021000021", True),  # a routing number belongs in its own field
        (LEGITIMATE, False),
        ("", False),
    ],
)
def test_account_number_like(text, refused):
    assert (account_number_like(text) is not None) == refused


# Every free-text field, with how to build its form. The field gets the typed number; other fields may
# complain too, but this one must refuse it with the message, and accept LEGITIMATE.
FIELDS = [
    (lambda d: ItemUpdateForm(d, staff=True, derived=False), "notes"),
    (lambda d: ReviewForm(d), "note"),
    (lambda d: Form5106Form(d), "company_name_5106"),
    (lambda d: Form5106Form(d), "poc_name"),
    (lambda d: LetterForm(d, kind="sub_account"), "company_name"),
    (lambda d: LetterForm(d, kind="sub_account"), "address_line1"),
    (lambda d: LetterForm(d, kind="sub_account"), "address_line2"),
    (lambda d: LetterForm(d, kind="sub_account"), "city"),
    (lambda d: LetterForm(d, kind="sub_account"), "signer_name"),
    (lambda d: LetterForm(d, kind="sub_account"), "signer_title"),
    (lambda d: LetterForm(d, kind="reactivation"), "details"),
    (lambda d: EntryFlagsForm(d), "note"),
    (lambda d: FilingForm(d), "override_reason"),
    (lambda d: AllowRefileForm(d), "note"),
    (lambda d: ImporterNumberForm(d), "label"),
    (lambda d: ImporterNumberVerifyForm(d), "note"),
    (lambda d: AcceptInvitationForm(d, email="x@example.com"), "full_name"),
    (lambda d: ClientCreateForm(d), "legal_name"),
    (lambda d: ClientProfileForm(d), "legal_name"),
    (lambda d: ClientProfileForm(d), "address_line1"),
    (lambda d: ClientProfileForm(d), "address_line2"),
    (lambda d: ClientProfileForm(d), "city"),
]


@pytest.mark.parametrize(("build", "field"), FIELDS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(FIELDS)])
def test_every_free_text_field_refuses_an_account_number(db, build, field):
    for typed in TYPED:
        form = build({field: f"Note {typed} end"})
        form.is_valid()
        assert ACCOUNT_NUMBER_MESSAGE in form.errors.get(field, []), f"{field} accepted {typed!r}"
        assert typed not in " ".join(form.errors.get(field, [])), "the message must not repeat the number"
    legitimate = build({field: LEGITIMATE[: form.fields[field].max_length or None]})
    legitimate.is_valid()
    assert ACCOUNT_NUMBER_MESSAGE not in legitimate.errors.get(field, []), f"{field} refused legitimate text"


def _url(name, client, **kwargs):
    return reverse(f"clients:{name}", kwargs={"client_slug": client.slug, **kwargs})


def test_checklist_notes_and_the_5106_contact_name_keep_no_account_number(client, client_a, admin_a):
    client.force_login(admin_a)

    notes = client.post(
        _url("onboarding_item_update", client_a, key="ace_account"),
        {"item-ace_account-status": "in_progress", "item-ace_account-notes": f"Bank acct {ACCOUNT}"},
    )
    contact = client.post(
        _url("onboarding_5106", client_a),
        {
            "company_name_5106": "Alpha Imports LLC",
            "poc_name": f"Pat {ACCOUNT}",
            "poc_email": "pat@alpha.example",
        },
    )

    for response in (notes, contact):
        assert response.status_code == 200 and ACCOUNT_NUMBER_MESSAGE in response.content.decode()
    assert ACCOUNT not in database_text()
    with scope(client=client_a):
        assert not ChecklistItem.objects.filter(notes__contains="7257").exists()
        assert not OnboardingProfile.objects.filter(poc_name__contains="7257").exists()


def test_entry_flag_note_keeps_no_account_number(client, world, staff_a):
    client.force_login(staff_a)
    url = reverse("entries:detail", args=[world.client.slug, world.entry.entry_number])

    response = client.post(url, {"protest": "on", "note": f"wire to {ACCOUNT}"})

    assert response.status_code == 200 and ACCOUNT_NUMBER_MESSAGE in response.content.decode()
    assert ACCOUNT not in database_text()


def test_letter_details_keep_no_account_number(client, client_a, staff_a):
    client.force_login(staff_a)
    url = _url("letter_new", client_a, kind="reactivation")
    page = client.get(url)
    data = {name: value for name, value in page.context["form"].initial.items() if isinstance(value, str)}
    data.update({"signer_name": "Pat Doe", "details": f"Refunds to account {ACCOUNT}", "generate": ""})

    response = client.post(url, data)

    assert response.status_code == 200 and ACCOUNT_NUMBER_MESSAGE in response.content.decode()
    assert ACCOUNT not in database_text()
