"""Security properties a user (or an attacker) can observe: headers, no inline script, rate limits, logs."""

import re

import pytest
from django.urls import reverse

from tests.entries.helpers import upload
from tests.factories import PASSWORD, UserFactory, member

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=\"", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle=\"", re.I)


def test_pages_carry_a_csp_without_inline_script(client, db):
    response = client.get(reverse("account_login"))
    policy = response["Content-Security-Policy"]
    script = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "page",
    [
        "clients:overview",
        "clients:onboarding",
        "clients:team",
        "clients:profile",
        "entries:reports",
        "entries:list",
    ],
)
def test_portal_pages_have_no_inline_script_handler_or_style(client, importer, page):
    upload(importer, "es003_basic.csv")
    client.force_login(member(importer, role="client_admin"))
    html = client.get(reverse(page, kwargs={"client_slug": "importer"})).content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTRIBUTE.search(html)


def test_login_page_has_no_inline_script(client, db):
    html = client.get(reverse("account_login")).content.decode()
    assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html)


def test_failed_logins_are_logged_without_the_password(client, db, caplog):
    UserFactory(email="target@example.com")
    with caplog.at_level("WARNING", logger="portal.security"):
        client.post(reverse("account_login"), {"login": "target@example.com", "password": "wrong-guess-123"})
    messages = [r.getMessage() for r in caplog.records if r.name == "portal.security"]
    assert any("Failed login for target@example.com" in m for m in messages)
    assert all("wrong-guess-123" not in m for m in messages)


def test_repeated_failed_logins_are_slowed_down(client, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
    UserFactory(email="target@example.com")
    for _ in range(5):
        client.post(reverse("account_login"), {"login": "target@example.com", "password": "wrong"})
    blocked = client.post(reverse("account_login"), {"login": "target@example.com", "password": PASSWORD})
    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session  # even the right password waits


def test_sessions_expire(settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
