"""Writes on onboarding: keyword-only, each owns its transaction and records an audit event in it.

The portal never receives or stores a full bank account number: the ACH service refuses anything but the
last four digits (domain.banking), and no message repeats what was typed.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from domain.banking import last_four_problem, routing_number_problem
from domain.calendar import CalendarPerson, calendar_invitation

from .. import audit
from ..emails import send_templated
from ..models import (
    ChecklistEvidence,
    ChecklistItem,
    Client,
    CodeWindow,
    Membership,
    OnboardingDigest,
    OnboardingProfile,
    User,
)
from ..tenancy import ADMIN_ROLES, client_access_for
from .checklist import (
    ACH_ITEM_STATUS,
    CLOSED_STATUSES,
    CODE_WINDOW_MINUTES,
    DEFAULT_OWNER,
    DERIVED_STATUS_KEYS,
    EVIDENCE_MAX_BYTES,
    SUB_ACCOUNT_ITEM_STATUS,
    AcePath,
    AchStatus,
    Finding,
    ItemKey,
    ItemStatus,
    Owner,
    SubAccountState,
    WindowStatus,
    ace_steps,
    evidence_type,
)
from .selectors import stale_findings_with_contacts

logger = logging.getLogger(__name__)

MIN_WINDOW_NOTICE = timedelta(hours=1)  # time for the broker team to confirm a proposed window


def _checklist_url(client: Client, key: str = "") -> str:
    url = settings.SITE_URL + reverse("clients:onboarding", kwargs={"client_slug": client.slug})
    return f"{url}#item-{key}" if key else url


def _profile_for_update(client: Client) -> OnboardingProfile:
    profile, _ = OnboardingProfile.objects.select_for_update().get_or_create(client=client)
    return profile


def _item_for_update(client: Client, key: str) -> ChecklistItem:
    item, _ = ChecklistItem.objects.select_for_update().get_or_create(
        client=client, key=key, defaults={"owner": DEFAULT_OWNER[key]}
    )
    return item


def _set_status(item: ChecklistItem, status: str, *, actor: User | None) -> dict | None:
    """Move an item to a status; a change clears the staff's verification. Returns the change, if any."""
    if item.status == status:
        return None
    change = {"from": item.status, "to": status}
    item.status = status
    item.status_changed_at = timezone.now()
    item.verified_by = None
    item.verified_at = None
    item.updated_by = actor
    item.save()
    return change


def _start(item: ChecklistItem, *, actor: User) -> dict | None:
    """The first piece of work on an item moves it from not started to in progress."""
    if item.status == ItemStatus.NOT_STARTED:
        return _set_status(item, ItemStatus.IN_PROGRESS, actor=actor)
    return None


# --- Checklist items -----------------------------------------------------------------------------

ITEM_FIELDS = ("status", "notes", "owner", "due_date")


def checklist_item_update(*, actor: User, client: Client, key: str, **values) -> ChecklistItem:
    """Change an item's status or notes; owner and due date are the broker staff's to set."""
    if set(values) - set(ITEM_FIELDS):
        raise ValidationError(f"Only {', '.join(ITEM_FIELDS)} can be changed here.")
    if "status" in values and key in DERIVED_STATUS_KEYS:
        raise ValidationError({"status": "This step's status follows its own form; change it there."})
    if ("owner" in values or "due_date" in values) and not actor.is_broker_staff:
        raise ValidationError("Only broker staff set an item's owner and due date.")
    if "status" in values and values["status"] not in ItemStatus.values:
        raise ValidationError({"status": "Choose a status."})
    if "owner" in values and values["owner"] not in Owner.values:
        raise ValidationError({"owner": "Choose an owner."})
    with transaction.atomic():
        item = _item_for_update(client, key)
        changes = {}
        if "status" in values and (change := _set_status(item, values["status"], actor=actor)):
            changes["status"] = change
        for name in ITEM_FIELDS[1:]:
            if name in values and getattr(item, name) != values[name]:
                changes[name] = {"from": _plain(getattr(item, name)), "to": _plain(values[name])}
                setattr(item, name, values[name])
        if changes:
            item.updated_by = actor
            item.save()
            audit.record(
                client=client,
                actor=actor,
                action="onboarding.item_updated",
                subject=item,
                data={"item": key, **changes},
            )
    return item


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def checklist_item_verify(*, actor: User, client: Client, key: str, note: str = "") -> ChecklistItem:
    """Broker staff confirm a done (or not applicable) item: the "verified by staff" mark."""
    if not actor.is_broker_staff:
        raise ValidationError("Only broker staff verify checklist items.")
    with transaction.atomic():
        item = _item_for_update(client, key)
        if item.status not in CLOSED_STATUSES:
            raise ValidationError(
                f"“{item}” is {item.get_status_display().lower()}: only a done or not applicable item can be "
                "verified."
            )
        item.verified_by = actor
        item.verified_at = timezone.now()
        item.review_note = note.strip()
        item.save()
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.item_verified",
            subject=item,
            data={"item": key, "status": item.status, "note": item.review_note},
        )
    return item


def checklist_item_reopen(*, actor: User, client: Client, key: str, note: str) -> ChecklistItem:
    """Broker staff send an item back to in progress, saying why; its record is reset to match."""
    if not actor.is_broker_staff:
        raise ValidationError("Only broker staff reopen checklist items.")
    note = note.strip()
    if not note:
        raise ValidationError("Say what needs to be done again: the note is shown to the client.")
    if key == ItemKey.FILING_AUTHORIZATION:
        raise ValidationError("Only a client admin can revoke the filing authorization.")
    if key == ItemKey.PROTEST_AUTHORIZATION:
        raise ValidationError("Only a client admin can revoke the protest authorization.")
    with transaction.atomic():
        item = _item_for_update(client, key)
        previous = item.status
        if key == ItemKey.ACH_ENROLLMENT:
            profile = _profile_for_update(client)
            profile.ach_status = AchStatus.NOT_ENROLLED
            profile.ach_submitted_at = None
            profile.save()
        elif key == ItemKey.SUB_ACCOUNT:
            profile = _profile_for_update(client)
            profile.sub_account = SubAccountState.MISSING
            profile.save()
        _set_status(item, ItemStatus.IN_PROGRESS, actor=actor)
        item.verified_by = None
        item.verified_at = None
        item.review_note = note
        item.save()
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.item_reopened",
            subject=item,
            data={"item": key, "from": previous, "note": note},
        )
    return item


# --- Evidence ------------------------------------------------------------------------------------


def evidence_add(*, actor: User, client: Client, key: str, uploaded: UploadedFile) -> ChecklistEvidence:
    if uploaded.size > EVIDENCE_MAX_BYTES:
        raise ValidationError({"file": f"Files up to {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB, please."})
    head = uploaded.read(16)
    uploaded.seek(0)
    kind = evidence_type(head)
    if kind is None:
        raise ValidationError({"file": "Upload a PDF, PNG or JPEG file."})
    content_type, extension = kind
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "", (uploaded.name or "").rsplit("/", 1)[-1])[:200] or "evidence"
    with transaction.atomic():
        item = _item_for_update(client, key)
        evidence = ChecklistEvidence(
            client=client,
            item=item,
            original_name=name,
            content_type=content_type,
            size_bytes=uploaded.size,
            uploaded_by=actor,
        )
        evidence.file.save(f"evidence.{extension}", uploaded, save=False)
        try:
            evidence.save()
            audit.record(
                client=client,
                actor=actor,
                action="onboarding.evidence_added",
                subject=evidence,
                data={"item": key, "name": name, "size": uploaded.size},
            )
        except Exception:
            evidence.file.delete(save=False)  # no orphan file on disk when the row is not written
            raise
    return evidence


def evidence_remove(*, actor: User, evidence: ChecklistEvidence) -> None:
    client = evidence.client
    if not (
        actor.is_broker_staff
        or evidence.uploaded_by_id == actor.pk
        or Membership.objects.filter(client=client, user=actor, role=Membership.Role.ADMIN).exists()
    ):
        raise ValidationError(
            "Only the person who uploaded a file, a client admin or broker staff can remove it."
        )
    storage, name = evidence.file.storage, evidence.file.name
    with transaction.atomic():
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.evidence_removed",
            subject=evidence,
            data={"item": evidence.item.key, "name": evidence.original_name},
        )
        evidence.delete()
        transaction.on_commit(lambda: storage.delete(name))


# --- ACE account ---------------------------------------------------------------------------------


def ace_path_choose(*, actor: User, client: Client, path: str) -> OnboardingProfile:
    if path not in AcePath.values:
        raise ValidationError({"path": "Choose one of the two ways."})
    with transaction.atomic():
        profile = _profile_for_update(client)
        if profile.ace_path == path:
            return profile
        previous = profile.ace_path
        profile.ace_path = path
        # Steps of the other path mean nothing on this one.
        keys = {step.key for step in ace_steps(path)}
        profile.ace_steps_done = [k for k in profile.ace_steps_done if k in keys]
        profile.save()
        _start(_item_for_update(client, ItemKey.ACE_ACCOUNT), actor=actor)
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.ace_path_chosen",
            subject=profile,
            data={"from": previous, "to": path},
        )
    return profile


def ace_steps_update(*, actor: User, client: Client, steps_done: list[str]) -> ChecklistItem:
    """Tick the ACE path's steps; all ticked marks the account done, unticking one reopens it."""
    with transaction.atomic():
        profile = _profile_for_update(client)
        steps = ace_steps(profile.ace_path)
        if not steps:
            raise ValidationError("Choose how you get your ACE Portal account first.")
        keys = [step.key for step in steps]
        unknown = set(steps_done) - set(keys)
        if unknown:
            raise ValidationError("Those steps are not part of this path.")
        done = [k for k in keys if k in steps_done]
        item = _item_for_update(client, ItemKey.ACE_ACCOUNT)
        previous_done = profile.ace_steps_done
        profile.ace_steps_done = done
        profile.save()
        if len(done) == len(keys):
            change = (
                _set_status(item, ItemStatus.DONE, actor=actor)
                if item.status not in CLOSED_STATUSES
                else None
            )
        elif item.status == ItemStatus.DONE or (done and item.status == ItemStatus.NOT_STARTED):
            change = _set_status(item, ItemStatus.IN_PROGRESS, actor=actor)
        else:
            change = None
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.ace_steps_updated",
            subject=item,
            data={
                "path": profile.ace_path,
                "ticked": [k for k in done if k not in previous_done],
                "unticked": [k for k in previous_done if k not in done],
                **({"status": change} if change else {}),
            },
        )
    return item


# --- Form 5106 and the code window ---------------------------------------------------------------


def _set_changed(profile: OnboardingProfile, values: dict) -> dict[str, dict]:
    """Set the profile's fields to the values; return {field: {"from", "to"}} for those that changed."""
    changes = {
        name: {"from": getattr(profile, name), "to": value}
        for name, value in values.items()
        if getattr(profile, name) != value
    }
    for name in changes:
        setattr(profile, name, values[name])
    return changes


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


# --- Sub-account, ACH, special cases -------------------------------------------------------------


def sub_account_update(*, actor: User, client: Client, state: str) -> OnboardingProfile:
    if state not in SubAccountState.values:
        raise ValidationError({"state": "Choose the sub-account's state."})
    with transaction.atomic():
        profile = _profile_for_update(client)
        if profile.sub_account == state:
            return profile
        previous = profile.sub_account
        profile.sub_account = state
        profile.save()
        change = _set_status(
            _item_for_update(client, ItemKey.SUB_ACCOUNT), SUB_ACCOUNT_ITEM_STATUS[state], actor=actor
        )
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.sub_account_updated",
            subject=profile,
            data={"from": previous, "to": state, **({"status": change} if change else {})},
        )
    return profile


def ach_problems(
    *, bank_name: str, routing_number: str, account_last_four: str, status: str
) -> dict[str, str]:
    """What is wrong with ACH details, by field; empty when they may be stored. Never repeats the input."""
    problems = {}
    if status not in AchStatus.values:
        problems["status"] = "Choose the enrollment's status."
    # Digits are counted over the whole name: "7257 9151 1728 85" is an account number, spaces or not.
    if sum(ch.isdigit() for ch in bank_name) > 4:
        problems["bank_name"] = "Enter only the bank's name here, without account or routing numbers."
    needs_details = status in (AchStatus.SUBMITTED, AchStatus.ACTIVE, AchStatus.REJECTED)
    if routing_number or needs_details:
        if problem := routing_number_problem(routing_number):
            problems["routing_number"] = problem
    if account_last_four or needs_details:
        if problem := last_four_problem(account_last_four):
            problems["account_last_four"] = problem
    if needs_details and not bank_name:
        problems["bank_name"] = "Enter the name of the bank you enrolled with CBP."
    return problems


def ach_enrollment_update(
    *, actor: User, client: Client, bank_name: str, routing_number: str, account_last_four: str, status: str
) -> OnboardingProfile:
    """Record the ACH refund enrollment: bank, routing number, the account's last four digits, status.

    Only the client's admins and its staff may; a change of bank details emails every admin of the client
    and the assigned staff (a changed refund account is the classic refund-fraud move).
    """
    access = client_access_for(actor, client)
    if access is None or access.role not in ADMIN_ROLES:
        raise ValidationError("Only a client admin or the brokerage can change the ACH refund details.")
    bank_name = bank_name.strip()
    routing_number = routing_number.replace(" ", "")
    account_last_four = account_last_four.strip()
    problems = ach_problems(
        bank_name=bank_name, routing_number=routing_number, account_last_four=account_last_four, status=status
    )
    if problems:
        raise ValidationError(problems)
    values = {
        "bank_name": bank_name,
        "routing_number": routing_number,
        "account_last_four": account_last_four,
        "ach_status": status,
    }
    with transaction.atomic():
        profile = _profile_for_update(client)
        before = {name: getattr(profile, name) for name in BANK_DETAIL_FIELDS}
        changes = _set_changed(profile, values)
        if not changes:
            return profile
        if set(changes) & set(BANK_DETAIL_FIELDS):
            _email_bank_details_changed(client, actor=actor, before=before, after=values)
        if "ach_status" in changes and status == AchStatus.SUBMITTED:
            profile.ach_submitted_at = timezone.now()
        profile.save()
        has_details = bool(bank_name or routing_number or account_last_four)
        item_status = (
            ItemStatus.NOT_STARTED
            if status == AchStatus.NOT_ENROLLED and not has_details
            else ACH_ITEM_STATUS[status]
        )
        if change := _set_status(_item_for_update(client, ItemKey.ACH_ENROLLMENT), item_status, actor=actor):
            changes["item_status"] = change
        audit.record(
            client=client, actor=actor, action="onboarding.ach_updated", subject=profile, data=changes
        )
    return profile


BANK_DETAIL_FIELDS = ("bank_name", "routing_number", "account_last_four")


def bank_details_watchers(client: Client) -> list[User]:
    """Who hears of a change of the refund bank account: the client's admins and its assigned staff."""
    admins = [
        m.user
        for m in Membership.objects.filter(client=client, role=Membership.Role.ADMIN).select_related("user")
        if m.user.is_active
    ]
    staff = [a.staff for a in client.staff_assignments.select_related("staff") if a.staff.is_active]
    return sorted({u.pk: u for u in admins + staff}.values(), key=lambda u: u.email)


def _email_bank_details_changed(client: Client, *, actor: User, before: dict, after: dict) -> None:
    """Queued on commit with everything it needs, so it runs wherever the commit happens (no scope needed)."""
    watchers = [u.email for u in bank_details_watchers(client)]
    if not watchers:
        return
    context = {
        "client": client,
        "actor": actor,
        "before": before,
        "after": {name: after[name] for name in BANK_DETAIL_FIELDS},
        "changed_at": timezone.now(),
        "link": _checklist_url(client, ItemKey.ACH_ENROLLMENT),
    }
    transaction.on_commit(lambda: send_templated("ach_details_changed", to=watchers, context=context))


def special_cases_update(*, actor: User, client: Client, **flags: bool) -> OnboardingProfile:
    """Say which special cases apply; only those are shown on the checklist."""
    names = set(OnboardingProfile.SPECIAL_CASE_FIELDS.values())
    if set(flags) - names:
        raise ValidationError("Unknown special case.")
    with transaction.atomic():
        profile = _profile_for_update(client)
        changes = {
            n: {"from": getattr(profile, n), "to": bool(v)}
            for n, v in flags.items()
            if getattr(profile, n) != bool(v)
        }
        if not changes:
            return profile
        for name, value in flags.items():
            setattr(profile, name, bool(value))
        profile.save()
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.special_cases_updated",
            subject=profile,
            data=changes,
        )
    return profile


# --- The daily stale digest ----------------------------------------------------------------------


def stale_digests_send(*, now: datetime) -> int:
    """One digest email per person with stale onboarding items today; returns how many went out.

    Client admins hear about the items their company owns; assigned staff about every item of their
    clients. A person gets at most one digest a day (OnboardingDigest), however often this runs.
    """
    today = timezone.localdate(now)
    plan: dict[int, tuple[User, dict[int, tuple[Client, list[Finding]]]]] = {}
    for entry in stale_findings_with_contacts(now=now, today=today):
        client_owned = [f for f in entry.findings if f.owner == Owner.CLIENT]
        audiences = [(user, client_owned) for user in entry.admins] + [
            (user, entry.findings) for user in entry.staff
        ]
        for user, findings in audiences:
            if findings:
                plan.setdefault(user.pk, (user, {}))[1][entry.client.pk] = (entry.client, findings)
    sent = 0
    for user, by_client in plan.values():
        sent += _send_digest(user=user, sections=list(by_client.values()), day=today)
    return sent


def _send_digest(*, user: User, sections: list[tuple[Client, list[Finding]]], day) -> bool:
    try:
        with transaction.atomic():
            _, created = OnboardingDigest.objects.get_or_create(
                recipient=user,
                day=day,
                defaults={
                    "findings": [
                        {"client": client.slug, "item": f.key, "rule": f.rule}
                        for client, fs in sections
                        for f in fs
                    ]
                },
            )
            if not created:
                return False
            for client, findings in sections:
                with scope(client=client):
                    audit.record(
                        client=client,
                        actor=None,
                        action="onboarding.stale_digest_sent",
                        data={"to": user.email, "items": [{"item": f.key, "rule": f.rule} for f in findings]},
                    )
            # Inside the transaction: if the mail server refuses, no row is kept and the next run retries.
            send_templated(
                "onboarding_stale_digest",
                to=[user.email],
                context={
                    "recipient": user,
                    "sections": [
                        {"client": client, "findings": findings, "link": _checklist_url(client)}
                        for client, findings in sections
                    ],
                },
            )
    except Exception:
        logger.exception("The onboarding digest to user %s could not be sent", user.pk)
        return False
    return True


# --- CAPE refunds (issue 6) ----------------------------------------------------------------------


def ach_refund_returned(*, actor: User | None, client: Client, note: str) -> ChecklistItem:
    """CBP reported a refund returned by the bank (REV-603/REV-613): the ACH enrollment needs fixing again.

    The profile's status becomes "refund rejected", which blocks the ACH item (reopening it) and makes the
    client not ready to file until the enrollment is active again; the note says which report showed it.
    """
    with transaction.atomic():
        profile = _profile_for_update(client)
        previous = profile.ach_status
        profile.ach_status = AchStatus.REJECTED
        profile.save()
        item = _item_for_update(client, ItemKey.ACH_ENROLLMENT)
        change = _set_status(item, ACH_ITEM_STATUS[AchStatus.REJECTED], actor=actor)
        item.review_note = note
        item.save()
        audit.record(
            client=client,
            actor=actor,
            action="onboarding.ach_refund_returned",
            subject=item,
            data={"from": previous, "note": note, **({"status": change} if change else {})},
        )
    return item
