"""No full bank account number anywhere: a client admin types one (plain, spaced, dashed) into every field
of the onboarding page's ACH form, then saves the ACH details the right way (last four digits only); staff
verify the item and the daily onboarding digests go out. Then every text column of every table, every
log record, every email sent (subject, bodies, attachments), every private file on disk and every page
served is searched for the number: it is nowhere.
"""

import logging
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from clients.models import OnboardingProfile
from clients.onboarding.digests import stale_digests_send
from tests.security.helpers import database_text


def _url(name, client, **kwargs):
    return reverse(f"clients:{name}", kwargs={"client_slug": client.slug, **kwargs})


def _mail_text() -> str:
    chunks = []
    for message in mail.outbox:
        chunks += [message.subject, message.body, " ".join(message.to)]
        chunks += [content for content, _ in getattr(message, "alternatives", [])]
        for attachment in message.attachments:
            content = attachment[1] if isinstance(attachment, tuple) else attachment.get_payload()
            chunks.append(content.decode("latin-1") if isinstance(content, bytes) else str(content))
    return "\n".join(chunks)


def _files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def _forms(account: str) -> list[str]:
    """The number as a person might type it."""
    spaced = " ".join(account[i : i + 4] for i in range(0, len(account), 4))
    dashed = "-".join(account[i : i + 4] for i in range(0, len(account), 4))
    return [account, spaced, dashed]


def _pieces(account: str, width: int = 10) -> list[str]:
    return [account[i : i + width] for i in range(len(account) - width + 1)]


@pytest.fixture
def account(db) -> str:
    rng = random.Random()
    before = database_text()
    while True:
        number = "".join(rng.choice("0123456789") for _ in range(14))
        if not any(piece in before for piece in _pieces(number)):
            return number


def test_full_account_number_is_nowhere_after_onboarding(
    client, client_a, admin_a, staff_a, caplog, settings, account
):
    caplog.set_level(logging.DEBUG)
    # Every SQL statement with its parameters goes to the log too: nothing may even pass through a query.
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    pages = []
    client.force_login(admin_a)
    client.post(
        _url("onboarding_5106", client_a),
        {"company_name_5106": "Alpha Imports LLC", "poc_name": "Pat Doe", "poc_email": "pat@alpha.example"},
    )
    valid = {"bank_name": "First Harbor Bank", "routing_number": "021000021", "status": "submitted"}

    for typed in _forms(account):
        for field in ("account_last_four", "routing_number", "bank_name"):
            data = {**valid, "account_last_four": account[-4:]}
            data[field] = f"First Harbor Bank {typed}" if field == "bank_name" else typed
            response = client.post(_url("onboarding_ach", client_a), data)
            assert response.status_code == 200, f"the form accepted {typed!r} in {field}"
            pages.append(response.content.decode())
    with scope(client=client_a):
        assert OnboardingProfile.objects.get(client=client_a).account_last_four == ""

    response = client.post(_url("onboarding_ach", client_a), {**valid, "account_last_four": account[-4:]})
    assert response.status_code == 302
    pages.append(client.get(_url("onboarding", client_a)).content.decode())
    with scope(client=client_a):
        assert OnboardingProfile.objects.get(client=client_a).account_last_four == account[-4:]

    client.force_login(staff_a)
    client.post(_url("onboarding_item_verify", client_a, key="ach_enrollment"), {"note": "Checked in ACE"})
    pages.append(client.get(_url("onboarding", client_a)).content.decode())
    pages.append(client.get(reverse("staff:onboarding")).content.decode())
    stale_digests_send(now=timezone.now() + timedelta(days=30))
    connection.force_debug_cursor = False

    places = {
        "the database": database_text(),
        "the logs": "\n".join(
            r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
            for r in caplog.records
        ),
        "the emails": _mail_text(),
        "the private files": _files_text(Path(settings.PRIVATE_STORAGE_ROOT)),
        "the pages": "\n".join(pages),
    }
    assert caplog.records and mail.outbox and places["the database"], "an empty place proves nothing"
    for where, text in places.items():
        for form in _forms(account):
            assert form not in text, f"the full account number is in {where}"
        for piece in _pieces(account):
            assert piece not in text, f"ten digits of the account number ({piece}) are in {where}"
    assert account[-4:] in places["the database"]  # the last four are kept, as the rule allows
