"""Broker staff pages outside any single client: clients and assignments (the caseload dashboard and the
deadline alerts are staff.views.caseload)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.forms import add_service_errors
from brokerage.words import possessive
from clients import selectors, services
from clients.forms import AssignmentForm, ClientCreateForm
from clients.models import Client
from clients.tenancy import manager_required, staff_required


@staff_required
def client_list(request):
    form = ClientCreateForm(request.POST or None) if request.user.is_staff_manager else None
    if request.method == "POST":
        if form is None:
            return redirect("staff:clients")
        if form.is_valid():
            try:
                client = services.client_create(
                    actor=request.user,
                    slug=form.cleaned_data["slug"],
                    legal_name=form.cleaned_data["legal_name"],
                    importer_numbers=form.cleaned_data["importer_numbers"],
                )
                if form.cleaned_data["staff"]:
                    services.staff_assign(actor=request.user, client=client, staff=form.cleaned_data["staff"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{client.legal_name} added.")
                return redirect("clients:team", client_slug=client.slug)
    clients = list(selectors.caseload_clients(user=request.user))
    iors = selectors.importer_numbers_by_client(client_ids=[c.pk for c in clients])
    for client in clients:
        client.ior_list = iors.get(client.pk, [])
    return render(request, "staff/clients.html", {"clients": clients, "form": form})


@manager_required
def assignments(request):
    clients = list(selectors.caseload_clients(user=request.user))
    return render(request, "staff/assignments.html", {"clients": clients, "form": AssignmentForm()})


@require_POST
@manager_required
def assignment_change(request, client_id):
    client = get_object_or_404(Client, pk=client_id)
    form = AssignmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a staff member.")
        return redirect("staff:assignments")
    staff = form.cleaned_data["staff"]
    try:
        if request.POST.get("action") == "unassign":
            services.staff_unassign(actor=request.user, client=client, staff=staff)
            messages.success(request, f"{client.legal_name} removed from {possessive(str(staff))} caseload.")
        else:
            services.staff_assign(actor=request.user, client=client, staff=staff)
            messages.success(request, f"{client.legal_name} assigned to {staff}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("staff:assignments")
