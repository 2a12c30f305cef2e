"""Importer numbers a client adds are pending until staff verify them (issue 14, point 2).

The probe: a client admin added `55-555555500` (another importer's number) to their profile, and the next
broker-wide report routed that importer's 500 rows and $2.4M of duty to them; the real owner then could
not add it and learned it existed.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from clients.models import AuditEvent, ImporterNumber
from entries.models import BrokerReport, Entry
from tests.entries.helpers import SAMPLES
from tests.factories import ClientFactory, assign, importer_number, staff_user

OTHER = "55-555555500"
ROW = "ABC12345676,01,{ior},2704,03/02/2025,03/09/2025,1,1,9903.01.25,0.00,2400.00,CN,Open,,N,N,N"


def _report_with_a_row_of(ior: str) -> bytes:
    header = (SAMPLES / "es003_basic.csv").read_text().splitlines()[0]
    return f"{header}\n{ROW.format(ior=ior)}\n".encode()


def _route(http, manager, content: bytes, capture) -> BrokerReport:
    http.force_login(manager)
    with capture(execute=True):
        http.post(
            reverse("staff:broker_reports"),
            {"file": SimpleUploadedFile("all.csv", content, content_type="text/csv")},
        )
    return BrokerReport.objects.latest("created_at")


def _add(http, user, client, number: str) -> list[str]:
    http.force_login(user)
    response = http.post(
        reverse("clients:importer_number_add", args=[client.slug]),
        {"number": number, "label": ""},
        follow=True,
    )
    return [str(m) for m in response.context["messages"]]


def _entries(client) -> int:
    with scope(client=client):
        return Entry.objects.count()


@pytest.mark.parametrize("owner_is_a_client", [True, False], ids=["owner-is-a-client", "owner-unknown"])
def test_a_number_claimed_by_a_client_admin_gets_no_entries_from_broker_reports(
    client, client_b, admin_b, manager, django_capture_on_commit_callbacks, owner_is_a_client
):
    owner = ClientFactory(slug="owner", legal_name="Owner Importing Co.")
    if owner_is_a_client:
        importer_number(owner, OTHER)
    _add(client, admin_b, client_b, OTHER)

    report = _route(client, manager, _report_with_a_row_of(OTHER), django_capture_on_commit_callbacks)

    assert report.status == "succeeded", report.message
    assert _entries(client_b) == 0, "the claimed number's rows reached the claimant"
    assert {r["slug"] for r in report.routed} == ({"owner"} if owner_is_a_client else set())
    assert _entries(owner) == (1 if owner_is_a_client else 0)


def test_the_add_message_is_the_same_whether_or_not_another_client_has_the_number(
    client, client_a, client_b, admin_b
):
    # 12-345678900 is client A's (verified); 66-666666600 is nobody's.
    taken = _add(client, admin_b, client_b, "12-345678900")
    free = _add(client, admin_b, client_b, "66-666666600")

    assert [m.replace("12-345678900", "N") for m in taken] == [m.replace("66-666666600", "N") for m in free]
    assert "pending" in taken[0]
    with scope(client=client_b):
        pending = ImporterNumber.objects.get(number="12-345678900")
    assert not pending.is_verified
    with scope(client=client_a):  # A's own number is untouched
        assert ImporterNumber.objects.get(number="12-345678900").is_verified


def test_the_real_owner_can_still_add_a_number_someone_else_claimed(
    client, client_a, admin_a, client_b, admin_b
):
    _add(client, admin_b, client_b, OTHER)
    messages = _add(client, admin_a, client_a, OTHER)
    assert "pending" in messages[0] and "another client" not in messages[0]


def test_the_profile_shows_the_pending_state_to_the_client(client, client_b, admin_b, member_b):
    _add(client, admin_b, client_b, OTHER)
    client.force_login(member_b)
    page = client.get(reverse("clients:profile", args=[client_b.slug])).content.decode()
    assert OTHER in page and "Pending verification" in page
    assert "Verify" not in page  # no verify action for the client's own people
    overview = client.get(reverse("clients:overview", args=[client_b.slug])).content.decode()
    assert f"{OTHER} (pending verification)" in overview


def test_staff_verify_a_pending_number_with_evidence_and_it_is_audited(
    client, client_b, admin_b, staff_b, manager, django_capture_on_commit_callbacks
):
    _add(client, admin_b, client_b, OTHER)
    with scope(client=client_b):
        pending = ImporterNumber.objects.get(number=OTHER)
    client.force_login(staff_b)
    page = client.get(reverse("clients:profile", args=[client_b.slug])).content.decode()
    assert f"Verify {OTHER}" in page

    response = client.post(
        reverse("clients:importer_number_verify", args=[client_b.slug, pending.pk]),
        {"evidence": "form_5106", "note": "5106 dated 2025-03-01"},
    )

    assert response.status_code == 302
    with scope(client=client_b):
        pending.refresh_from_db()
        event = AuditEvent.objects.get(action="client.importer_number_verified")
    assert pending.verified_by == staff_b and pending.verified_at is not None
    assert (
        pending.verification_evidence == "form_5106" and pending.verification_note == "5106 dated 2025-03-01"
    )
    assert event.actor == staff_b and event.data["evidence"] == "form_5106"
    # Verified, it receives the broker-wide report's rows.
    _route(client, manager, _report_with_a_row_of(OTHER), django_capture_on_commit_callbacks)
    assert _entries(client_b) == 1


def test_client_admin_cannot_verify_their_own_number(client, client_b, admin_b):
    _add(client, admin_b, client_b, OTHER)
    with scope(client=client_b):
        pending = ImporterNumber.objects.get(number=OTHER)
    response = client.post(
        reverse("clients:importer_number_verify", args=[client_b.slug, pending.pk]), {"evidence": "form_5106"}
    )
    assert response.status_code == 404
    pending.refresh_from_db()
    assert not pending.is_verified


def test_staff_cannot_verify_a_number_another_client_holds_verified(
    client, client_a, client_b, admin_b, manager
):
    _add(client, admin_b, client_b, "12-345678900")
    with scope(client=client_b):
        claim = ImporterNumber.objects.get(number="12-345678900")
    client.force_login(manager)

    response = client.post(
        reverse("clients:importer_number_verify", args=[client_b.slug, claim.pk]),
        {"evidence": "ace_account"},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert "already verified for Alpha Imports LLC" in messages[0]
    claim.refresh_from_db()
    assert not claim.is_verified


def test_numbers_entered_by_staff_are_verified_at_creation(client, db):
    call_command("create_client", "--slug", "acme", "--name", "Acme Imports LLC", "--ior", "12-3456789AB")
    staff = staff_user()
    with scopes_disabled():
        number = ImporterNumber.objects.get(number="12-3456789AB")
    assert number.is_verified and number.verification_evidence == "staff_entered"
    target = ClientFactory(slug="target")
    assign(target, staff)
    messages = _add(client, staff, target, "34-3456789AB")
    assert "verified" in messages[0]
    with scope(client=target):
        assert ImporterNumber.objects.get(number="34-3456789AB").verified_by == staff


def test_a_client_admin_adding_the_same_number_twice_is_told_plainly(client, client_b, admin_b):
    _add(client, admin_b, client_b, OTHER)
    messages = _add(client, admin_b, client_b, OTHER)
    assert messages == [f"Importer number {OTHER} is already on this company's profile."]


@pytest.mark.django_db(transaction=True)
def test_the_migration_verifies_the_numbers_stored_before_it():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = ("clients", "0004_reminders"), ("clients", "0005_importer_number_verification")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps
    client = old.get_model("clients", "Client").objects.create(slug="old", legal_name="Old Imports")
    old.get_model("clients", "ImporterNumber").objects.create(client=client, number="12-345678900")

    executor = MigrationExecutor(connection)
    executor.migrate([after])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    with scopes_disabled():
        number = ImporterNumber.objects.get(number="12-345678900")
    assert number.is_verified and number.verification_evidence == "before_verification"
