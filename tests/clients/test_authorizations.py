"""Both authorizations a client admin gives the brokerage (CAPE filing, protests) follow the same rules."""

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from clients.models import AuditEvent, ChecklistItem, FilingAuthorization
from clients.onboarding.authorizations import filing_authorization_grant, filing_authorization_revoke
from protests.authorization import protest_authorization_grant, protest_authorization_revoke
from protests.models import ProtestAuthorization
from tests.factories import importer_number

IOR = "12-345678900"

KINDS = [
    pytest.param(
        (
            filing_authorization_grant,
            filing_authorization_revoke,
            FilingAuthorization,
            "filing_authorization",
        ),
        id="filing",
    ),
    pytest.param(
        (
            protest_authorization_grant,
            protest_authorization_revoke,
            ProtestAuthorization,
            "protest_authorization",
        ),
        id="protest",
    ),
]
ACTIONS = {
    FilingAuthorization: ("onboarding.authorization_granted", "onboarding.authorization_revoked"),
    ProtestAuthorization: ("protests.authorization_granted", "protests.authorization_revoked"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_authorization_replaces_the_one_in_force_and_the_trail_says_so(kind, client_a, admin_a):
    grant, _, model, item = kind
    importer_number(client_a, "98-765432100")
    granted, revoked = ACTIONS[model]
    with scope(client=client_a):
        first = grant(actor=admin_a, client=client_a, importer_numbers=[IOR], ip_address="192.0.2.1")
        second = grant(
            actor=admin_a, client=client_a, importer_numbers=[IOR, "98-765432100"], ip_address="192.0.2.2"
        )
        first.refresh_from_db()
        assert first.revoked_at is not None and first.revoked_by == admin_a
        assert model.objects.get(revoked_at=None) == second
        assert second.importer_numbers == ["12-345678900", "98-765432100"]
        assert ChecklistItem.objects.get(key=item).status == "done"
        trail = [(e.action, e.data.get("reason")) for e in AuditEvent.objects.order_by("id")]
        assert trail == [(granted, None), (revoked, "replaced"), (granted, None)]


@pytest.mark.parametrize("kind", KINDS)
def test_revoking_puts_the_checklist_item_back_and_cannot_be_done_twice(kind, client_a, admin_a):
    grant, revoke, model, item = kind
    with scope(client=client_a):
        grant(actor=admin_a, client=client_a, importer_numbers=[IOR], ip_address=None)
        revoke(actor=admin_a, client=client_a, ip_address="192.0.2.9")
        assert not model.objects.filter(revoked_at=None).exists()
        assert ChecklistItem.objects.get(key=item).status == "not_started"
        assert AuditEvent.objects.order_by("id").last().data["reason"] == "revoked"
        with pytest.raises(ValidationError, match="in force to revoke"):
            revoke(actor=admin_a, client=client_a, ip_address=None)


@pytest.mark.parametrize("kind", KINDS)
def test_only_a_client_admin_gives_it_and_only_for_the_companys_numbers(
    kind, client_a, admin_a, member_a, staff_a, manager, admin_b
):
    grant, _, model, _ = kind
    with scope(client=client_a):
        for outsider in (member_a, staff_a, manager, admin_b):
            with pytest.raises(ValidationError, match="Only a client admin"):
                grant(actor=outsider, client=client_a, importer_numbers=[IOR], ip_address=None)
        with pytest.raises(ValidationError, match="Choose among the company's importer numbers"):
            grant(actor=admin_a, client=client_a, importer_numbers=["55-555555500"], ip_address=None)
        with pytest.raises(ValidationError, match="Choose at least one importer number"):
            grant(actor=admin_a, client=client_a, importer_numbers=[], ip_address=None)
        assert not model.objects.exists() and not AuditEvent.objects.exists()
