import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory, staff_user, totp_now, with_totp


def test_staff_without_mfa_is_sent_to_set_it_up(client, db):
    staff = staff_user(mfa=False)
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response.url == reverse("mfa_activate_totp") or client.get(response.url).url == reverse(
        "mfa_activate_totp"
    )
    for url in [reverse("staff:caseload"), reverse("staff:clients"), reverse("home")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    # allauth asks for the password once more before adding an authenticator, then shows the QR code.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = client.post(response.url, {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_activate_totp")
    assert "authenticator" in response.content.decode().lower()


def test_staff_without_mfa_cannot_open_a_client_page(client, client_a):
    from tests.factories import assign

    staff = staff_user(mfa=False)
    assign(client_a, staff)
    client.force_login(staff)
    response = client.get(reverse("clients:overview", kwargs={"client_slug": "client-a"}))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")


def test_staff_login_asks_for_totp_code_then_lets_them_in(client, db):
    staff = staff_user(mfa=False, email="sam@broker.example")
    secret = with_totp(staff)

    response = client.post(reverse("account_login"), {"login": "sam@broker.example", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    assert client.get(reverse("staff:caseload")).status_code == 302  # not logged in yet

    response = client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.get(reverse("staff:caseload")).status_code == 200


def test_staff_login_with_wrong_code_stays_out(client, db):
    staff = staff_user(mfa=False, email="kim@broker.example")
    with_totp(staff)
    client.post(reverse("account_login"), {"login": "kim@broker.example", "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 200
    assert client.get(reverse("staff:caseload")).status_code == 302


def test_client_user_logs_in_without_mfa(client, client_a, member_a):
    response = client.post(
        reverse("account_login"), {"login": member_a.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/c/client-a/"
    assert "Alpha Imports LLC" in response.content.decode()


def test_client_user_may_add_totp_optionally(client, member_a):
    client.post(reverse("account_login"), {"login": member_a.email, "password": PASSWORD})
    response = client.get(reverse("mfa_activate_totp"))
    response = client.post(response.url, {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_activate_totp")
    assert client.get(reverse("clients:overview", kwargs={"client_slug": "client-a"})).status_code == 200


def test_signup_is_closed(client, db):
    response = client.get(reverse("account_signup"))
    assert "closed" in response.content.decode().lower()
    client.post(
        reverse("account_signup"),
        {"email": "walk.in@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    from clients.models import User

    assert not User.objects.filter(email="walk.in@example.com").exists()


def test_password_reset_does_not_reveal_whether_an_email_exists(client, member_a):
    known = client.post(reverse("account_reset_password"), {"email": member_a.email})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert [m.to for m in mail.outbox][0] == [member_a.email]
    # The unknown address gets a note that no account exists, sent to it only (allauth's enumeration guard).
    assert all(member_a.email not in m.body for m in mail.outbox[1:])


def test_unverified_email_cannot_log_in(client, db):
    from allauth.account.models import EmailAddress

    user = UserFactory(email="fresh@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)
    response = client.post(reverse("account_login"), {"login": "fresh@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302 and "_auth_user_id" not in client.session


@pytest.mark.parametrize("url_name", ["staff:caseload", "staff:deadlines", "staff:clients"])
def test_client_users_get_404_on_staff_pages(client, member_a, url_name):
    client.force_login(member_a)
    assert client.get(reverse(url_name)).status_code == 404


def test_admin_site_is_for_staff_only(client, member_a, manager):
    client.force_login(member_a)
    assert client.get("/admin/").status_code == 302
    client.force_login(manager)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/clients/client/").status_code == 200
    assert client.get("/admin/clients/auditevent/").status_code == 200
