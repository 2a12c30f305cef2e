"""Staff add the entries ticked on the entries page to a CAPE declaration (refunds:build_selected): only those
entries, under every guard of a full build, as of today; members and outsiders get 404, and another client's
entries are never found."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from clients.models import AuditEvent
from entries.models import Entry
from refunds.models import Declaration, DeclarationBatch, DeclarationEntry
from refunds.planning import declaration_plan
from tests.refunds.helpers import declarations_of, entry_number, file_bytes, make_entries

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def filer_codes(settings):
    settings.BROKERAGE_FILER_CODES = ["ABC"]


def url(client) -> str:
    return reverse("refunds:build_selected", kwargs={"client_slug": client.slug})


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def ids_of(client, numbers) -> list[int]:
    with scope(client=client):
        return list(Entry.objects.filter(entry_number__in=numbers).values_list("pk", flat=True))


def test_two_of_three_eligible_entries_make_one_draft_with_exactly_those(client, client_a, staff_a):
    make_entries(client_a, 3)
    chosen = [entry_number(0), entry_number(2)]
    client.force_login(staff_a)

    response = client.post(url(client_a), {"entries": chosen, "next_query": "sort=deadline"})

    with scope(client=client_a):
        batch = DeclarationBatch.objects.get()
        assert response.status_code == 302 and response.url == batch.get_absolute_url()
        assert batch.as_of == timezone.localdate() and batch.entry_count == 2
        assert list(
            DeclarationEntry.objects.order_by("entry_number").values_list("entry_number", "status")
        ) == [(n, "pending") for n in chosen]
        event = AuditEvent.objects.get(action="refunds.batch_built")
    (declaration,) = declarations_of(batch)
    assert declaration.status == Declaration.Status.DRAFT
    assert file_bytes(declaration) == b"Entry Number\r\n" + b"".join(n.encode() + b"\r\n" for n in chosen)
    assert event.data["built_from"] == "selected entries" and event.data["selected"] == 2
    assert event.data["entries"] == 2
    assert texts(response)[0].startswith("2 selected entries declared in 1 draft declaration")


def test_entry_ids_are_accepted_too_and_the_plan_counts_only_the_selection(client, client_a, staff_a):
    make_entries(client_a, 3)
    selected = ids_of(client_a, [entry_number(1)])
    with scope(client=client_a):
        plan = declaration_plan(client=client_a, as_of=timezone.localdate(), entry_ids=selected)
        assert [row[1] for row in plan.eligible] == [entry_number(1)] and plan.selected == 1
    client.force_login(staff_a)

    client.post(url(client_a), {"entry_ids": [str(i) for i in selected]})

    with scope(client=client_a):
        assert list(DeclarationEntry.objects.values_list("entry_number", flat=True)) == [entry_number(1)]


def test_a_selected_entry_not_on_a_cape_path_today_is_held_back_and_the_message_says_so(
    client, client_a, staff_a
):
    make_entries(client_a, 1)
    make_entries(client_a, 1, start=50, path="protest")
    make_entries(client_a, 1, start=60)  # eligible, not selected: stays out
    client.force_login(staff_a)

    response = client.post(url(client_a), {"entries": [entry_number(0), entry_number(50)]})

    with scope(client=client_a):
        assert list(DeclarationEntry.objects.values_list("entry_number", flat=True)) == [entry_number(0)]
        batch = DeclarationBatch.objects.get()
    assert response.url == batch.get_absolute_url()
    (message,) = texts(response)
    assert "1 selected entry declared in 1 draft declaration" in message
    assert "1 entry not declared" in message
    assert "1 entry selected is held back: " in message


def test_nothing_eligible_is_an_error_and_back_to_the_entries_page(client, client_a, staff_a):
    make_entries(client_a, 1, path="protest")
    client.force_login(staff_a)

    response = client.post(url(client_a), {"entries": [entry_number(0)], "next_query": "q=abc"})

    assert response.status_code == 302
    assert response.url == reverse("entries:list", kwargs={"client_slug": client_a.slug}) + "?q=abc"
    (message,) = texts(response)
    assert "No selected entry is eligible for a CAPE declaration" in message and "held back" in message
    with scope(client=client_a):
        assert not DeclarationBatch.objects.exists()


def test_no_selection_is_an_error(client, client_a, staff_a):
    client.force_login(staff_a)

    response = client.post(url(client_a), {})

    assert response.status_code == 302
    assert texts(response) == ["Select at least one entry to add to a CAPE declaration."]


def test_client_bs_staff_posting_client_as_entries_to_bs_url_declares_nothing(
    client, client_a, client_b, staff_b
):
    make_entries(client_a, 2)
    a_ids = ids_of(client_a, [entry_number(0), entry_number(1)])
    client.force_login(staff_b)

    response = client.post(
        url(client_b), {"entries": [entry_number(0), entry_number(1)], "entry_ids": [str(i) for i in a_ids]}
    )

    assert response.status_code == 302
    assert response.url.startswith(reverse("entries:list", kwargs={"client_slug": client_b.slug}))
    assert "nothing was declared" in texts(response)[0]
    with scope(client=client_a):
        assert not DeclarationEntry.objects.exists() and not DeclarationBatch.objects.exists()
    with scope(client=client_b):
        assert not DeclarationBatch.objects.exists()


@pytest.mark.parametrize("who", ["member_a", "admin_a", "staff_b", "member_b"])
def test_members_and_outsiders_get_404(client, client_a, request, who):
    make_entries(client_a, 1)
    client.force_login(request.getfixturevalue(who))

    response = client.post(url(client_a), {"entries": [entry_number(0)]})

    assert response.status_code == 404
    with scope(client=client_a):
        assert not DeclarationEntry.objects.exists()


def test_get_is_not_allowed(client, client_a, staff_a):
    client.force_login(staff_a)

    assert client.get(url(client_a)).status_code == 405


def test_the_entries_page_offers_the_action_to_staff_only(client, client_a, staff_a, member_a):
    make_entries(client_a, 1)
    page = reverse("entries:list", kwargs={"client_slug": client_a.slug})
    client.force_login(staff_a)
    assert f'formaction="{url(client_a)}"' in client.get(page).content.decode()
    client.force_login(member_a)
    assert url(client_a) not in client.get(page).content.decode()
