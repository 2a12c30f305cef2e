"""Writes on clients, people and access: keyword-only; each owns its transaction and writes an audit event."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope, scopes_disabled

from brokerage.queueing import enqueue_on_commit
from brokerage.spreadsheets import safe_cell
from brokerage.words import plural

from . import audit
from .emails import send_templated
from .jobs import job_fail, job_start, job_succeed
from .models import (
    AuditEvent,
    AuditExport,
    Client,
    ImporterNumber,
    Invitation,
    Membership,
    StaffAssignment,
    User,
)


def client_create(
    *, actor: User | None, slug: str, legal_name: str, importer_numbers: list[str] | tuple[str, ...] = ()
) -> Client:
    slug = slugify(slug)
    if not slug:
        raise ValidationError({"slug": "A slug needs letters or digits."})
    if Client.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A client with slug '{slug}' already exists."})
    with transaction.atomic():
        client = Client(slug=slug, legal_name=legal_name.strip())
        client.full_clean()
        client.save()
        with scope(client=client):
            for number in importer_numbers:  # entered by staff (the command, the staff's page, seed_demo)
                _add_importer_number(client=client, number=number, actor=actor, by_staff=True)
            audit.record(
                client=client,
                actor=actor,
                action="client.created",
                subject=client,
                data={"legal_name": client.legal_name, "importer_numbers": list(importer_numbers)},
            )
    return client


def _add_importer_number(
    *, client: Client, number: str, actor: User | None, by_staff: bool, label: str = ""
) -> ImporterNumber:
    """Add a number to a client: verified at once when staff enter it, pending when a client does.

    A client's refusal never depends on other clients: the same number may be pending for several
    clients (only staff's verification picks the owner), so "already registered" is said to staff only.
    """
    number = number.strip().upper()
    if ImporterNumber.objects.filter(client=client, number=number).exists():
        raise ValidationError({"number": f"Importer number {number} is already on this company's profile."})
    importer = ImporterNumber(client=client, number=number, label=label, added_by=actor)
    if by_staff:
        with scopes_disabled():  # one verified owner per number: a clash must be found wherever it is
            taken = ImporterNumber.objects.filter(number=number, verified_at__isnull=False).exists()
        if taken:
            raise ValidationError(
                {"number": f"Importer number {number} is already registered to another client."}
            )
        importer.verified_at = timezone.now()
        importer.verified_by = actor
        importer.verification_evidence = ImporterNumber.Evidence.STAFF_ENTERED
    importer.full_clean()
    importer.save()
    return importer


def importer_number_add(*, actor: User, client: Client, number: str, label: str = "") -> ImporterNumber:
    """A client admin's number is pending until staff verify it; a staff member's is verified at once."""
    with transaction.atomic():
        importer = _add_importer_number(
            client=client, number=number, actor=actor, by_staff=actor.is_broker_staff, label=label
        )
        audit.record(
            client=client,
            actor=actor,
            action="client.importer_number_added",
            subject=importer,
            data={"number": importer.number, "verified": importer.is_verified},
        )
    return importer


def importer_number_verify(
    *, actor: User, importer: ImporterNumber, evidence: str, note: str = ""
) -> ImporterNumber:
    """Staff confirm a pending number against the client's Form 5106 or ACE account."""
    if not actor.is_broker_staff:
        raise PermissionDenied("Only broker staff verify importer numbers.")
    if evidence not in (ImporterNumber.Evidence.FORM_5106, ImporterNumber.Evidence.ACE_ACCOUNT):
        raise ValidationError(
            {"evidence": "Say what the number was checked against: Form 5106 or ACE account."}
        )
    if importer.is_verified:
        return importer
    with transaction.atomic():
        with scopes_disabled():  # staff may learn that another client holds it: they must sort it out
            holder = (
                ImporterNumber.objects.filter(number=importer.number, verified_at__isnull=False)
                .select_related("client")
                .first()
            )
        if holder is not None:
            raise ValidationError(
                {
                    "number": f"Importer number {importer.number} is already verified for "
                    f"{holder.client.legal_name}: remove it there first if it belongs here."
                }
            )
        importer.verified_at = timezone.now()
        importer.verified_by = actor
        importer.verification_evidence = evidence
        importer.verification_note = note.strip()
        importer.save(
            update_fields=["verified_at", "verified_by", "verification_evidence", "verification_note"]
        )
        audit.record(
            client=importer.client,
            actor=actor,
            action="client.importer_number_verified",
            subject=importer,
            data={"number": importer.number, "evidence": evidence, "note": importer.verification_note},
        )
    return importer


def importer_number_remove(*, actor: User, importer: ImporterNumber) -> None:
    with transaction.atomic():
        audit.record(
            client=importer.client,
            actor=actor,
            action="client.importer_number_removed",
            data={"number": importer.number},
        )
        importer.delete()


PROFILE_FIELDS = ("legal_name", "address_line1", "address_line2", "city", "state", "postal_code", "country")


def client_update_profile(*, actor: User, client: Client, **values) -> Client:
    changes = {}
    for field in PROFILE_FIELDS:
        if field in values and getattr(client, field) != values[field]:
            changes[field] = {"from": getattr(client, field), "to": values[field]}
            setattr(client, field, values[field])
    logo = values.get("letterhead_logo")
    if logo:
        client.letterhead_logo = logo
        changes["letterhead_logo"] = {"to": logo.name}
    if not changes:
        return client
    with transaction.atomic():
        client.full_clean()
        client.save()
        audit.record(
            client=client, actor=actor, action="client.profile_updated", subject=client, data=changes
        )
    return client


def invitation_create(*, actor: User, client: Client, email: str, role: str) -> Invitation:
    email = email.strip().lower()
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose a role."})
    if Membership.objects.filter(client=client, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {client.legal_name}."})
    if User.objects.filter(email__iexact=email).exclude(staff_role="").exists():
        raise ValidationError(
            {"email": "That address belongs to broker staff; staff reach clients by assignment."}
        )
    token, token_hash = Invitation.new_token()
    with transaction.atomic():
        # A fresh invitation replaces any pending one for the same address.
        Invitation.objects.filter(client=client, email=email, accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        invitation = Invitation.objects.create(
            client=client,
            email=email,
            role=role,
            token_hash=token_hash,
            invited_by=actor,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        audit.record(
            client=client,
            actor=actor,
            action="client.member_invited",
            subject=invitation,
            data={"email": email, "role": role},
        )
        link = settings.SITE_URL + reverse("invitation_accept", kwargs={"token": token})
        transaction.on_commit(
            lambda: send_templated(
                "invitation",
                to=[email],
                context={
                    "client": client,
                    "inviter": actor,
                    "link": link,
                    "role": invitation.get_role_display(),
                    "expires_at": invitation.expires_at,
                    "brokerage_name": settings.BROKERAGE_NAME,
                },
            )
        )
    return invitation


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(
            client=invitation.client, actor=actor, action="client.invitation_revoked", subject=invitation
        )
    return invitation


def invitation_by_token(*, token: str) -> Invitation | None:
    """The pending invitation for a token (any client: the token itself is the credential)."""
    with scopes_disabled():
        invitation = (
            Invitation.objects.select_related("client")
            .filter(token_hash=Invitation.hash_token(token))
            .first()
        )
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


def invitation_accept(
    *, invitation: Invitation, user: User | None, full_name: str = "", password: str = ""
) -> User:
    """Join the client: an existing user (logged in with the invited address) or a new account.

    The invitation link reached the address, so the address counts as verified.
    """
    with transaction.atomic(), scope(client=invitation.client):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_pending:
            raise ValidationError("This invitation has already been used or has expired.")
        if user is None:
            if User.objects.filter(email__iexact=locked.email).exists():
                raise ValidationError(
                    "An account with this email exists: log in first, then open the link again."
                )
            user = User.objects.create_user(locked.email, password, full_name=full_name.strip())
        elif user.email.lower() != locked.email.lower():
            raise ValidationError(
                f"This invitation is for {locked.email}; you are logged in as {user.email}."
            )
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        Membership.objects.get_or_create(client=locked.client, user=user, defaults={"role": locked.role})
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            client=locked.client,
            actor=user,
            action="client.member_joined",
            subject=user,
            data={"role": locked.role},
        )
    return user


def membership_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose a role."})
    with transaction.atomic():
        previous = membership.role
        if previous == Membership.Role.ADMIN and role != previous:
            _ensure_another_admin(membership)
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            client=membership.client,
            actor=actor,
            action="client.member_role_changed",
            subject=membership.user,
            data={"from": previous, "to": role},
        )
    return membership


def membership_remove(*, actor: User, membership: Membership) -> None:
    with transaction.atomic():
        if membership.role == Membership.Role.ADMIN:
            _ensure_another_admin(membership)
        audit.record(
            client=membership.client,
            actor=actor,
            action="client.member_removed",
            subject=membership.user,
            data={"email": membership.user.email},
        )
        membership.delete()


def _ensure_another_admin(membership: Membership) -> None:
    others = Membership.objects.filter(client=membership.client, role=Membership.Role.ADMIN).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise ValidationError("A client keeps at least one client admin; make someone else admin first.")


def staff_assign(*, actor: User, client: Client, staff: User) -> StaffAssignment:
    if not staff.is_broker_staff:
        raise ValidationError({"staff": f"{staff.email} is not broker staff."})
    with transaction.atomic():
        assignment, created = StaffAssignment.objects.get_or_create(
            client=client, staff=staff, defaults={"assigned_by": actor}
        )
        if created:
            with scope(client=client):
                audit.record(
                    client=client,
                    actor=actor,
                    action="client.staff_assigned",
                    subject=staff,
                    data={"staff": staff.email},
                )
    return assignment


def staff_unassign(*, actor: User, client: Client, staff: User) -> None:
    with transaction.atomic():
        deleted, _ = StaffAssignment.objects.filter(client=client, staff=staff).delete()
        if deleted:
            with scope(client=client):
                audit.record(
                    client=client,
                    actor=actor,
                    action="client.staff_unassigned",
                    subject=staff,
                    data={"staff": staff.email},
                )


def audit_export_request(*, actor: User, client: Client) -> AuditExport:
    with transaction.atomic():
        export = AuditExport.objects.create(client=client, created_by=actor)
        audit.record(client=client, actor=actor, action="client.audit_export_requested", subject=export)
        enqueue_on_commit("clients.tasks.build_audit_export", export.pk)
    return export


def _in_words(event: AuditEvent) -> str:
    from .vocabulary import action_label, audit_details

    details = "; ".join(f"{key}: {value}" for key, value in audit_details(event.data))
    return f"{action_label(event.action)}{': ' if details else ''}{details}"


def audit_export_build(*, export: AuditExport) -> AuditExport:
    """Write the client's audit trail to CSV, reporting progress on the job row."""
    events = (
        AuditEvent.objects.filter(client=export.client).select_related("actor").order_by("created_at", "id")
    )
    total = events.count()
    job_start(export, total=total)
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        # The codes stay for whoever filters the file; "description" says the same in words, for people.
        writer.writerow(["time", "actor", "action", "subject", "data", "description"])
        for event in events.iterator(chunk_size=2000):
            writer.writerow(
                [
                    event.created_at.isoformat(),
                    safe_cell(event.actor.email) if event.actor else "system",  # an address may start with =
                    event.action,
                    safe_cell(event.subject_repr),
                    safe_cell(event.data),
                    safe_cell(_in_words(event)),
                ]
            )
        export.file.save(
            f"audit-{export.client.slug}-{export.public_id}.csv",
            ContentFile(buffer.getvalue().encode()),
            save=False,
        )
        export.save(update_fields=["file"])
    except Exception as exc:
        job_fail(export, message=f"The export failed: {exc}")
        raise
    job_succeed(export, message=f"{plural(total, 'event')} exported.")
    return export
