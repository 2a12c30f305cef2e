"""End-to-end in Chromium: a client admin works the onboarding checklist to "ready to file"."""

import re

import pytest
from django_scopes import scope

from clients.models import OnboardingProfile
from tests.e2e.conftest import login, shot
from tests.factories import ClientFactory, UserFactory, importer_number, member

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# A made-up 12-digit account number, pasted where only the last four belong.
FULL_ACCOUNT = "004817263950"


def _save(page, section: str, button: str, message: str) -> None:
    page.locator(f"#{section}").get_by_role("button", name=button, exact=True).click()
    page.wait_for_selector(f".alert >> text={message}")


def test_client_admin_completes_the_checklist_ach_last_four_and_authorization(page):
    acme = ClientFactory(slug="acme", legal_name="Acme Imports LLC")
    importer_number(acme, "19-528224900")
    importer_number(acme, "34-370224800")
    member(acme, UserFactory(email="ines@acme.example", full_name="Ines Alvarez"), role="client_admin")

    login(page, "ines@acme.example")
    page.goto(page.base + "/c/acme/onboarding/")
    assert "0 of 5 steps done" in page.inner_text("main")
    assert page.inner_text("#ready-to-file .value") == "Not ready yet"
    shot(page, "07-onboarding-start")

    # 1. ACE Portal account: the EIN is already linked; tick its steps.
    ace = page.locator("#item-ace_account")
    ace.get_by_label("EIN already linked to an ACE account").check()
    _save(page, "item-ace_account", "Choose", "Path chosen")
    for step in ace.locator("input[name=steps]").all():
        step.check()
    _save(page, "item-ace_account", "Save steps", "The ACE Portal account is done")

    # 2. Form 5106 details, then the step marked done by hand (the code arrived).
    form_5106 = page.locator("#item-form_5106")
    assert form_5106.get_by_label("Company name exactly as on the CBP Form 5106").input_value() == (
        "Acme Imports LLC"
    )
    form_5106.get_by_label("Point of contact on the Form 5106").fill("Ines Alvarez")
    form_5106.get_by_label("Point of contact's email").fill("ines@acme.example")
    _save(page, "item-form_5106", "Save Form 5106 details", "Form 5106 details saved")
    form_5106.locator("summary", has_text="Update status and notes").click()
    form_5106.get_by_label("Status").select_option(label="Done")
    form_5106.get_by_label("Notes").fill("Code received during the window on the phone with the POC.")
    _save(page, "item-form_5106", "Save", "“CBP Form 5106 and its point of contact” saved.")

    # 3. Importer sub-account already connected.
    page.locator("#item-sub_account").get_by_label("Connected to the top account").check()
    _save(page, "item-sub_account", "Save", "Sub-account saved")
    assert "3 of 5 steps done" in page.inner_text("main")
    assert page.get_attribute("[aria-label='Checklist progress']", "aria-valuenow") == "60"

    # 4. ACH: a mistyped routing number and a full account number are refused, next to their fields.
    ach = page.locator("#item-ach_enrollment")
    ach.get_by_label("Bank name").fill("First Harbor Bank")
    ach.get_by_label("ABA routing number").fill("021000022")
    ach.get_by_label("Account number: last four digits only").fill(FULL_ACCOUNT)
    ach.get_by_label("Enrollment status").select_option(label="Active")
    ach.get_by_role("button", name="Save ACH enrollment").click()
    page.wait_for_selector("#id_routing_number_error")
    ach = page.locator("#item-ach_enrollment")
    assert "fails the ABA checksum" in page.inner_text("#id_routing_number_error")
    assert "never receives or stores full account numbers" in page.inner_text("#id_account_last_four_error")
    assert ach.get_by_label("Account number: last four digits only").input_value() == ""
    shot(page, "08-onboarding-ach-errors")
    assert FULL_ACCOUNT not in page.content()
    assert not any(FULL_ACCOUNT[i : i + 5] in page.content() for i in range(len(FULL_ACCOUNT) - 4))

    ach.get_by_label("ABA routing number").fill("021000021")
    ach.get_by_label("Account number: last four digits only").fill(FULL_ACCOUNT[-4:])
    _save(page, "item-ach_enrollment", "Save ACH enrollment", "ACH refund enrollment saved")
    assert "account ending in 3950" in page.inner_text("#item-ach_enrollment")
    ready = page.inner_text("#ready-to-file")  # everything but the authorization
    assert "Not ready yet" in ready and "Filing authorization: not given by a client admin." in ready
    assert "ACE Portal account" not in ready and "ACH" not in ready

    # 6. The filing authorization, for both importer numbers.
    auth = page.locator("#item-filing_authorization")
    for number in ("19-528224900", "34-370224800"):
        assert auth.get_by_label(number).is_checked()
    auth.get_by_label(re.compile(r"I authorize the brokerage to file CAPE declarations")).check()
    auth.get_by_role("button", name="Authorize the brokerage").click()
    page.wait_for_selector("#authorization")

    text = page.inner_text("main")
    assert "5 of 5 steps done" in text
    assert page.get_attribute("[aria-label='Checklist progress']", "aria-valuenow") == "100"
    assert page.inner_text("#ready-to-file .value") == "Ready to file"
    assert "19-528224900, 34-370224800" in page.inner_text("#ready-to-file")
    assert page.inner_text("#next-step") == "Nothing: every step is done."
    steps = page.locator("nav[aria-label='Checklist steps'] li")
    assert steps.count() == 5
    for i in range(5):
        assert steps.nth(i).locator(".badge").last.inner_text() == "Done"
    authorization = page.inner_text("#authorization")
    assert "In force" in authorization and "ines@acme.example" in authorization
    shot(page, "09-onboarding-complete")

    html = page.content()
    assert not any(FULL_ACCOUNT[i : i + 5] in html for i in range(len(FULL_ACCOUNT) - 4))
    with scope(client=acme):
        saved = OnboardingProfile.objects.get(client=acme)
    assert (saved.routing_number, saved.account_last_four, saved.ach_status) == (
        "021000021",
        "3950",
        "active",
    )
    assert not page.console_errors, page.console_errors
