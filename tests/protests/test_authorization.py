"""The brokerage files protests only with the client admin's protest authorization (an onboarding item)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scope

from clients.models import AuditEvent, ChecklistItem
from clients.onboarding import services as onboarding_services
from protests import following
from protests.models import Protest
from tests.protests.helpers import IOR_A, build, protest_entries, today


def _file(client, actor, protest, **kwargs):
    with scope(client=client):
        return following.protest_record_filing(
            actor=actor,
            protest=protest,
            protest_number="2704-26-000001",
            filed_on=today() - timedelta(days=1),
            filed_by_party="broker",
            **kwargs,
        )


def test_the_broker_files_only_with_the_protest_authorization(client, client_a, admin_a, staff_a):
    protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    with pytest.raises(ValidationError, match="has not authorized the brokerage to file protests"):
        _file(client_a, staff_a, protest)

    # The client admin ticks "entries need protests": the two protest items join the checklist.
    with scope(client=client_a):
        onboarding_services.special_cases_update(actor=admin_a, client=client_a, files_protests=True)
    client.force_login(admin_a)
    page = client.get(reverse("clients:onboarding", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "Protest authorization" in page and "ACE protest filer account" in page
    response = client.post(
        reverse("protests:authorize", kwargs={"client_slug": client_a.slug}),
        {"protest-importer_numbers": [IOR_A], "protest-confirm": "on"},
    )
    assert response.status_code == 302
    with scope(client=client_a):
        item = ChecklistItem.objects.get(key="protest_authorization")
        assert item.status == "done"
        assert AuditEvent.objects.filter(action="protests.authorization_granted").exists()
    page = client.get(reverse("clients:onboarding", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "to prepare and file protests (CBP Form 19" in page

    assert _file(client_a, staff_a, protest).status == Protest.Status.FILED


def test_a_manager_may_record_it_anyway_with_a_reason(client_a, staff_a, manager):
    protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    with pytest.raises(ValidationError):
        _file(client_a, staff_a, protest, override_reason="Signed paper authorization on file")
    filed = _file(client_a, manager, protest, override_reason="Signed paper authorization on file")
    assert filed.status == Protest.Status.FILED
    with scope(client=client_a):
        event = AuditEvent.objects.get(action="protests.filed")
    assert event.data["authorization_override"] == "Signed paper authorization on file"


def test_the_protest_items_stay_off_the_checklist_until_protests_apply(client, client_a, admin_a):
    client.force_login(admin_a)
    page = client.get(reverse("clients:onboarding", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "ACE protest filer account" not in page
