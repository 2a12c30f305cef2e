"""Deadline reminders: thresholds, one digest per person per day, idempotence, escalation, preferences."""

from datetime import date, timedelta
from decimal import Decimal
from smtplib import SMTPException

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from clients.models import ReminderDigest, ReminderPreference, SentReminder
from entries.models import Entry, EntryHistory
from entries.reminders import services as reminder_services
from entries.reminders.rules import threshold_for
from entries.reminders.services import reminders_send, threshold_expression
from entries.tasks import send_deadline_reminders
from tests.factories import ClientFactory, member
from tests.ics import parse_ics

D = date(2026, 12, 1)
CAPE = "cape_window_closes"
PROTEST = "protest_deadline"


def _entry(client, number, *, days, kind=CAPE, duty="1000.00", path="cape_phase1", **extra):
    with scope(client=client):
        return Entry.objects.create(
            client=client,
            entry_number=number,
            refund_path=path,
            ieepa_duty=Decimal(duty),
            next_deadline=D + timedelta(days=days),
            next_deadline_kind=kind,
            **extra,
        )


def _emails_to(user):
    return [m for m in mail.outbox if user.email in m.to]


@pytest.mark.parametrize(
    ("days_left", "threshold"),
    [(-1, None), (0, 2), (2, 2), (3, 7), (7, 7), (8, 14), (14, 14), (15, 30), (29, 30), (30, 30), (31, None)],
)
def test_threshold_for_days_left(days_left, threshold):
    assert threshold_for(days_left) == threshold


def test_threshold_in_database_matches_the_rule(client_a):
    for days in range(0, 32):
        _entry(client_a, f"ABC{days:08d}", days=days)
    with scopes_disabled():
        rows = Entry.objects.annotate(t=threshold_expression(D)).values_list("next_deadline", "t")
        computed = {(deadline - D).days: t for deadline, t in rows}
    assert computed == {days: threshold_for(days) for days in range(0, 31)} | {31: None}


def test_reminders_fire_at_30_14_7_and_2_days_only(client_a, admin_a):
    _entry(client_a, "ABC12345676", days=31, duty="2500.00")
    sent_on = []
    for day in range(0, 32):
        before = len(mail.outbox)
        reminders_send(today=D + timedelta(days=day))
        if len(mail.outbox) > before:
            sent_on.append(31 - day)  # days left that day
    assert sent_on == [30, 14, 7, 2]
    assert "$2,500.00" in mail.outbox[0].body and "30 days left" in mail.outbox[0].body


def test_reminders_catch_up_a_day_the_job_missed(client_a, admin_a):
    _entry(client_a, "ABC12345676", days=29)
    reminders_send(today=D)
    assert len(_emails_to(admin_a)) == 1 and "29 days left" in mail.outbox[0].body
    reminders_send(today=D + timedelta(days=1))
    assert len(_emails_to(admin_a)) == 1


def test_reminders_run_twice_send_once(client_a, admin_a):
    _entry(client_a, "ABC12345676", days=7)
    first = reminders_send(today=D)
    second = reminders_send(today=D)
    assert first["sent"] == 1 and second["sent"] == 0
    assert len(mail.outbox) == 1
    with scopes_disabled():
        assert SentReminder.objects.count() == 1


class WorkerDied(BaseException):
    """Stands for the worker process being killed: nothing in the job catches it."""


def test_reminders_crash_mid_run_then_rerun_sends_only_the_rest(db, monkeypatch):
    people = []
    for n in range(3):
        c = ClientFactory()
        people.append(member(c, role="client_admin"))
        _entry(c, f"ABC1234567{n}", days=2)
    real_send = reminder_services.send_templated
    calls = {"n": 0}

    def dies_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerDied
        real_send(*args, **kwargs)

    monkeypatch.setattr(reminder_services, "send_templated", dies_on_second)
    with pytest.raises(WorkerDied):
        reminders_send(today=D)
    assert len(mail.outbox) == 1
    monkeypatch.setattr(reminder_services, "send_templated", real_send)

    reminders_send(today=D)
    reminders_send(today=D)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    assert ReminderDigest.objects.count() == 3


def test_reminders_failed_send_is_retried_next_run(client_a, admin_a, monkeypatch):
    _entry(client_a, "ABC12345676", days=7)

    def refused(*args, **kwargs):
        raise SMTPException("421 try later")

    monkeypatch.setattr(reminder_services, "send_templated", refused)
    assert reminders_send(today=D)["failed"] == 1
    assert not ReminderDigest.objects.exists()
    monkeypatch.undo()

    assert reminders_send(today=D)["sent"] == 1
    assert len(_emails_to(admin_a)) == 1


def test_reminder_task_retries_when_a_send_fails(client_a, admin_a, monkeypatch):
    _entry(client_a, "ABC12345676", days=7)
    outcomes = iter([SMTPException("421"), None])

    real_send = reminder_services.send_templated

    def flaky(*args, **kwargs):
        error = next(outcomes)
        if error:
            raise error
        real_send(*args, **kwargs)

    monkeypatch.setattr(reminder_services, "send_templated", flaky)
    with pytest.raises(Retry):  # the task asks Celery to run it again later
        send_deadline_reminders.apply(kwargs={"as_of": D.isoformat()})
    assert _emails_to(admin_a) == []

    assert send_deadline_reminders.apply(kwargs={"as_of": D.isoformat()}).get()["sent"] == 1  # the retry
    assert len(_emails_to(admin_a)) == 1


def test_reminders_one_digest_per_recipient_across_clients(client_a, client_b, admin_a):
    member(client_b, user=admin_a, role="client_admin")
    for n in range(3):
        _entry(client_a, f"AAA1234567{n}", days=2 + n, duty=f"{n + 1}00.00")
        _entry(client_b, f"BBB1234567{n}", days=10 + n, kind=PROTEST, path="protest")
    reminders_send(today=D)

    [digest] = _emails_to(admin_a)
    assert len(mail.outbox) == 1
    html = digest.alternatives[0][0]
    for text in (digest.body, html):
        assert "Alpha Imports LLC" in text and "Bravo Trading Inc." in text
        assert all(f"AAA1234567{n}" in text and f"BBB1234567{n}" in text for n in range(3))
    assert "$300.00" in digest.body and "protest deadline on Dec 11, 2026" in digest.body
    assert (
        reverse("entries:detail", kwargs={"client_slug": "client-a", "entry_number": "AAA12345670"}) in html
    )
    assert "2 clients" in digest.subject


def test_reminders_escalate_to_assigned_staff_seven_days_before(client_a, admin_a, staff_a, staff_b):
    _entry(client_a, "ABC12345676", days=10)
    reminders_send(today=D)
    assert _emails_to(admin_a) and not _emails_to(staff_a)

    reminders_send(today=D + timedelta(days=3))  # 7 days left and the client has not acted
    [escalation] = _emails_to(staff_a)
    assert "the client has not acted yet" in escalation.body and "ABC-1234567-6" in escalation.body
    assert not _emails_to(staff_b)


def test_reminders_skip_entries_the_client_acted_on(client_a, admin_a, staff_a):
    _entry(client_a, "ABC12345676", days=7, kind=PROTEST, path="protest", marked_protest=True)
    reminders_send(today=D)
    assert mail.outbox == []


def test_reminder_preferences_cannot_switch_off_critical_reminders(client_a, admin_a):
    ReminderPreference.objects.create(user=admin_a, early_reminders=False)
    _entry(client_a, "ABC12345676", days=14)
    reminders_send(today=D)
    assert mail.outbox == []
    reminders_send(today=D + timedelta(days=7))
    assert len(_emails_to(admin_a)) == 1 and "7 days left" in mail.outbox[0].body


def test_reminder_preferences_page_saves_and_shows_critical_as_fixed(client, admin_a):
    client.force_login(admin_a)
    url = reverse("reminder_preferences")
    page = client.get(url).content.decode()
    assert "cannot be switched off" in page
    response = client.post(url, {"path_changes": "on"})
    assert response.status_code == 302
    preference = ReminderPreference.objects.get(user=admin_a)
    assert (preference.early_reminders, preference.path_changes, preference.fileable_notices) == (
        False,
        True,
        False,
    )


def test_reminder_preferences_page_requires_login(client):
    response = client.get(reverse("reminder_preferences"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_reminders_notice_when_entries_become_fileable(client_a, admin_a, member_a):
    ReminderPreference.objects.create(user=member_a, fileable_notices=False)
    entry = _entry(client_a, "ABC12345676", days=200, path="cape_phase1", duty="4200.00")
    with scope(client=client_a):
        EntryHistory.objects.create(
            client=client_a,
            entry=entry,
            field="refund_path",
            from_value="needs_data",
            to_value="cape_phase1",
            effective_on=D,
        )
    reminders_send(today=D)
    [notice] = _emails_to(admin_a)
    assert (
        "can now be filed through CAPE (Needs liquidation data → CAPE Phase 1)" in notice.body
        and "$4,200.00" in notice.body
    )
    assert not _emails_to(member_a)
    reminders_send(today=D + timedelta(days=1))
    assert len(_emails_to(admin_a)) == 1


def test_reminders_tell_when_an_entry_leaves_the_cape_window(client_a, admin_a):
    entry = _entry(client_a, "ABC12345676", days=100, kind=PROTEST, path="protest")
    with scope(client=client_a):
        EntryHistory.objects.create(
            client=client_a,
            entry=entry,
            field="refund_path",
            from_value="cape_phase1",
            to_value="protest",
            effective_on=D,
        )
    reminders_send(today=D)
    assert "refund path changed (CAPE Phase 1 → Protest)" in _emails_to(admin_a)[0].body


def test_reminder_email_attaches_the_nearest_deadline_as_ics(client_a, admin_a):
    _entry(client_a, "ABC12345684", days=12)
    _entry(client_a, "ABC12345676", days=5)
    reminders_send(today=D)
    [message] = mail.outbox
    [(name, content, mimetype)] = message.attachments
    assert name == "deadline.ics" and mimetype == "text/calendar"
    calendar = parse_ics(content.encode() if isinstance(content, str) else content)
    event = calendar.child("VEVENT")
    assert event.get("DTSTART") == "20261206"
    assert event.params("DTSTART") == [{"VALUE": "DATE"}]
    assert "ABC-1234567-6" in event.get("SUMMARY") and "Alpha Imports LLC" in event.get("SUMMARY")
    assert event.child("VALARM").get("TRIGGER") == "-P7D"


def test_reminders_ignore_deactivated_clients_and_far_deadlines(client_a, admin_a):
    _entry(client_a, "ABC12345676", days=45)
    inactive = ClientFactory(is_active=False)
    member(inactive, role="client_admin")
    _entry(inactive, "ABC12345684", days=2)
    assert reminders_send(today=D)["recipients"] == 0
    assert mail.outbox == []


def test_reminder_scan_query_count_does_not_grow_with_entries(client_a, admin_a, staff_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(day_offset, n):
        for i in range(n):
            _entry(client_a, f"Q{day_offset:02d}{i:08d}", days=day_offset + 2)
        with CaptureQueriesContext(connection) as queries:
            reminders_send(today=D + timedelta(days=day_offset))
        return len(queries)

    assert queries_for(0, 1) == queries_for(1, 40)
    assert len(_emails_to(admin_a)) == 2 and len(_emails_to(staff_a)) == 2


def test_reminder_digest_lists_the_nearest_and_counts_the_rest(client_a, admin_a, monkeypatch):
    monkeypatch.setattr(reminder_services, "DIGEST_ITEMS_PER_CLIENT", 3)
    for n in range(5):
        _entry(client_a, f"ABC1234567{n}", days=2 + n)
    reminders_send(today=D)
    [message] = mail.outbox
    assert all(f"ABC-1234567-{n}" in message.body for n in range(3))
    assert "ABC-1234567-4" not in message.body and "… and 2 more" in message.body
    with scopes_disabled():
        assert SentReminder.objects.count() == 5  # counted in the email, so not repeated tomorrow
