"""The code window's calendar invitation and the deadline feed (RFC 5545), read back with the tests' own
reader (tests/ics.py), which also checks the wire format."""

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.calendar import CalendarDeadline, CalendarPerson, calendar_invitation, deadline_calendar
from tests.ics import parse_ics, unescape_text

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)


def _invitation(**overrides):
    values = {
        "uid": "code-window-123@portal.example",
        "sequence": 0,
        "dtstamp": NOW,
        "starts_at": datetime(2026, 5, 6, 10, 30, tzinfo=UTC) + timedelta(hours=4),
        "ends_at": datetime(2026, 5, 6, 10, 45, tzinfo=UTC) + timedelta(hours=4),
        "summary": "ACE sign-up code window: Ünïcode; Imports, LLC",
        "description": "Line one, with a comma; and a semicolon\nLine two: " + "long text " * 20,
        "organizer": CalendarPerson("Harbor Line Customs Brokerage", "portal@harbor.example"),
        "attendees": [
            CalendarPerson("Pat O'Neil, POC", "pat@alpha.example"),
            CalendarPerson("Sam", "sam@b.example"),
        ],
        "prodid": "-//Harbor Line//Refund portal//EN",
        "url": "https://portal.example/c/alpha/onboarding/#item-form_5106",
    }
    return calendar_invitation(**{**values, **overrides})


def test_calendar_invitation_parses_back_with_every_field():
    calendar = parse_ics(_invitation())
    assert calendar.name == "VCALENDAR"
    assert calendar.get("VERSION") == "2.0"
    assert calendar.get("METHOD") == "REQUEST"
    event = calendar.child("VEVENT")
    assert event.get("UID") == "code-window-123@portal.example"
    assert event.get("DTSTAMP") == "20260504T150000Z"
    assert event.get("DTSTART") == "20260506T143000Z"
    assert event.get("DTEND") == "20260506T144500Z"
    assert unescape_text(event.get("SUMMARY")) == "ACE sign-up code window: Ünïcode; Imports, LLC"
    assert unescape_text(event.get("DESCRIPTION")).startswith(
        "Line one, with a comma; and a semicolon\nLine two:"
    )
    assert event.get("ORGANIZER") == "mailto:portal@harbor.example"
    assert event.all("ATTENDEE") == ["mailto:pat@alpha.example", "mailto:sam@b.example"]
    assert event.params("ATTENDEE")[0]["CN"] == "Pat O'Neil, POC"
    alarm = event.child("VALARM")
    assert alarm.get("TRIGGER") == "-PT15M"
    assert alarm.get("ACTION") == "DISPLAY"


def test_calendar_invitation_folds_long_lines_without_splitting_characters():
    data = _invitation(description="é" * 200)
    assert max(len(line) for line in data.split(b"\r\n")) == 75
    data.decode("utf-8")  # every octet sequence survives folding
    assert unescape_text(parse_ics(data).child("VEVENT").get("DESCRIPTION")) == "é" * 200


def test_calendar_cancellation_keeps_the_uid_and_drops_the_alarm():
    calendar = parse_ics(_invitation(cancel=True, sequence=1))
    event = calendar.child("VEVENT")
    assert calendar.get("METHOD") == "CANCEL"
    assert event.get("STATUS") == "CANCELLED" and event.get("SEQUENCE") == "1"
    assert event.get("UID") == "code-window-123@portal.example"
    assert event.children == []


def test_calendar_invitation_refuses_naive_times():
    with pytest.raises(ValueError):
        _invitation(starts_at=datetime(2026, 5, 6, 10, 30))


def test_deadline_calendar_has_an_all_day_event_with_a_week_alert_per_deadline():
    deadlines = [
        CalendarDeadline(
            uid="deadline-1-ABC00000010-protest_deadline-20261201@portal.example",
            day=date(2026, 12, 1),
            summary="Protest deadline: entry ABC-0000001-0 (Alpha; Imports, LLC)",
            description="Alpha; Imports, LLC, entry ABC-0000001-0: protest deadline on December 1, 2026.",
            url="https://portal.example/c/alpha/entries/ABC00000010/",
        ),
        CalendarDeadline(
            uid="second@portal.example", day=date(2027, 1, 4), summary="Ünïcode " * 12, description=""
        ),
    ]

    calendar = parse_ics(
        deadline_calendar(deadlines, prodid="-//Harbor//Portal//EN", name="Deadlines", dtstamp=NOW)
    )

    assert calendar.get("METHOD") == "PUBLISH" and calendar.get("X-WR-CALNAME") == "Deadlines"
    first, second = (c for c in calendar.children if c.name == "VEVENT")
    assert first.get("DTSTART") == "20261201" and first.params("DTSTART") == [{"VALUE": "DATE"}]
    assert unescape_text(first.get("SUMMARY")) == deadlines[0].summary
    assert first.get("URL") == deadlines[0].url and first.get("DTSTAMP") == "20260504T150000Z"
    assert first.child("VALARM").get("TRIGGER") == "-P7D"
    assert second.all("URL") == [] and unescape_text(second.get("SUMMARY")) == deadlines[1].summary


def test_deadline_calendar_refuses_a_naive_stamp():
    with pytest.raises(ValueError):
        deadline_calendar([], prodid="p", name="n", dtstamp=datetime(2026, 5, 4, 15, 0))
