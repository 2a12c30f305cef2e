"""Browser tests: Playwright driving Debian's Chromium against a live server on the test database.

Playwright's own browser download does not work on these machines, so the system Chromium is launched
by its path (CHROMIUM_PATH, default /usr/bin/chromium). Screenshots of the key pages go to
test-artifacts/screenshots/ (not committed) for a reviewer to look at.
"""

import os
import re
import shutil
import time
from pathlib import Path

import pyotp
import pytest

from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Flags for a headless root session on a machine with no network beyond loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def chromium():
    reason = _missing()
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while the browser lives; the
    # tests' own ORM calls are still synchronous, so Django's async-safety guard is lifted meanwhile.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server, settings):
    settings.SITE_URL = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.base = live_server.url
    page.console_errors = errors
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, email: str, password: str | None = None, totp_secret: str | None = None) -> None:
    """Log in through the allauth pages, with a TOTP code computed from the secret when MFA is on."""
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password or PASSWORD)
    page.click("main button[type=submit]")
    if totp_secret:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        # The server accepts only the current 30-second window's code: never send one about to expire.
        left = 30 - time.time() % 30
        if left < 3:
            time.sleep(left + 0.1)
        page.fill("input[name=code]", pyotp.TOTP(totp_secret).now())
        page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url and "/2fa/authenticate/" not in page.url, (
        f"{email} not logged in"
    )


@pytest.fixture
def new_page(page):
    """Opens another browser context (its own cookies) on the same live server: another person at their desk."""
    contexts = []

    def open_page():
        context = page.context.browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        contexts.append(context)
        person = context.new_page()
        person.set_default_timeout(20_000)
        person.base = page.base
        person.console_errors = []
        person.on("console", lambda m: person.console_errors.append(m.text) if m.type == "error" else None)
        return person

    yield open_page
    for context in contexts:
        context.close()
