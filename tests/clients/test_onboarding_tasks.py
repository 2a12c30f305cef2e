"""Onboarding's periodic tasks: the code-window reminder and the daily digest of stale items."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scope

from clients.models import AuditEvent, ChecklistItem, CodeWindow, OnboardingDigest, OnboardingProfile
from clients.onboarding import ach, code_window
from clients.onboarding.tasks import send_due_code_window_reminders, send_stale_onboarding_digests
from tests.conftest import wait_for
from tests.factories import ClientFactory, assign, member


def _confirmed_window(client_obj, admin, staff, *, starts_in: timedelta) -> CodeWindow:
    with scope(client=client_obj):
        code_window.form_5106_update(
            actor=admin,
            client=client_obj,
            company_name_5106=client_obj.legal_name,
            poc_name="Pat",
            poc_email="pat@alpha.example",
        )
        window = code_window.code_window_propose(
            actor=admin, client=client_obj, starts_at=timezone.now() + timedelta(days=1)
        )
        window = code_window.code_window_confirm(actor=staff, window=window)
        # Arrange the clock: the window now starts `starts_in` from now.
        CodeWindow.objects.filter(pk=window.pk).update(
            starts_at=timezone.now() + starts_in, ends_at=timezone.now() + starts_in + timedelta(minutes=15)
        )
    return window


def test_code_window_reminder_goes_out_once_shortly_before(client_a, admin_a, staff_a, mailoutbox):
    soon = _confirmed_window(client_a, admin_a, staff_a, starts_in=timedelta(minutes=20))
    mailoutbox.clear()

    assert send_due_code_window_reminders.delay().get() == 1
    assert send_due_code_window_reminders.delay().get() == 0

    [reminder] = mailoutbox
    assert reminder.subject.startswith(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Reminder: ACE sign-up code")
    assert sorted(reminder.to) == sorted(["pat@alpha.example", admin_a.email, staff_a.email])
    assert "expires 10 minutes after it is sent" in reminder.body
    with scope(client=client_a):
        assert CodeWindow.objects.get(pk=soon.pk).reminder_sent_at is not None
        assert AuditEvent.objects.filter(action="onboarding.code_window_reminder_sent").count() == 1


def test_code_window_reminder_waits_until_shortly_before(client_a, admin_a, staff_a, mailoutbox):
    _confirmed_window(client_a, admin_a, staff_a, starts_in=timedelta(hours=2))
    mailoutbox.clear()
    assert send_due_code_window_reminders.delay().get() == 0
    assert mailoutbox == []


def test_cancelled_code_window_gets_no_reminder(client_a, admin_a, staff_a, mailoutbox):
    window = _confirmed_window(client_a, admin_a, staff_a, starts_in=timedelta(minutes=20))
    with scope(client=client_a):
        code_window.code_window_cancel(actor=admin_a, window=window)
    mailoutbox.clear()
    assert send_due_code_window_reminders.delay().get() == 0
    assert mailoutbox == []


def _stale_ach(client_obj, actor):
    with scope(client=client_obj):
        ach.ach_enrollment_update(
            actor=actor,
            client=client_obj,
            bank_name="First Harbor Bank",
            routing_number="021000021",
            account_last_four="6789",
            status="submitted",
        )
        OnboardingProfile.objects.filter(client=client_obj).update(
            ach_submitted_at=timezone.now() - timedelta(days=15)
        )


def _overdue(client_obj, key):
    with scope(client=client_obj):
        ChecklistItem.objects.create(
            client=client_obj,
            key=key,
            status="in_progress",
            due_date=timezone.localdate() - timedelta(days=2),
        )


def test_stale_digest_sends_one_email_per_recipient_and_is_idempotent(
    client_a, admin_a, member_a, staff_a, client_b, admin_b, staff_b, manager, mailoutbox
):
    # Admin A and staff A also look after a sister company, C; both companies have stale steps.
    client_c = ClientFactory(slug="client-c", legal_name="Charlie Sister Co")
    member(client_c, admin_a, role="client_admin")
    assign(client_c, staff_a)
    _stale_ach(client_a, admin_a)
    _overdue(client_c, "sub_account")
    # A code window nobody at the brokerage confirmed, starting in a few hours: the broker's to act on.
    with scope(client=client_a):
        code_window.form_5106_update(
            actor=admin_a,
            client=client_a,
            company_name_5106="Alpha",
            poc_name="",
            poc_email="pat@alpha.example",
        )
        code_window.code_window_propose(
            actor=admin_a, client=client_a, starts_at=timezone.now() + timedelta(hours=3)
        )
    _overdue(client_b, "ace_account")
    mailoutbox.clear()

    assert send_stale_onboarding_digests.delay().get() == 4

    by_recipient = {tuple(m.to): m for m in mailoutbox}
    assert sorted(by_recipient) == sorted(
        [(admin_a.email,), (staff_a.email,), (admin_b.email,), (staff_b.email,)]
    )
    admin_digest = by_recipient[(admin_a.email,)].body
    assert "Alpha Imports LLC" in admin_digest and "Charlie Sister Co" in admin_digest
    assert "submitted 15 days ago" in admin_digest and "Importer sub-account was due on" in admin_digest
    assert "nobody at the brokerage has confirmed" not in admin_digest  # the broker's item, not theirs
    staff_digest = by_recipient[(staff_a.email,)].body
    assert "nobody at the brokerage has confirmed" in staff_digest and "Charlie Sister Co" in staff_digest
    assert "Bravo Trading Inc." not in staff_digest
    assert "Alpha Imports LLC" not in by_recipient[(staff_b.email,)].body
    assert by_recipient[(admin_a.email,)].subject.endswith("2 clients need attention")

    mailoutbox.clear()
    assert send_stale_onboarding_digests.delay().get() == 0
    assert mailoutbox == []
    assert OnboardingDigest.objects.count() == 4
    with scope(client=client_a):
        sent = AuditEvent.objects.filter(action="onboarding.stale_digest_sent")
        assert sorted(e.data["to"] for e in sent) == sorted([admin_a.email, staff_a.email])


def test_stale_digest_of_an_unassigned_client_goes_to_the_managers(client_a, admin_a, manager, mailoutbox):
    _overdue(client_a, "ace_account")
    assert send_stale_onboarding_digests.delay().get() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([admin_a.email, manager.email])


def test_stale_digest_sends_nothing_when_nothing_is_stale(client_a, admin_a, staff_a, mailoutbox):
    _confirmed_window(client_a, admin_a, staff_a, starts_in=timedelta(days=2))
    mailoutbox.clear()
    assert send_stale_onboarding_digests.delay().get() == 0
    assert mailoutbox == []


def test_onboarding_beat_entries_name_registered_tasks():
    from brokerage.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery of <app>.tasks
    names = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].startswith("clients.")]
    assert sorted(names) == [
        "clients.onboarding_tasks.send_due_code_window_reminders",
        "clients.onboarding_tasks.send_stale_onboarding_digests",
    ]
    assert all(name in app.tasks for name in names)


@pytest.mark.services
def test_stale_digest_runs_on_a_real_worker_through_redis(celery_worker_process):
    acme = ClientFactory(slug="acme")
    admin = member(acme, role="client_admin")
    _overdue(acme, "ace_account")

    send_stale_onboarding_digests.delay()

    wait_for(
        lambda: OnboardingDigest.objects.filter(recipient=admin).exists(),
        timeout=60,
        message="the worker to send the digest",
    )
    assert "send_stale_onboarding_digests" in celery_worker_process.log_path.read_text()
