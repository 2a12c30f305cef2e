"""Reads on clients, people and access. Access helpers return 404 for both missing and not-yours."""

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django_scopes import scopes_disabled

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
from .tenancy import visible_clients


def caseload_clients(*, user: User, staff_id: int | None = None, search: str = "") -> QuerySet[Client]:
    """The clients a staff user sees, with their assigned staff (a fixed number of queries)."""
    clients = visible_clients(user)
    if staff_id:  # a semi-join: one row per client, whatever joins the visible clients already carry
        clients = clients.filter(pk__in=StaffAssignment.objects.filter(staff_id=staff_id).values("client_id"))
    if search:
        # Scoped models are searched by id lists so the client query stays a plain Client query.
        with scopes_disabled():
            ior_ids = list(
                ImporterNumber.objects.filter(number__icontains=search).values_list("client_id", flat=True)
            )
        clients = clients.filter(
            Q(legal_name__icontains=search) | Q(slug__icontains=search) | Q(pk__in=ior_ids)
        )
    # No DISTINCT and no count of staff: at 2,000 clients they were a fifth of the caseload's clients query,
    # and nothing read the count (a staff member's visible clients join one assignment row per client).
    return clients.prefetch_related(
        Prefetch("staff_assignments", queryset=StaffAssignment.objects.select_related("staff")),
    ).order_by("legal_name")


def importer_numbers_by_client(*, client_ids: list[int]) -> dict[int, list[str]]:
    with scopes_disabled():  # one query for a page of clients, each of which the caller may see
        rows = ImporterNumber.objects.filter(client_id__in=client_ids).values_list("client_id", "number")
    result: dict[int, list[str]] = {}
    for client_id, number in rows:
        result.setdefault(client_id, []).append(number)
    return result


def client_members(*, client: Client) -> QuerySet[Membership]:
    return Membership.objects.filter(client=client).select_related("user").order_by("user__email")


def client_pending_invitations(*, client: Client) -> list[Invitation]:
    invitations = Invitation.objects.filter(client=client, accepted_at=None, revoked_at=None).select_related(
        "invited_by"
    )
    return [i for i in invitations if i.is_pending]


def client_staff(*, client: Client) -> QuerySet[User]:
    return User.objects.filter(assignments__client=client).order_by("email")


def client_audit_trail(*, client: Client) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(client=client).select_related("actor")


def membership_for_client(*, client: Client, membership_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), client=client, pk=membership_id)


def invitation_for_client(*, client: Client, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation, client=client, pk=invitation_id)


def importer_number_for_client(*, client: Client, importer_id: int) -> ImporterNumber:
    return get_object_or_404(ImporterNumber, client=client, pk=importer_id)


def audit_export_for_client(*, client: Client, public_id) -> AuditExport:
    return get_object_or_404(AuditExport, client=client, public_id=public_id)


def staff_users() -> QuerySet[User]:
    return User.objects.exclude(staff_role="").filter(is_active=True).order_by("full_name", "email")
