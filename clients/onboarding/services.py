"""Writes on onboarding: keyword-only, each owns its transaction and records an audit event in it.

The checklist's items, their evidence, the ACE account, the sub-account and the special cases, and the
helpers every onboarding writer shares (_item_for_update, _set_status, ...). The other writers of the
package: code_window.py (Form 5106 and the ACE code window), ach.py (ACH refund details),
authorizations.py (the authorizations a client admin gives), digests.py (the daily stale digest).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .. import audit
from ..models import ChecklistEvidence, ChecklistItem, Client, Membership, OnboardingProfile, User
from .checklist import (
    CLOSED_STATUSES,
    DEFAULT_OWNER,
    DERIVED_STATUS_KEYS,
    EVIDENCE_MAX_BYTES,
    SUB_ACCOUNT_ITEM_STATUS,
    AcePath,
    AchStatus,
    ItemKey,
    ItemStatus,
    Owner,
    SubAccountState,
    ace_steps,
    evidence_type,
)


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
