"""The protest page's forms: a service's answer comes back on the page, as a message or on the form."""

from django.urls import reverse
from django_scopes import scope

from protests.models import Protest
from tests.protests.helpers import build, protest_entries
from tests.refunds.helpers import entry_number


def _url(client, protest, name: str) -> str:
    return reverse(f"protests:{name}", kwargs={"client_slug": client.slug, "public_id": protest.public_id})


def test_a_saved_description_goes_back_to_the_page_with_a_message(client, client_a, staff_a):
    protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    client.force_login(staff_a)
    response = client.post(
        _url(client_a, protest, "description"), {"merchandise_description": "Laptops and parts"}, follow=True
    )
    assert response.redirect_chain[-1][0] == _url(client_a, protest, "detail")
    assert "Description of the merchandise saved." in response.content.decode()
    with scope(client=client_a):
        assert Protest.objects.get(pk=protest.pk).merchandise_description == "Laptops and parts"


def test_a_refused_change_is_shown_on_the_form_and_changes_nothing(client, client_a, staff_a):
    protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    client.force_login(staff_a)
    with scope(client=client_a):
        before = Protest.objects.get(pk=protest.pk).merchandise_description
    response = client.post(_url(client_a, protest, "description"), {"merchandise_description": "   "})
    assert response.status_code == 200
    assert "Description of the merchandise saved." not in response.content.decode()
    with scope(client=client_a):
        assert Protest.objects.get(pk=protest.pk).merchandise_description == before


def test_an_entry_the_service_refuses_is_named_on_the_page(client, client_a, staff_a):
    protest_entries(client_a, 1)
    (protest,) = build(client_a, staff_a)
    client.force_login(staff_a)
    stranger = entry_number(900)  # a valid number that is not one of the client's entries
    response = client.post(_url(client_a, protest, "entry_add"), {"entry_number": stranger})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Entry {stranger} added." not in page
    assert "invalid-feedback" in page or "alert-danger" in page  # the service's reason, on the form
    with scope(client=client_a):
        assert protest.lines.count() == 1
