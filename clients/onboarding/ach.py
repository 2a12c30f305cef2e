"""Writes on the client's ACH refund details (onboarding's ACH item) and CBP's returned refunds.

The portal never receives or stores a full bank account number: the ACH service refuses anything but the
last four digits (domain.banking), and no message repeats what was typed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from domain.banking import last_four_problem, routing_number_problem

from .. import audit
from ..emails import send_templated
from ..models import ChecklistItem, Client, Membership, OnboardingProfile, User
from ..tenancy import ADMIN_ROLES, client_access_for
from .checklist import ACH_ITEM_STATUS, AchStatus, ItemKey, ItemStatus
from .services import _checklist_url, _item_for_update, _profile_for_update, _set_changed, _set_status


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
