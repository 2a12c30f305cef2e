"""Writes on onboarding's Form 5106 details and the ACE code window: propose, confirm, cancel, remind.

The code window is the hour the client's ACE account administrator waits for CBP's code; both sides get a
calendar invitation (checklist.calendar_invitation) and a reminder before it starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from domain.calendar import CalendarPerson, calendar_invitation

from .. import audit
from ..emails import send_templated
from ..models import Client, CodeWindow, OnboardingProfile, User
from .checklist import CODE_WINDOW_MINUTES, ItemKey, WindowStatus
from .services import _checklist_url, _item_for_update, _profile_for_update, _set_changed, _start

MIN_WINDOW_NOTICE = timedelta(hours=1)  # time for the broker team to confirm a proposed window


def form_5106_update(
    *, actor: User, client: Client, company_name_5106: str, poc_name: str, poc_email: str
) -> OnboardingProfile:
    values = {
        "company_name_5106": company_name_5106.strip(),
        "poc_name": poc_name.strip(),
        "poc_email": poc_email.strip().lower(),
    }
    with transaction.atomic():
        profile = _profile_for_update(client)
        changes = _set_changed(profile, values)
        if not changes:
            return profile
        profile.full_clean(exclude=["client"])
        profile.save()
        _start(_item_for_update(client, ItemKey.FORM_5106), actor=actor)
        audit.record(
            client=client, actor=actor, action="onboarding.form_5106_updated", subject=profile, data=changes
        )
    return profile


def _people(window: CodeWindow) -> list[CalendarPerson]:
    """Who gets the invitation: the point of contact, who proposed the time, who confirmed it."""
    people, seen = [], set()
    candidates = [(window.poc_name or window.poc_email, window.poc_email)]
    for user in (window.proposed_by, window.confirmed_by):
        if user is not None and user.is_active:
            candidates.append((user.full_name or user.email, user.email))
    for name, email in candidates:
        if email and email.lower() not in seen:
            seen.add(email.lower())
            people.append(CalendarPerson(name, email))
    return people


def code_window_ics(*, window: CodeWindow, cancel: bool = False) -> bytes:
    """The calendar invitation (or its cancellation) for a code window."""
    client = window.client
    from_name, from_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return calendar_invitation(
        uid=f"code-window-{window.public_id}@{urlsplit(settings.SITE_URL).hostname or 'portal'}",
        sequence=window.sequence,
        dtstamp=timezone.now(),
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        summary=f"ACE sign-up code window: {client.legal_name}",
        description=(
            f"During this window {client.legal_name} submits its ACE Portal application. CBP emails a "
            f"verification code to the Form 5106 point of contact ({window.poc_email}); the code expires "
            f"10 minutes after it is sent, so the point of contact must be at their inbox.\n"
            f"Checklist: {_checklist_url(client, ItemKey.FORM_5106)}"
        ),
        organizer=CalendarPerson(settings.BROKERAGE_NAME or from_name, from_email or "portal@localhost"),
        attendees=_people(window),
        prodid=f"-//{settings.BROKERAGE_NAME}//Refund portal//EN",
        url=_checklist_url(client, ItemKey.FORM_5106),
        cancel=cancel,
    )


def _send_window_email(name: str, window: CodeWindow, *, cancel: bool = False, attach: bool = True) -> None:
    people = _people(window)
    send_templated(
        name,
        to=[p.email for p in people],
        context={
            "client": window.client,
            "window": window,
            "people": people,
            "link": _checklist_url(window.client, ItemKey.FORM_5106),
        },
        attachments=[("ace-code-window.ics", code_window_ics(window=window, cancel=cancel), "text/calendar")]
        if attach
        else (),
    )


def code_window_propose(*, actor: User, client: Client, starts_at: datetime) -> CodeWindow:
    """The client proposes when the point of contact can watch their inbox; a new time replaces the last."""
    if starts_at < timezone.now() + MIN_WINDOW_NOTICE:
        raise ValidationError(
            {"starts_at": "Propose a time at least an hour from now, so your broker can confirm it."}
        )
    with transaction.atomic():
        profile = _profile_for_update(client)
        if not profile.poc_email:
            raise ValidationError("Enter the Form 5106 point of contact's email first: the code goes there.")
        for previous in (
            CodeWindow.objects.select_for_update()
            .filter(client=client)
            .exclude(status=WindowStatus.CANCELLED)
        ):
            _cancel(previous, actor=actor, reason="replaced")
        window = CodeWindow.objects.create(
            client=client,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=CODE_WINDOW_MINUTES),
            poc_name=profile.poc_name,
            poc_email=profile.poc_email,
            proposed_by=actor,
        )
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.code_window_proposed",
            subject=window,
            data={"starts_at": starts_at.isoformat(), "poc_email": window.poc_email},
        )
        staff = [a.staff for a in client.staff_assignments.select_related("staff") if a.staff.is_active]
        if staff and not actor.is_broker_staff:
            transaction.on_commit(
                lambda: send_templated(
                    "onboarding_code_window_proposed",
                    to=[s.email for s in staff],
                    context={
                        "client": client,
                        "window": window,
                        "actor": actor,
                        "link": _checklist_url(client, ItemKey.FORM_5106),
                    },
                )
            )
    return window


def code_window_confirm(*, actor: User, window: CodeWindow) -> CodeWindow:
    """Broker staff confirm a proposed time; everyone involved gets the calendar invitation."""
    if not actor.is_broker_staff:
        raise ValidationError("Broker staff confirm code windows.")
    with transaction.atomic():
        window = (
            CodeWindow.objects.select_for_update(of=("self",))
            .select_related("client", "proposed_by")
            .get(pk=window.pk)
        )
        if window.status != WindowStatus.PROPOSED:
            raise ValidationError(
                f"This code window is {window.get_status_display().lower()}, not waiting for confirmation."
            )
        if window.starts_at <= timezone.now():
            raise ValidationError("This time has passed: ask the client to propose a new one.")
        window.status = WindowStatus.CONFIRMED
        window.confirmed_by = actor
        window.confirmed_at = timezone.now()
        window.save()
        audit.record(
            client=window.client,
            actor=actor,
            action="onboarding.code_window_confirmed",
            subject=window,
            data={"starts_at": window.starts_at.isoformat()},
        )
        transaction.on_commit(lambda: _send_window_email("onboarding_code_window", window))
    return window


def _cancel(window: CodeWindow, *, actor: User, reason: str) -> None:
    was_confirmed = window.status == WindowStatus.CONFIRMED
    window.status = WindowStatus.CANCELLED
    window.cancelled_at = timezone.now()
    window.sequence += 1
    window.save()
    audit.record(
        client=window.client,
        actor=actor,
        action="onboarding.code_window_cancelled",
        subject=window,
        data={"starts_at": window.starts_at.isoformat(), "reason": reason},
    )
    if was_confirmed:
        transaction.on_commit(
            lambda: _send_window_email("onboarding_code_window_cancelled", window, cancel=True)
        )


def code_window_cancel(*, actor: User, window: CodeWindow) -> CodeWindow:
    with transaction.atomic():
        window = (
            CodeWindow.objects.select_for_update(of=("self",))
            .select_related("client", "proposed_by", "confirmed_by")
            .get(pk=window.pk)
        )
        if window.status == WindowStatus.CANCELLED:
            return window
        _cancel(window, actor=actor, reason="cancelled")
    return window


def code_window_send_reminder(*, window: CodeWindow, now: datetime) -> bool:
    """The reminder shortly before a confirmed window; sent once. Returns whether it was sent now."""
    with transaction.atomic():
        window = (
            CodeWindow.objects.select_for_update(of=("self",))
            .select_related("client", "proposed_by", "confirmed_by")
            .get(pk=window.pk)
        )
        if window.status != WindowStatus.CONFIRMED or window.reminder_sent_at or window.starts_at <= now:
            return False
        window.reminder_sent_at = now
        window.save(update_fields=["reminder_sent_at"])
        audit.record(
            client=window.client,
            actor=None,
            action="onboarding.code_window_reminder_sent",
            subject=window,
            data={"to": [p.email for p in _people(window)]},
        )
        # Sent inside the transaction: if the mail server refuses, the row stays unsent for the next run.
        _send_window_email("onboarding_code_window_reminder", window, attach=False)
    return True
