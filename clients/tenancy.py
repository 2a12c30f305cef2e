"""How a request enters a client's scope, and who may.

Client pages live under /c/<client_slug>/. ClientScopeMiddleware resolves the client from the URL,
checks that the user may see it (a member, the assigned staff member, or a staff manager) and runs the
view inside `scope(client=...)`. A client that does not exist and a client you may not see answer the
same 404. Anything outside /c/ runs without a scope, so a tenant-owned query there raises unless the
code says `scopes_disabled()` with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django_scopes import scope, scopes_disabled

from .models import Client, Membership, StaffAssignment, User


@dataclass(frozen=True)
class ClientAccess:
    """What the current user is to the current client."""

    client: Client
    role: str  # client_admin, client_member, staff, staff_manager

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "staff_manager")

    @property
    def is_client_admin(self) -> bool:
        return self.role == Membership.Role.ADMIN

    @property
    def can_manage_people(self) -> bool:
        return self.is_staff or self.is_client_admin


def client_access_for(user: User, client: Client) -> ClientAccess | None:
    """The user's access to a client, or None: the single place this rule lives."""
    if not user.is_authenticated or not user.is_active:
        return None
    if not client.is_active and not user.is_broker_staff:
        return None  # a deactivated client stays visible to the brokerage, not to its own users
    if user.is_staff_manager:
        return ClientAccess(client, "staff_manager")
    if user.is_broker_staff:
        if StaffAssignment.objects.filter(client=client, staff=user).exists():
            return ClientAccess(client, "staff")
        return None
    with scopes_disabled():  # membership is the gate into the scope, so it is read before entering it
        membership = Membership.objects.filter(client=client, user=user).only("role").first()
    return ClientAccess(client, membership.role) if membership else None


def visible_clients(user: User):
    """Clients the user may open, for menus and the client switcher."""
    if not user.is_authenticated:
        return Client.objects.none()
    if user.is_staff_manager:
        return Client.objects.all()
    if user.is_broker_staff:
        return Client.objects.filter(staff_assignments__staff=user)
    with scopes_disabled():
        ids = list(Membership.objects.filter(user=user).values_list("client_id", flat=True))
    return Client.objects.filter(pk__in=ids, is_active=True)


class ClientScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("client_slug")
        if slug is None:
            if match.app_name == "admin":
                # Django admin is the staff's explicit escape from tenancy (staff-only by its own checks);
                # a staff member who is not a manager stays inside their caseload there too.
                user = request.user
                if user.is_authenticated and user.is_broker_staff and not user.is_staff_manager:
                    with scope(client=list(user.assignments.values_list("client_id", flat=True))):
                        return self.get_response(request)
                with scopes_disabled():
                    return self.get_response(request)
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        client = Client.objects.filter(slug=slug).first()
        access = client_access_for(request.user, client) if client else None
        if access is None:
            raise Http404("No such client")
        request.client = client
        request.client_access = access
        with scope(client=client):
            return self.get_response(request)


# Paths a staff user may reach before setting up two-factor authentication.
_MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/invite/")


class StaffMFARequiredMiddleware:
    """Broker staff must set up TOTP before anything else: they can see every assigned client's data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and user.is_broker_staff
            and not request.path_info.startswith(_MFA_EXEMPT_PREFIXES)
            and not user_has_totp(user)
        ):
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def user_has_totp(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def require_client_role(*roles: str):
    """Restrict a client page to some roles; others get the same 404 as an outsider."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.client_access.role not in roles:
                raise Http404("Not available")
            return view(request, *args, **kwargs)

        wrapper.client_roles = roles
        return wrapper

    return decorator


STAFF_ROLES = ("staff", "staff_manager")
ADMIN_ROLES = ("client_admin", "staff", "staff_manager")


def staff_required(view):
    """A staff page outside any client; non-staff get 404 (the page does not exist for them)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not request.user.is_broker_staff:
            raise Http404("Not available")
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not request.user.is_staff_manager:
            raise Http404("Not available")
        return view(request, *args, **kwargs)

    return wrapper
