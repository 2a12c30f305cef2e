"""Security properties a user (or an attacker) can observe: headers, no inline script, rate limits, logs."""

import re

import pytest
from django.urls import reverse

from tests.entries.helpers import upload
from tests.factories import PASSWORD, UserFactory, member
from tests.html_tree import INLINE_HANDLER, INLINE_SCRIPT

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


def test_wrong_two_factor_codes_are_slowed_down_and_logged(client, db, settings, caplog):
    from django.core.cache import cache

    from tests.factories import staff_user, totp_now, with_totp

    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
    cache.clear()
    staff = staff_user(mfa=False, email="kim@broker.example")
    secret = with_totp(staff)
    client.post(reverse("account_login"), {"login": "kim@broker.example", "password": PASSWORD})
    right = totp_now(secret)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"  # far from the codes of the neighbouring 30 s steps

    with caplog.at_level("WARNING", logger="portal.security"):
        for _ in range(5):
            assert client.post(reverse("mfa_authenticate"), {"code": wrong}).status_code == 200
        blocked = client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})

    assert "Too many failed login attempts" in blocked.content.decode()
    assert client.get(reverse("staff:caseload")).status_code == 302  # even the right code waits
    logged = [r.getMessage() for r in caplog.records if r.name == "portal.security"]
    assert sum("Failed two-factor code for kim@broker.example" in m for m in logged) == 5
    assert all(wrong not in m and right not in m for m in logged)


def test_logins_from_one_address_over_many_accounts_are_slowed_down(client, db, settings):
    from django.core.cache import cache

    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
    cache.clear()
    target = UserFactory(email="target@example.com")
    for n in range(10):  # password spraying: one guess per account, all from one address
        client.post(reverse("account_login"), {"login": f"user{n}@example.com", "password": "Summer2026!"})
    blocked = client.post(reverse("account_login"), {"login": target.email, "password": PASSWORD})
    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_session_is_logged_out(client, db):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from tests.factories import ClientFactory

    company = ClientFactory(slug="expiring")
    client.force_login(member(company))
    url = reverse("clients:overview", kwargs={"client_slug": "expiring"})
    assert client.get(url).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get(url)

    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_password_reset_pages_look_the_same_for_known_and_unknown_addresses(client, db):
    known_user = UserFactory(email="known@example.com")
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    pages = []
    for email in (known_user.email, "unknown@example.com"):
        response = client.post(reverse("account_reset_password"), {"email": email}, follow=True)
        pages.append(token.sub(b"", response.content).replace(email.encode(), b"EMAIL"))
    assert pages[0] == pages[1]


# The production settings, in a process of their own (settings are read once, at start).
_PRODUCTION_PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory

call_command("migrate", "sessions", verbosity=0)
web = Client()
plain = web.get("/accounts/login/")
secure = web.get("/accounts/login/", secure=True)
forwarded = web.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
request = RequestFactory().get("/", secure=True)
def view(request):
    request.session["seen"] = True
    return HttpResponse("ok")
session = SessionMiddleware(view)(request)
def cookie(response, name):
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}
print(json.dumps({
    "http_status": plain.status_code, "http_location": plain.get("Location", ""),
    "status": secure.status_code, "forwarded_https_status": forwarded.status_code,
    "headers": {k: secure.get(k, "") for k in ("Strict-Transport-Security", "Content-Security-Policy",
        "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")},
    "csrf_cookie": cookie(secure, settings.CSRF_COOKIE_NAME),
    "session_cookie": cookie(session, settings.SESSION_COOKIE_NAME),
    "session_age": settings.SESSION_COOKIE_AGE, "at_browser_close": settings.SESSION_EXPIRE_AT_BROWSER_CLOSE,
    "secret_is_the_environments": settings.SECRET_KEY == __import__("os").environ["SECRET_KEY"],
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    return _production_probe(tmp_path_factory)


def _production_probe(tmp_path_factory, **extra):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    drop = (
        "SECRET_KEY",
        "MFA_ENCRYPTION_KEY",
        "BEHIND_PROXY",
        "DEBUG",
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        DJANGO_SETTINGS_MODULE="brokerage.settings",
        DEBUG="false",
        SECRET_KEY="prod-like-" + "k" * 50,
        MFA_ENCRYPTION_KEY="prod-like-mfa-" + "m" * 40,
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('prod') / 'db.sqlite3'}",
        PRIVATE_STORAGE_ROOT=str(tmp_path_factory.mktemp("private")),
        **extra,
    )
    root = Path(__file__).resolve().parent.parent
    # Production serves hashed static files from a manifest, as the Docker image builds it.
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    run = subprocess.run(
        [sys.executable, "-c", _PRODUCTION_PROBE],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_to_https(production):
    assert production["http_status"] == 301
    assert production["http_location"].startswith("https://")


def test_production_ignores_x_forwarded_proto_unless_behind_a_proxy(production, tmp_path_factory):
    # Anyone can send X-Forwarded-Proto: https; on its own it must not pass for HTTPS (issue 14, point 9).
    assert production["forwarded_https_status"] == 301
    behind_proxy = _production_probe(tmp_path_factory, BEHIND_PROXY="true")
    assert behind_proxy["forwarded_https_status"] == 200
    assert behind_proxy["http_status"] == 301  # without the proxy's header it is still plain HTTP


def test_production_headers(production):
    headers = production["headers"]
    assert production["status"] == 200
    hsts = headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts and "preload" in hsts
    policy = headers["Content-Security-Policy"]
    script = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_production_cookies_are_secure_and_http_only(production):
    assert production["session_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert production["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert production["session_age"] <= 12 * 60 * 60 and production["at_browser_close"] is True


def test_production_secret_comes_from_the_environment(production):
    assert production["secret_is_the_environments"] is True


def test_settings_hold_no_literal_secret():
    """Every secret-like setting is read from the environment; the one literal is the development key,
    reachable only when DEBUG is true (production refuses to start without SECRET_KEY: test_infrastructure)."""
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "brokerage" / "settings.py").read_text()
    secretish = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|API_KEY|CREDENTIAL", re.I)
    literals = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and secretish.search(target.id):
                    if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                        literals.append((target.id, node.value.value))
    assert literals == [("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")]
    assert 'raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")' in source
    # Nothing that looks like a real credential anywhere in the settings text.
    for pattern in (
        r"-----BEGIN [A-Z ]*PRIVATE KEY",
        r"AKIA[0-9A-Z]{16}",
        r"sk_live_",
        r"://[^:/\s]+:[^@/\s]+@",
    ):
        assert not re.search(pattern, source), pattern
