import re

import pytest
from django.core import mail
from django.urls import reverse
from django_scopes import scope

from clients.models import AuditEvent, Invitation, Membership, User
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks


def _invite(client, actor, email="ines@alpha.example", role="client_admin"):
    client.force_login(actor)
    with _capture(execute=True):  # the email goes out when the invitation's transaction commits
        return client.post(
            reverse("clients:team", kwargs={"client_slug": "client-a"}), {"email": email, "role": role}
        )


def _link_from_last_email() -> str:
    body = mail.outbox[-1].body
    return re.search(r"https?://\S+/invite/\S+/", body).group(0)


def test_invitation_from_staff_to_logged_in_member_end_to_end(client, client_a, staff_a):
    response = _invite(client, staff_a)
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["ines@alpha.example"]
    assert "Alpha Imports LLC" in mail.outbox[-1].subject
    assert mail.outbox[-1].alternatives  # an HTML part too
    path = _link_from_last_email().split("testserver", 1)[-1].split("127.0.0.1:8000", 1)[-1]

    client.logout()
    page = client.get(path)
    assert page.status_code == 200 and "ines@alpha.example" in page.content.decode()
    response = client.post(path, {"full_name": "Ines Alvarez", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response.url == "/c/client-a/"

    assert client.get("/c/client-a/").status_code == 200  # logged in, and a member
    user = User.objects.get(email="ines@alpha.example")
    with scope(client=client_a):
        assert Membership.objects.get(user=user).role == "client_admin"
        assert AuditEvent.objects.filter(action="client.member_joined", actor=user).exists()

    # Log out and back in with the new password: the address counts as verified.
    client.logout()
    response = client.post(reverse("account_login"), {"login": "ines@alpha.example", "password": PASSWORD})
    assert response.status_code == 302 and client.get("/c/client-a/").status_code == 200


def test_invitation_link_works_once(client, client_a, admin_a):
    _invite(client, admin_a, role="client_member")
    path = "/invite/" + _link_from_last_email().rstrip("/").rsplit("/", 1)[-1] + "/"
    client.logout()
    client.post(path, {"full_name": "Jo", "password1": PASSWORD, "password2": PASSWORD})
    client.logout()
    again = client.get(path)
    assert again.status_code == 404 and "not valid" in again.content.decode()


def test_invitation_with_wrong_token_is_404(client, db):
    assert client.get("/invite/not-a-real-token/").status_code == 404


def test_revoked_invitation_cannot_be_used(client, client_a, admin_a):
    _invite(client, admin_a)
    path = "/invite/" + _link_from_last_email().rstrip("/").rsplit("/", 1)[-1] + "/"
    with scope(client=client_a):
        invitation = Invitation.objects.get()
    client.post(
        reverse(
            "clients:invitation_revoke", kwargs={"client_slug": "client-a", "invitation_id": invitation.pk}
        )
    )
    client.logout()
    assert client.get(path).status_code == 404


def test_existing_user_of_another_client_joins_a_sister_company(
    client, client_a, client_b, admin_a, member_b
):
    _invite(client, admin_a, email=member_b.email, role="client_member")
    path = "/invite/" + _link_from_last_email().rstrip("/").rsplit("/", 1)[-1] + "/"
    client.force_login(member_b)
    assert "Accept the invitation" in client.get(path).content.decode()
    response = client.post(path)
    assert response.url == "/c/client-a/"
    assert client.get("/c/client-a/").status_code == 200
    assert client.get("/c/client-b/").status_code == 200
    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == reverse("choose_client")
    assert "Alpha Imports LLC" in home.content.decode() and "Bravo Trading Inc." in home.content.decode()


def test_new_account_for_existing_email_is_refused(client, client_a, admin_a):
    UserFactory(email="taken@alpha.example")
    _invite(client, admin_a, email="taken@alpha.example")
    path = "/invite/" + _link_from_last_email().rstrip("/").rsplit("/", 1)[-1] + "/"
    client.logout()
    response = client.post(path, {"full_name": "X", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert "log in first" in response.content.decode()


def test_weak_password_is_refused_with_the_reason_next_to_the_field(client, client_a, admin_a):
    _invite(client, admin_a)
    path = "/invite/" + _link_from_last_email().rstrip("/").rsplit("/", 1)[-1] + "/"
    client.logout()
    response = client.post(path, {"full_name": "Ines", "password1": "12345", "password2": "12345"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_password1_error"' in html and "too short" in html
    assert not User.objects.filter(email="ines@alpha.example").exists()


def test_members_cannot_invite(client, client_a, member_a):
    response = _invite(client, member_a)
    assert response.status_code == 404
    assert mail.outbox == []


def test_client_admin_invites_a_colleague(client, client_a, admin_a):
    response = _invite(client, admin_a, role="client_member")
    assert response.status_code == 302
    with scope(client=client_a):
        event = AuditEvent.objects.get(action="client.member_invited")
    assert event.actor == admin_a and event.data == {"email": "ines@alpha.example", "role": "client_member"}


@pytest.mark.parametrize("email", ["not-an-email", ""])
def test_invitation_form_shows_errors_next_to_the_field(client, client_a, admin_a, email):
    response = _invite(client, admin_a, email=email)
    assert response.status_code == 200
    assert 'id="id_email_error"' in response.content.decode()


def test_last_admin_cannot_be_removed(client, client_a, admin_a):
    client.force_login(admin_a)
    with scope(client=client_a):
        membership = Membership.objects.get(user=admin_a)
    response = client.post(
        reverse("clients:member_update", kwargs={"client_slug": "client-a", "membership_id": membership.pk}),
        {"action": "remove"},
        follow=True,
    )
    assert "at least one client admin" in response.content.decode()
    with scope(client=client_a):
        assert Membership.objects.filter(user=admin_a).exists()
