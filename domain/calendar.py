"""iCalendar (RFC 5545) text: the one line writer (escaping, UTC times, folding at 75 octets) and the two
calendars the portal sends: the Form 5106 code window's invitation (onboarding) and the deadline feed
(reminders; the private feed and the "add to calendar" file). Pure: values in, bytes out.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

ALARM_MINUTES_BEFORE = 15  # the code window invitation's own alert (VALARM)
DEADLINE_ALARM_DAYS = 7  # a deadline's alert, a week before (when the assigned staff would hear of it)


@dataclass(frozen=True)
class CalendarPerson:
    name: str
    email: str


def calendar_invitation(
    *,
    uid: str,
    sequence: int,
    dtstamp: datetime,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str,
    organizer: CalendarPerson,
    attendees: Sequence[CalendarPerson],
    prodid: str,
    url: str = "",
    cancel: bool = False,
    alarm_minutes_before: int = ALARM_MINUTES_BEFORE,
) -> bytes:
    """An iCalendar (RFC 5545) invitation with one event, its times in UTC, CRLF line ends, folded lines."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_text(prodid)}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancel else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_utc(dtstamp)}",
        f"DTSTART:{_utc(starts_at)}",
        f"DTEND:{_utc(ends_at)}",
        f"SEQUENCE:{sequence}",
        f"STATUS:{'CANCELLED' if cancel else 'CONFIRMED'}",
        f"SUMMARY:{_text(summary)}",
        f"DESCRIPTION:{_text(description)}",
    ]
    if url:
        lines.append(f"URL:{url}")
    lines.append(f"ORGANIZER;CN={_param(organizer.name)}:mailto:{organizer.email}")
    for person in attendees:
        lines.append(
            f"ATTENDEE;CN={_param(person.name)};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE"
            f":mailto:{person.email}"
        )
    if not cancel:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{_text(summary)}",
            f"TRIGGER:-PT{alarm_minutes_before}M",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return b"".join(_fold(line) + b"\r\n" for line in lines)


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _param(value: str) -> str:
    """A parameter value: quoted when it holds : ; or , (a double quote cannot appear at all)."""
    value = "".join(ch for ch in value if ch >= " " and ch != '"')
    return f'"{value}"' if any(ch in value for ch in ":;,") else value


def _fold(line: str) -> bytes:
    """Fold a content line into chunks of at most 75 octets, never splitting a UTF-8 character."""
    data = line.encode()
    chunks, start, limit = [], 0, 75
    while len(data) - start > limit:
        end = start + limit
        while end > start and (data[end] & 0xC0) == 0x80:  # a continuation byte: back up to its start
            end -= 1
        chunks.append(data[start:end])
        start, limit = end, 74  # continuation lines start with one space
    chunks.append(data[start:])
    return b"\r\n ".join(chunks)


@dataclass(frozen=True)
class CalendarDeadline:
    uid: str
    day: date
    summary: str
    description: str
    url: str = ""


def deadline_calendar(
    deadlines: Iterable[CalendarDeadline], *, prodid: str, name: str, dtstamp: datetime
) -> bytes:
    """An iCalendar (RFC 5545) feed of all-day deadline events, each with an alert a week before."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_text(prodid)}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(name)}",
    ]
    stamp = _utc(dtstamp)
    for item in deadlines:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{item.day:%Y%m%d}",
            f"SUMMARY:{_text(item.summary)}",
            f"DESCRIPTION:{_text(item.description)}",
            *([f"URL:{item.url}"] if item.url else []),
            "TRANSP:TRANSPARENT",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{_text(item.summary)}",
            f"TRIGGER:-P{DEADLINE_ALARM_DAYS}D",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return b"".join(_fold(line) + b"\r\n" for line in lines)
