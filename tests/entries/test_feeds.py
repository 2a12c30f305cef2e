"""The private ICS feed: /feeds/<token>.ics, parsed back; wrong, revoked and replaced tokens get 404."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from entries.models import Entry
from tests.ics import parse_ics, unescape_text


def _entry(client, number, *, days, kind="cape_window_closes"):
    with scope(client=client):
        return Entry.objects.create(
            client=client,
            entry_number=number,
            refund_path="cape_phase1",
            ieepa_duty=Decimal("100"),
            next_deadline=timezone.localdate() + timedelta(days=days),
            next_deadline_kind=kind,
        )


def _create_feed(web, user) -> str:
    web.force_login(user)
    response = web.post(reverse("calendar_feed_create"))
    assert response.status_code == 302
    page = web.get(response.url).content.decode()
    url = re.search(r'id="feed-url" readonly value="([^"]+)"', page).group(1)
    assert "shown once" in page
    assert 'id="feed-url"' not in web.get(reverse("reminder_preferences")).content.decode()  # only once
    web.logout()
    return url.split("http://testserver")[-1].replace("http://127.0.0.1:8000", "")


def test_feed_lists_the_users_deadlines_and_nothing_else(client, client_a, client_b, member_a):
    _entry(client_a, "ABC12345676", days=20)
    _entry(client_a, "ABC12345684", days=100, kind="protest_deadline")
    _entry(client_a, "ABC12345692", days=10, kind="projected_liquidation")  # not a deadline to remind of
    _entry(client_b, "BBB12345676", days=5)
    url = _create_feed(client, member_a)

    response = client.get(url)  # no login: calendar apps cannot log in
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = parse_ics(response.content)
    assert calendar.name == "VCALENDAR" and calendar.get("VERSION") == "2.0"
    events = [c for c in calendar.children if c.name == "VEVENT"]
    summaries = [unescape_text(e.get("SUMMARY")) for e in events]
    assert len(events) == 2
    assert "ABC-1234567-6" in summaries[0] and "CAPE window closes" in summaries[0]
    assert "ABC-1234568-4" in summaries[1] and "Protest deadline" in summaries[1]
    assert all("Alpha Imports LLC" in s for s in summaries)
    first_day = (timezone.localdate() + timedelta(days=20)).strftime("%Y%m%d")
    assert events[0].get("DTSTART") == first_day and events[0].params("DTSTART") == [{"VALUE": "DATE"}]
    assert len({e.get("UID") for e in events}) == 2
    assert "/c/client-a/entries/" in events[0].get("URL")


def test_feed_for_staff_follows_their_caseload(client, client_a, client_b, staff_a):
    _entry(client_a, "ABC12345676", days=20)
    _entry(client_b, "BBB12345676", days=20)
    calendar = parse_ics(client.get(_create_feed(client, staff_a)).content)
    [event] = [c for c in calendar.children if c.name == "VEVENT"]
    assert "ABC-1234567-6" in event.get("SUMMARY")


@pytest.mark.parametrize("token", ["nope", "x" * 43])
def test_feed_wrong_token_gets_404(client, db, token):
    assert client.get(reverse("calendar_feed", kwargs={"token": token})).status_code == 404


def test_feed_revoked_token_gets_404(client, member_a):
    url = _create_feed(client, member_a)
    assert client.get(url).status_code == 200
    client.force_login(member_a)
    client.post(reverse("calendar_feed_revoke"))
    client.logout()
    assert client.get(url).status_code == 404


def test_feed_new_address_retires_the_old_one(client, member_a):
    old = _create_feed(client, member_a)
    new = _create_feed(client, member_a)
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_feed_of_a_deactivated_user_gets_404(client, member_a):
    url = _create_feed(client, member_a)
    member_a.is_active = False
    member_a.save()
    assert client.get(url).status_code == 404


def test_feed_token_is_not_stored(client, member_a):
    from clients.models import CalendarFeed

    url = _create_feed(client, member_a)
    token = url.rsplit("/", 1)[-1].removesuffix(".ics")
    assert not CalendarFeed.objects.filter(token_hash=token).exists()
    assert CalendarFeed.objects.filter(token_hash=CalendarFeed.hash_token(token)).exists()
