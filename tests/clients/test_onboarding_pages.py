"""The onboarding checklist through its pages: both ACE paths, Form 5106 and the code window, ACH, special
cases, evidence, the filing authorization, staff review and the staff overview."""

import logging
import random
import re
from datetime import UTC, timedelta
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from clients.models import AuditEvent, ChecklistEvidence, ChecklistItem, CodeWindow, OnboardingProfile
from clients.onboarding.selectors import client_ready_to_file
from tests.factories import ClientFactory, assign, importer_number, member
from tests.ics import parse_ics, unescape_text


def url(name, slug="client-a", **kwargs):
    return reverse(f"clients:{name}", kwargs={"client_slug": slug, **kwargs})


def page(client, slug="client-a") -> str:
    response = client.get(url("onboarding", slug))
    assert response.status_code == 200
    return response.content.decode()


def actions(client_obj) -> list[str]:
    with scope(client=client_obj):
        return list(AuditEvent.objects.order_by("created_at", "id").values_list("action", flat=True))


def item(client_obj, key) -> ChecklistItem:
    with scope(client=client_obj):
        return ChecklistItem.objects.get(client=client_obj, key=key)


def profile(client_obj) -> OnboardingProfile:
    with scope(client=client_obj):
        return OnboardingProfile.objects.get(client=client_obj)


def local_input(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def section(html: str, key: str) -> str:
    """The HTML of one checklist item's card."""
    start = html.index(f'id="item-{key}"')
    return html[start : html.index("</section>", start)]


def test_checklist_shows_each_step_progress_next_action_and_contacts(client, client_a, member_a):
    client.force_login(member_a)
    html = page(client)
    for title in ["ACE Portal account", "CBP Form 5106 and its point of contact", "Importer sub-account"]:
        assert title in html
    assert "ACH refund enrollment" in html and "Filing authorization" in html
    assert "0 of 5 steps done" in html
    assert "Not ready yet" in html
    assert "Choose how you get your ACE Portal account" in html
    assert "ACESupport@cbp.dhs.gov" in section(html, "ace_account")
    assert "GMB.ACHRefundSupport@cbp.dhs.gov" in section(html, "ach_enrollment")
    assert "Voided account" not in html  # special cases only when they apply
    assert reverse("clients:letters", kwargs={"client_slug": "client-a"}) in section(html, "sub_account")


def test_ace_new_application_path_through_the_pages(
    client, client_a, admin_a, staff_a, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    client.post(url("onboarding_ace_path"), {"path": "new_application"})
    html = page(client)
    assert "Have the importer-of-record number ready" in html
    assert "Next ACE step: Have the importer-of-record number ready" in html
    assert item(client_a, "ace_account").status == "in_progress"

    response = client.post(
        url("onboarding_5106"),
        {"company_name_5106": "Alpha Imports, LLC", "poc_name": "Pat Doe", "poc_email": "Pat@Alpha.example"},
    )
    assert response.status_code == 302
    html = page(client)
    assert "differs from the company name in this portal" in html
    starts = timezone.now() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("onboarding_window_propose"), {"starts_at": local_input(starts)})
    assert "waiting for your broker team to confirm" in page(client)
    assert [m.to for m in mailoutbox] == [[staff_a.email]]  # the broker team hears about the proposal

    steps = ["ior_ready", "name_ready", "email_ready", "window_booked", "applied", "code_entered"]
    client.post(url("onboarding_ace_steps"), {"steps": steps})
    assert item(client_a, "ace_account").status == "in_progress"
    client.post(url("onboarding_ace_steps"), {"steps": [*steps, "access_verified"]})

    assert item(client_a, "ace_account").status == "done"
    html = page(client)
    assert "1 of 5 steps done" in html
    assert 'href="#item-form_5106">Your broker team confirms the proposed code window' in html
    assert actions(client_a)[-3:] == [
        "onboarding.code_window_proposed",
        "onboarding.ace_steps_updated",
        "onboarding.ace_steps_updated",
    ]


def test_ace_ein_linked_path_through_the_pages(client, client_a, member_a):
    client.force_login(member_a)
    client.post(url("onboarding_ace_path"), {"path": "ein_linked"})
    html = page(client)
    assert "Identify the Top Account Owner (TAO)" in html
    assert "Have the importer-of-record number ready" not in html

    # The account turns out to be voided: that special case joins the checklist with its CBP contact.
    client.post(url("onboarding_special_cases"), {"account_voided": "on"})
    html = page(client)
    assert "bondquestions@cbp.dhs.gov" in section(html, "voided_account")
    assert "0 of 6 steps done" in html
    client.post(
        url("onboarding_item_update", key="voided_account"), {"item-voided_account-status": "waiting_on_cbp"}
    )
    assert item(client_a, "voided_account").status == "waiting_on_cbp"

    every = ["tao_identified", "account_active", "password_reset", "access_verified"]
    client.post(url("onboarding_ace_steps"), {"steps": every})
    assert item(client_a, "ace_account").status == "done"
    client.post(url("onboarding_ace_steps"), {"steps": every[:3]})  # access lost again
    assert item(client_a, "ace_account").status == "in_progress"
    assert "Next ACE step: Log in and verify access" in page(client)


def test_ach_with_a_valid_routing_number_is_saved(client, client_a, admin_a):
    client.force_login(admin_a)
    response = client.post(
        url("onboarding_ach"),
        {
            "bank_name": "First Harbor Bank",
            "routing_number": "021000021",
            "account_last_four": "6789",
            "status": "submitted",
        },
    )
    assert response.status_code == 302
    saved = profile(client_a)
    assert (saved.routing_number, saved.account_last_four, saved.ach_status) == (
        "021000021",
        "6789",
        "submitted",
    )
    assert item(client_a, "ach_enrollment").status == "waiting_on_cbp"
    assert "account ending in 6789" in page(client)


def test_ach_routing_number_failing_the_checksum_is_explained_next_to_the_field(client, client_a, admin_a):
    client.force_login(admin_a)
    response = client.post(
        url("onboarding_ach"),
        {
            "bank_name": "First Harbor Bank",
            "routing_number": "021000022",
            "account_last_four": "6789",
            "status": "submitted",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(r'id="id_routing_number_error">([^<]+)<', html)
    assert error and "fails the ABA checksum" in error.group(1)
    field = re.search(r'<input[^>]*name="routing_number"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field and "id_routing_number_error" in field
    with scope(client=client_a):
        assert not OnboardingProfile.objects.filter(client=client_a).exists()


def test_ach_refund_rejected_shows_the_recovery_steps(client, client_a, admin_a):
    client.force_login(admin_a)
    client.post(
        url("onboarding_ach"),
        {
            "bank_name": "First Harbor Bank",
            "routing_number": "021000021",
            "account_last_four": "6789",
            "status": "refund_rejected",
        },
    )
    html = section(page(client), "ach_enrollment")
    assert "A refund was rejected" in html and "Allow 4–6 weeks" in html and "ACH Refund Support" in html
    assert item(client_a, "ach_enrollment").status == "blocked"


def _five_digit_pieces(number: str) -> list[str]:
    """Every 5-digit substring: any longer run of the number contains one of them."""
    return [number[i : i + 5] for i in range(len(number) - 4)]


def _database_text() -> str:
    """Every value of every column of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from introspection)
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("latin-1")
                    chunks.append(str(value))
    return "\n".join(chunks)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("account_last_four", "The portal never receives or stores full account numbers."),
        ("routing_number", "A routing number has exactly 9 digits; you entered 12."),  # pasted one field up
        ("bank_name", "Enter only the bank's name here, without account or routing numbers."),
    ],
)
def test_full_account_number_is_refused_and_never_stored_echoed_or_logged(
    client, client_a, admin_a, caplog, field, message
):
    caplog.set_level(logging.DEBUG)
    client.force_login(admin_a)
    client.post(
        url("onboarding_5106"), {"company_name_5106": "Alpha Imports LLC", "poc_email": "pat@alpha.example"}
    )
    before = _database_text()
    # A number no column can already hold by chance (hashes and tokens are full of digits).
    rng = random.Random(4811)
    while True:
        account = "".join(rng.choice("0123456789") for _ in range(12))
        if not any(piece in before for piece in _five_digit_pieces(account)):
            break
    data = {
        "bank_name": "First Harbor Bank",
        "routing_number": "021000021",
        "account_last_four": "6789",
        "status": "submitted",
    }
    data[field] = f"First Harbor Bank {account}" if field == "bank_name" else account

    response = client.post(url("onboarding_ach"), data)

    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(rf'id="id_{field}_error">([^<]+)<', html)
    assert error and unescape(error.group(1)).startswith(message)
    with scope(client=client_a):
        saved = OnboardingProfile.objects.get(client=client_a)
        assert (saved.bank_name, saved.routing_number, saved.account_last_four) == ("", "", "")
    stored, logged = _database_text(), "\n".join(r.getMessage() for r in caplog.records)
    for text, where in [(html, "the page"), (stored, "the database"), (logged, "the logs")]:
        assert account not in text, f"the full number is in {where}"
        for piece in _five_digit_pieces(account):
            assert piece not in text, f"{piece} (part of the account number) is in {where}"


def test_code_window_confirmed_sends_both_sides_an_ics_invitation(
    client, client_a, admin_a, staff_a, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    client.post(
        url("onboarding_5106"),
        {"company_name_5106": "Alpha Imports LLC", "poc_name": "Pat Doe", "poc_email": "pat@alpha.example"},
    )
    starts = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    client.post(url("onboarding_window_propose"), {"starts_at": local_input(starts)})
    with scope(client=client_a):
        window = CodeWindow.objects.get(client=client_a)
    mailoutbox.clear()

    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("onboarding_window_confirm", public_id=window.public_id))

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert sorted(message.to) == sorted(["pat@alpha.example", admin_a.email, staff_a.email])
    assert "code window confirmed" in message.subject
    [(filename, content, mimetype)] = message.attachments
    assert filename.endswith(".ics") and mimetype == "text/calendar"
    calendar = parse_ics(content.encode())
    event = calendar.child("VEVENT")
    assert calendar.get("METHOD") == "REQUEST"
    assert event.get("DTSTART") == starts.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert event.get("DTEND") == (starts + timedelta(minutes=15)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert sorted(event.all("ATTENDEE")) == sorted(f"mailto:{e}" for e in message.to)
    assert "Alpha Imports LLC" in unescape_text(event.get("SUMMARY"))
    assert "pat@alpha.example" in unescape_text(event.get("DESCRIPTION"))
    assert event.child("VALARM").get("TRIGGER") == "-PT15M"
    assert "confirmed" in page(client)

    # A new time replaces the confirmed one: calendars get the cancellation for the same event.
    client.force_login(admin_a)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("onboarding_window_propose"), {"starts_at": local_input(starts + timedelta(days=1))})
    cancellation = next(m for m in mailoutbox if m.attachments)
    cancelled = parse_ics(cancellation.attachments[0][1].encode())
    assert cancelled.get("METHOD") == "CANCEL"
    assert cancelled.child("VEVENT").get("UID") == event.get("UID")
    assert cancelled.child("VEVENT").get("SEQUENCE") == "1"


def test_code_window_needs_the_point_of_contact_and_a_future_time(client, client_a, member_a):
    client.force_login(member_a)
    response = client.post(
        url("onboarding_window_propose"), {"starts_at": local_input(timezone.now() + timedelta(days=1))}
    )
    assert "point of contact" in response.content.decode()
    client.post(
        url("onboarding_5106"), {"company_name_5106": "Alpha Imports LLC", "poc_email": "pat@alpha.example"}
    )
    response = client.post(
        url("onboarding_window_propose"), {"starts_at": local_input(timezone.now() - timedelta(hours=2))}
    )
    assert "at least an hour from now" in response.content.decode()
    with scope(client=client_a):
        assert not CodeWindow.objects.exists()


def test_staff_verify_and_reopen_items_with_notes_and_audit_events(client, client_a, member_a, staff_a):
    client.force_login(staff_a)
    client.post(url("onboarding_item_verify", key="sub_account"), {"review-sub_account-note": "looks fine"})
    with scope(client=client_a):  # not done yet: nothing to verify
        assert not ChecklistItem.objects.filter(verified_at__isnull=False).exists()

    client.force_login(member_a)
    client.post(url("onboarding_sub_account"), {"state": "connected"})
    assert item(client_a, "sub_account").status == "done"

    client.force_login(staff_a)
    client.post(url("onboarding_item_verify", key="sub_account"), {"review-sub_account-note": "Seen in ACE"})
    verified = item(client_a, "sub_account")
    assert verified.verified_by == staff_a and verified.verified_at is not None
    client.force_login(member_a)
    html = section(page(client), "sub_account")
    assert f"Verified by {staff_a}" in html and "Seen in ACE" in html

    client.force_login(staff_a)
    response = client.post(url("onboarding_item_reopen", key="sub_account"), {"review-sub_account-note": ""})
    assert item(client_a, "sub_account").status == "done"  # a reopen says why
    assert "Say what needs to be done again" in client.get(response.url).content.decode()
    client.post(
        url("onboarding_item_reopen", key="sub_account"),
        {"review-sub_account-note": "Wrong importer number linked"},
    )
    reopened = item(client_a, "sub_account")
    assert reopened.status == "in_progress" and reopened.verified_at is None
    assert profile(client_a).sub_account == "missing"
    client.force_login(member_a)
    assert "Wrong importer number linked" in section(page(client), "sub_account")
    with scope(client=client_a):
        events = {e.action: e for e in AuditEvent.objects.filter(action__startswith="onboarding.item_")}
    assert events["onboarding.item_verified"].data["note"] == "Seen in ACE"
    assert events["onboarding.item_verified"].actor == staff_a
    assert events["onboarding.item_reopened"].data == {
        "item": "sub_account",
        "from": "done",
        "note": "Wrong importer number linked",
    }


def test_status_change_clears_the_staff_verification(client, client_a, member_a, staff_a):
    client.force_login(member_a)
    client.post(url("onboarding_item_update", key="form_5106"), {"item-form_5106-status": "done"})
    client.force_login(staff_a)
    client.post(url("onboarding_item_verify", key="form_5106"))
    assert item(client_a, "form_5106").verified_at is not None
    client.force_login(member_a)
    client.post(
        url("onboarding_item_update", key="form_5106"),
        {"item-form_5106-status": "blocked", "item-form_5106-notes": "POC left"},
    )
    changed = item(client_a, "form_5106")
    assert changed.verified_at is None and changed.notes == "POC left"


def test_only_staff_set_owner_and_due_date(client, client_a, member_a, staff_a):
    client.force_login(member_a)
    assert 'name="item-ace_account-due_date"' not in page(client)
    client.post(
        url("onboarding_item_update", key="ace_account"),
        {
            "item-ace_account-status": "in_progress",
            "item-ace_account-due_date": "2026-01-01",
            "item-ace_account-owner": "broker",
        },
    )
    saved = item(client_a, "ace_account")
    assert saved.due_date is None and saved.owner == "client"

    client.force_login(staff_a)
    client.post(
        url("onboarding_item_update", key="ace_account"),
        {
            "item-ace_account-status": "in_progress",
            "item-ace_account-due_date": "2026-06-30",
            "item-ace_account-owner": "broker",
        },
    )
    saved = item(client_a, "ace_account")
    assert str(saved.due_date) == "2026-06-30" and saved.owner == "broker"
    assert "due Jun 30, 2026" in section(page(client), "ace_account")


def _upload(client, key="ace_account", name="ace-login.pdf", content=b"%PDF-1.4 proof"):
    return client.post(
        url("onboarding_evidence_upload", key=key),
        {f"evidence-{key}-file": SimpleUploadedFile(name, content)},
    )


def test_evidence_downloads_for_insiders_and_is_404_for_outsiders(
    client, client_a, client_b, member_a, staff_a, member_b, staff_b
):
    client.force_login(member_a)
    assert _upload(client).status_code == 302
    with scope(client=client_a):
        evidence = ChecklistEvidence.objects.get()
    assert "ace-login.pdf" in section(page(client), "ace_account")
    download = url("onboarding_evidence", public_id=evidence.public_id)
    response = client.get(download)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 proof"
    assert "attachment" in response["Content-Disposition"]
    client.force_login(staff_a)
    assert client.get(download).status_code == 200

    for outsider in (member_b, staff_b):
        client.force_login(outsider)
        assert client.get(download).status_code == 404
        # Guessing the id under one's own client finds nothing either.
        assert (
            client.get(url("onboarding_evidence", "client-b", public_id=evidence.public_id)).status_code
            == 404
        )
        assert (
            client.post(
                url("onboarding_evidence_remove", "client-b", public_id=evidence.public_id)
            ).status_code
            == 404
        )
    with scope(client=client_a):
        assert ChecklistEvidence.objects.count() == 1


def test_evidence_must_be_a_pdf_or_image(client, client_a, member_a):
    client.force_login(member_a)
    response = _upload(client, name="proof.pdf", content=b"<html><script>alert(1)</script>")
    assert response.status_code == 200
    assert "Upload a PDF, PNG or JPEG file." in section(response.content.decode(), "ace_account")
    with scope(client=client_a):
        assert not ChecklistEvidence.objects.exists()


def test_evidence_is_removed_by_its_uploader_with_the_file(
    client, client_a, member_a, admin_a, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    _upload(client)
    with scope(client=client_a):
        evidence = ChecklistEvidence.objects.get()
    storage, name = evidence.file.storage, evidence.file.name
    client.force_login(member_a)
    client.post(url("onboarding_evidence_remove", public_id=evidence.public_id))
    with scope(client=client_a):
        assert ChecklistEvidence.objects.exists()  # a plain member removes only their own files
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("onboarding_evidence_remove", public_id=evidence.public_id))
    with scope(client=client_a):
        assert not ChecklistEvidence.objects.exists()
    assert not storage.exists(name)
    assert actions(client_a)[-2:] == ["onboarding.evidence_added", "onboarding.evidence_removed"]


def _ready_except_authorization(client, client_a, actor):
    client.force_login(actor)
    client.post(url("onboarding_ace_path"), {"path": "ein_linked"})
    client.post(
        url("onboarding_ace_steps"),
        {"steps": ["tao_identified", "account_active", "password_reset", "access_verified"]},
    )
    client.post(
        url("onboarding_ach"),
        {
            "bank_name": "First Harbor Bank",
            "routing_number": "021000021",
            "account_last_four": "6789",
            "status": "active",
        },
    )


def test_filing_authorization_records_who_when_where_and_for_which_numbers(client, client_a, admin_a):
    importer_number(client_a, "12-345678901")
    _ready_except_authorization(client, client_a, admin_a)
    with scope(client=client_a):
        assert client_ready_to_file(client=client_a).missing == (
            "Filing authorization: not given by a client admin.",
        )

    client.post(
        url("onboarding_authorize"),
        {"importer_numbers": ["12-345678900"], "confirm": "on"},
        REMOTE_ADDR="203.0.113.7",
    )

    with scope(client=client_a):
        readiness = client_ready_to_file(client=client_a)
        event = AuditEvent.objects.get(action="onboarding.authorization_granted")
    assert readiness.ready and readiness.importer_numbers == ("12-345678900",)
    assert event.actor == admin_a and event.data == {
        "importer_numbers": ["12-345678900"],
        "ip": "203.0.113.7",
    }
    html = page(client)
    assert "Ready to file" in html
    auth = section(html, "filing_authorization")
    assert "203.0.113.7" in auth and admin_a.email in auth and "12-345678900" in auth

    client.post(url("onboarding_authorization_revoke"), REMOTE_ADDR="203.0.113.8")
    with scope(client=client_a):
        assert not client_ready_to_file(client=client_a).ready
    assert "revoked" in section(page(client), "filing_authorization")
    assert actions(client_a)[-1] == "onboarding.authorization_revoked"


def test_filing_authorization_needs_the_confirmation_and_a_number(client, client_a, admin_a):
    client.force_login(admin_a)
    response = client.post(url("onboarding_authorize"), {"importer_numbers": ["12-345678900"]})
    assert response.status_code == 200
    response = client.post(
        url("onboarding_authorize"), {"importer_numbers": ["98-765432100"], "confirm": "on"}
    )
    assert "is not one of the available choices" in response.content.decode()
    with scope(client=client_a):
        assert not client_ready_to_file(client=client_a).importer_numbers


def test_members_see_the_authorization_but_cannot_give_it(client, client_a, member_a):
    client.force_login(member_a)
    html = section(page(client), "filing_authorization")
    assert "Only a client admin" in html and 'name="confirm"' not in html


# --- Staff overview ------------------------------------------------------------------------------


def _status(client_obj, key, status, *, days_ago):
    with scope(client=client_obj):
        ChecklistItem.objects.update_or_create(
            client=client_obj,
            key=key,
            defaults={"status": status, "status_changed_at": timezone.now() - timedelta(days=days_ago)},
        )


def test_staff_overview_puts_blocked_then_waiting_first_oldest_first(client, staff_a, manager, client_b):
    names = {}
    for slug, legal_name in [
        ("quiet", "Aaron Quiet Co"),
        ("b-new", "Bea Blocked New"),
        ("b-old", "Cal Blocked Old"),
        ("wait", "Dee Waiting"),
    ]:
        names[slug] = ClientFactory(slug=slug, legal_name=legal_name)
        assign(names[slug], staff_a)
    _status(names["b-new"], "ace_account", "blocked", days_ago=1)
    _status(names["b-old"], "ach_enrollment", "blocked", days_ago=9)
    _status(names["wait"], "sub_account", "waiting_on_cbp", days_ago=20)

    client.force_login(staff_a)
    html = client.get(reverse("staff:onboarding")).content.decode()
    order = [html.index(n) for n in ["Cal Blocked Old", "Bea Blocked New", "Dee Waiting", "Aaron Quiet Co"]]
    assert order == sorted(order)
    assert "Bravo Trading Inc." not in html  # not on this caseload
    assert "has been blocked for 9 days" in html

    client.force_login(manager)
    assert "Bravo Trading Inc." in client.get(reverse("staff:onboarding")).content.decode()


def test_staff_overview_verify_returns_to_the_overview(client, client_a, member_a, staff_a):
    client.force_login(member_a)
    client.post(url("onboarding_sub_account"), {"state": "connected"})
    client.force_login(staff_a)
    assert "Importer sub-account done:" in client.get(reverse("staff:onboarding")).content.decode()
    response = client.post(
        url("onboarding_item_verify", key="sub_account"),
        {"return_to": "staff", "review-sub_account-note": "ok"},
    )
    assert response.url == reverse("staff:onboarding")
    assert item(client_a, "sub_account").verified_by == staff_a


def test_staff_overview_is_404_for_client_users(client, client_a, admin_a):
    client.force_login(admin_a)
    assert client.get(reverse("staff:onboarding")).status_code == 404


def test_staff_overview_query_count_does_not_grow_with_clients(
    client, manager, django_assert_max_num_queries
):
    def load():
        with django_assert_max_num_queries(20) as ctx:
            assert client.get(reverse("staff:onboarding")).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(manager)
    first = ClientFactory()
    _status(first, "ace_account", "blocked", days_ago=2)
    one = load()
    for n in range(3):
        other = ClientFactory()
        member(other, role="client_admin")
        _status(other, "ach_enrollment", "waiting_on_cbp", days_ago=n)
    assert load() == one


@pytest.mark.parametrize("role", ["member_a", "admin_a", "staff_a"])
def test_checklist_page_query_count_is_bounded(
    client, client_a, request, role, django_assert_max_num_queries
):
    client.force_login(request.getfixturevalue(role))
    for key in ["ace_account", "form_5106", "sub_account"]:
        _status(client_a, key, "in_progress", days_ago=1)
    with django_assert_max_num_queries(25):
        page(client)


ACH = {
    "bank_name": "First Harbor Bank",
    "routing_number": "021000021",
    "account_last_four": "6789",
    "status": "active",
}


def test_member_sees_the_ach_details_and_authorization_but_cannot_change_them(
    client, client_a, admin_a, member_a, member_b
):
    client.force_login(admin_a)
    client.post(url("onboarding_ach"), ACH)
    client.force_login(member_a)

    html = page(client)
    ach, authorization = section(html, "ach_enrollment"), section(html, "filing_authorization")
    assert "account ending in 6789" in ach and "First Harbor Bank" in ach
    assert 'name="routing_number"' not in ach and "Save ACH enrollment" not in ach
    assert "Only a client admin" in ach
    assert 'name="importer_numbers"' not in authorization and "Authorize the brokerage" not in authorization

    for name in ("onboarding_ach", "onboarding_authorize", "onboarding_authorization_revoke"):
        response = client.post(
            url(name), {**ACH, "account_last_four": "1111", "importer_numbers": "12-345678900"}
        )
        assert response.status_code == 404, name
    assert profile(client_a).account_last_four == "6789"
    assert actions(client_a).count("onboarding.ach_updated") == 1


def test_ach_service_refuses_a_member_whatever_the_caller(client_a, member_a):
    from django.core.exceptions import ValidationError

    from clients.onboarding.ach import ach_enrollment_update

    with scope(client=client_a), pytest.raises(ValidationError, match="Only a client admin"):
        ach_enrollment_update(actor=member_a, client=client_a, **ACH)


def test_changed_bank_details_email_every_admin_and_the_assigned_staff_with_last_four_only(
    client,
    client_a,
    admin_a,
    member_a,
    staff_a,
    client_b,
    admin_b,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    second_admin = member(client_a, role="client_admin")
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("onboarding_ach"), ACH)
    mailoutbox.clear()

    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url("onboarding_ach"),
            {**ACH, "bank_name": "Quick Cash Credit Union", "account_last_four": "4321"},
        )

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert sorted(mail.to) == sorted([admin_a.email, second_admin.email, staff_a.email])
    assert member_a.email not in mail.to and admin_b.email not in mail.to
    assert "Refund bank account changed for Alpha Imports LLC" in mail.subject
    for body in (mail.body, mail.alternatives[0][0]):
        assert "account ending in 6789" in body and "account ending in 4321" in body
        assert "Quick Cash Credit Union" in body and staff_a.email in body

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # only the status changes: no alarm
        client.post(
            url("onboarding_ach"),
            {
                **ACH,
                "bank_name": "Quick Cash Credit Union",
                "account_last_four": "4321",
                "status": "submitted",
            },
        )
    assert mailoutbox == []


def test_form_5106_details_are_saved_and_the_checklist_says_so(client, client_a, member_a):
    client.force_login(member_a)
    response = client.post(
        url("onboarding_5106"),
        {"company_name_5106": "Alpha Imports LLC", "poc_name": "Ana Ruiz", "poc_email": "Ana@Alpha.example"},
    )
    assert response.status_code == 302 and response.url.endswith("#item-form_5106")
    assert "Form 5106 details saved." in unescape(client.get(response.url).content.decode())
    saved = profile(client_a)
    assert (saved.company_name_5106, saved.poc_email) == ("Alpha Imports LLC", "ana@alpha.example")
    assert "onboarding.form_5106_updated" in actions(client_a)


def test_form_5106_refused_shows_the_reason_beside_the_field_and_saves_nothing(client, client_a, member_a):
    client.force_login(member_a)
    response = client.post(
        url("onboarding_5106"),
        {"company_name_5106": "Alpha 123456789012", "poc_name": "", "poc_email": "ana@alpha.example"},
    )
    assert response.status_code == 200  # the checklist again, with the form and its error
    html = unescape(response.content.decode())
    assert "This looks like a bank account number" in html
    assert 'value="Alpha 123456789012"' in html  # what the person typed is kept for them to correct
    with scope(client=client_a):
        assert not OnboardingProfile.objects.filter(client=client_a).exclude(poc_email="").exists()
    assert "onboarding.form_5106_updated" not in actions(client_a)
