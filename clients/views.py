"""Client pages (below /c/<client_slug>/, run in the client's scope by the middleware) and invitations."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from brokerage.forms import add_service_errors
from brokerage.storage import file_response

from . import hooks, selectors, services
from .forms import (
    AcceptInvitationForm,
    ClientProfileForm,
    ImporterNumberForm,
    ImporterNumberVerifyForm,
    InvitationForm,
    MembershipRoleForm,
)
from .models import ImporterNumber
from .tenancy import ADMIN_ROLES, STAFF_ROLES, require_client_role, visible_clients


@login_required
def home(request):
    """Send people where their work is: staff to the caseload, client users to their client."""
    if request.user.is_broker_staff:
        return redirect("staff:caseload")
    clients = list(visible_clients(request.user)[:2])
    if len(clients) == 1:
        return redirect(clients[0])
    return redirect("choose_client")


@login_required
def choose_client(request):
    return render(request, "clients/choose.html", {"clients": visible_clients(request.user)})


def overview(request, client_slug):
    from django.utils import timezone

    client = request.client
    return render(
        request,
        "clients/overview.html",
        {
            "importer_numbers": ImporterNumber.objects.filter(client=client),
            "staff": selectors.client_staff(client=client),
            "recent_events": selectors.client_audit_trail(client=client)[:5],
            # The entry figures are entries', above clients: it provides the hook.
            **hooks.overview_entries(client=client, today=timezone.localdate()),
        },
    )


def team(request, client_slug):
    client = request.client
    form = InvitationForm()
    if request.method == "POST":
        if not request.client_access.can_manage_people:
            raise Http404
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation = services.invitation_create(
                    actor=request.user,
                    client=client,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("clients:team", client_slug=client.slug)
    return render(
        request,
        "clients/team.html",
        {
            "members": selectors.client_members(client=client),
            "invitations": selectors.client_pending_invitations(client=client),
            "staff": selectors.client_staff(client=client),
            "form": form,
            "role_form": MembershipRoleForm(),
        },
    )


@require_POST
@require_client_role(*ADMIN_ROLES)
def member_update(request, client_slug, membership_id):
    membership = selectors.membership_for_client(client=request.client, membership_id=membership_id)
    try:
        if request.POST.get("action") == "remove":
            services.membership_remove(actor=request.user, membership=membership)
            messages.success(request, f"{membership.user.email} no longer has access to {request.client}.")
        else:
            form = MembershipRoleForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Choose a role.")
            services.membership_change_role(
                actor=request.user, membership=membership, role=form.cleaned_data["role"]
            )
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("clients:team", client_slug=client_slug)


@require_POST
@require_client_role(*ADMIN_ROLES)
def invitation_revoke(request, client_slug, invitation_id):
    invitation = selectors.invitation_for_client(client=request.client, invitation_id=invitation_id)
    services.invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, f"The invitation for {invitation.email} was withdrawn.")
    return redirect("clients:team", client_slug=client_slug)


def profile(request, client_slug):
    client = request.client
    can_edit = request.client_access.can_manage_people
    form = ClientProfileForm(instance=client)
    importer_form = ImporterNumberForm()
    if request.method == "POST":
        if not can_edit:
            raise Http404
        form = ClientProfileForm(request.POST, request.FILES, instance=client)
        if form.is_valid():
            try:
                services.client_update_profile(actor=request.user, client=client, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Company profile saved.")
                return redirect("clients:profile", client_slug=client.slug)
    return render(
        request,
        "clients/profile.html",
        {
            "form": form,
            "can_edit": can_edit,
            "importer_form": importer_form,
            "importer_numbers": _importer_rows(client, staff=request.client_access.is_staff),
        },
    )


def _importer_rows(client, *, staff: bool) -> list[tuple[ImporterNumber, ImporterNumberVerifyForm | None]]:
    """Each number with, for staff and a pending number, its verify form (ids unique on the page)."""
    return [
        (
            importer,
            ImporterNumberVerifyForm(auto_id=f"id_verify_{importer.pk}_%s")
            if staff and not importer.is_verified
            else None,
        )
        for importer in ImporterNumber.objects.filter(client=client).select_related("verified_by")
    ]


@require_POST
@require_client_role(*ADMIN_ROLES)
def importer_number_add(request, client_slug):
    form = ImporterNumberForm(request.POST)
    if form.is_valid():
        try:
            importer = services.importer_number_add(
                actor=request.user,
                client=request.client,
                number=form.cleaned_data["number"],
                label=form.cleaned_data["label"],
            )
            if importer.is_verified:
                messages.success(request, f"Importer number {importer.number} added and verified.")
            else:
                messages.success(
                    request,
                    f"Importer number {importer.number} added. It is pending until your broker checks it "
                    "against your CBP Form 5106 or ACE account; until then no entries are routed to it "
                    "from the broker's reports.",
                )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("clients:profile", client_slug=client_slug)


@require_POST
@require_client_role(*ADMIN_ROLES)
def importer_number_remove(request, client_slug, importer_id):
    importer = selectors.importer_number_for_client(client=request.client, importer_id=importer_id)
    services.importer_number_remove(actor=request.user, importer=importer)
    messages.success(request, f"Importer number {importer.number} removed.")
    return redirect("clients:profile", client_slug=client_slug)


@require_POST
@require_client_role(*STAFF_ROLES)
def importer_number_verify(request, client_slug, importer_id):
    importer = selectors.importer_number_for_client(client=request.client, importer_id=importer_id)
    form = ImporterNumberVerifyForm(request.POST)
    if form.is_valid():
        try:
            services.importer_number_verify(
                actor=request.user,
                importer=importer,
                evidence=form.cleaned_data["evidence"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Importer number {importer.number} verified.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("clients:profile", client_slug=client_slug)


def letterhead_logo(request, client_slug):
    """The client's logo, served only to people who may see the client."""
    client = request.client
    if not client.letterhead_logo:
        raise Http404
    return file_response(
        client.letterhead_logo, as_attachment=False, content_type=_image_type(client.letterhead_logo.name)
    )


def _image_type(name: str) -> str:
    return "image/png" if name.lower().endswith(".png") else "image/jpeg"


@require_client_role(*ADMIN_ROLES)
def audit_trail(request, client_slug):
    client = request.client
    if request.method == "POST":
        export = services.audit_export_request(actor=request.user, client=client)
        messages.success(request, "The audit trail export has started; it appears below when ready.")
        return redirect("clients:audit_export", client_slug=client.slug, public_id=export.public_id)
    page = Paginator(selectors.client_audit_trail(client=client), 50).get_page(request.GET.get("page"))
    return render(request, "clients/audit.html", {"page": page})


@require_client_role(*ADMIN_ROLES)
def audit_export(request, client_slug, public_id):
    export = selectors.audit_export_for_client(client=request.client, public_id=public_id)
    template = (
        "includes/job_status.html" if request.headers.get("HX-Request") else "clients/audit_export.html"
    )
    return render(request, template, {"job": export, "download_url": _export_download_url(export)})


def _export_download_url(export):
    from django.urls import reverse

    if not export.file:
        return ""
    return reverse(
        "clients:audit_export_download",
        kwargs={"client_slug": export.client.slug, "public_id": export.public_id},
    )


@require_client_role(*ADMIN_ROLES)
def audit_export_download(request, client_slug, public_id):
    export = selectors.audit_export_for_client(client=request.client, public_id=public_id)
    if not export.file:
        raise Http404
    return file_response(export.file, filename=f"audit-trail-{client_slug}.csv")


def invitation_accept(request, token):
    """The link in an invitation email: join with the logged-in account or create one."""
    invitation = services.invitation_by_token(token=token)
    if invitation is None:
        return render(request, "clients/invitation_invalid.html", status=404)
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        if request.method == "POST":
            try:
                services.invitation_accept(invitation=invitation, user=user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("home")
            messages.success(request, f"You now have access to {invitation.client.legal_name}.")
            return redirect(invitation.client)
        return render(request, "clients/invitation_join.html", {"invitation": invitation})
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                invitation=invitation,
                user=None,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! You now have access to {invitation.client.legal_name}.")
            return redirect(invitation.client)
    return render(request, "clients/invitation_accept.html", {"invitation": invitation, "form": form})
