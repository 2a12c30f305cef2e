"""Protest pages of a client (run in the client's scope): drafts, the Form 19 PDF and CSV, filing, decisions."""

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Min
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from brokerage.forms import add_service_errors, submit_form
from brokerage.spreadsheets import safe_cell
from brokerage.storage import file_response
from brokerage.words import plural
from domain.protests import drafting
from refunds.planning import interest_basis_for

from . import authorization, decision_lists, documents, following, selectors, services
from .forms import (
    AcceleratedForm,
    BuildForm,
    DecisionForm,
    DecisionListForm,
    DescriptionForm,
    EntryNumberForm,
    FilingForm,
)
from .models import Protest


def _require_builder(request) -> None:
    if not selectors.may_build(request.client_access):
        raise Http404("Not available")


def protest_list(request, client_slug):
    client = request.client
    protests = list(selectors.client_protests(client=client).exclude(status=Protest.Status.DISCARDED)[:200])
    return render(
        request,
        "protests/list.html",
        {
            "drafts": [p for p in protests if p.status == Protest.Status.DRAFT],
            "protests": [p for p in protests if p.status != Protest.Status.DRAFT],
            "may_build": selectors.may_build(request.client_access),
            "counts": selectors.protest_counts(client=client),
        },
    )


def protest_new(request, client_slug):
    _require_builder(request)
    client = request.client
    data = request.POST if request.method == "POST" else (request.GET if "as_of" in request.GET else None)
    form = BuildForm(data, initial={"as_of": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            protests = services.protest_drafts_build(
                actor=request.user, client=client, as_of=form.cleaned_data["as_of"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            entries = sum(p.entry_count for p in protests)
            messages.success(
                request,
                f"{plural(len(protests), 'draft protest')} built with {plural(entries, 'entry', 'entries')}.",
            )
            return redirect("protests:list", client_slug=client_slug)
    as_of = timezone.localdate()
    if form.is_bound and form.is_valid():
        as_of = form.cleaned_data["as_of"]
    plan, in_drafts = selectors.protest_plan(client=client, as_of=as_of)
    return render(
        request,
        "protests/new.html",
        {
            "form": form,
            "plan": plan,
            "as_of": as_of,
            "in_drafts": in_drafts,
            "excluded": [(drafting.EXCLUSIONS[k], n) for k, n in sorted(plan.excluded.items())],
            "urgent_days": drafting.URGENT_DAYS,
        },
    )


def _detail_context(request, protest, **forms):
    page = Paginator(selectors.protest_lines(protest=protest), 200).get_page(request.GET.get("page"))
    today = timezone.localdate()
    return {
        "protest": protest,
        "page": page,
        "may_build": selectors.may_build(request.client_access),
        "is_staff": request.client_access.is_staff,
        "document": selectors.latest_document(protest=protest),
        "description_form": forms.get("description_form")
        or DescriptionForm(initial={"merchandise_description": protest.merchandise_description}),
        "entry_form": forms.get("entry_form") or EntryNumberForm(),
        "filing_form": forms.get("filing_form")
        or FilingForm(initial={"filed_on": today, "filed_by_party": "broker"}),
        "accelerated_form": forms.get("accelerated_form") or AcceleratedForm(initial={"requested_on": today}),
        "decision_form": forms.get("decision_form") or DecisionForm(initial={"decided_on": today}),
        "decision_list_form": forms.get("decision_list_form") or DecisionListForm(),
        "decision_lists": selectors.decision_lists(protest=protest)[:5]
        if request.client_access.is_staff
        else [],
        "withdrawal_problem": following.withdrawal_problem(protest=protest, today=today)
        if protest.status == Protest.Status.FILED
        else None,
        # What the interest estimate rests on: period and IRS rates (spec §7a, refunds.InterestRate).
        "interest_basis": interest_basis_for(
            from_date=selectors.protest_lines(protest=protest)
            .filter(entry_summary_date__isnull=False)
            .aggregate(earliest=Min("entry_summary_date"))["earliest"],
            to_date=protest.as_of,
        ),
    }


def _detail_form(request, protest, form, name: str, call, success):
    """A form of a protest's page: back to the page when the service took it, the page with the form's errors
    when not. `success` is the message, or makes it from the form's data."""
    return submit_form(
        request,
        form,
        call,
        success=(lambda _: success(form.cleaned_data)) if callable(success) else success,
        done=redirect(protest),
        page=lambda form: render(
            request, "protests/detail.html", _detail_context(request, protest, **{name: form})
        ),
    )


def protest_detail(request, client_slug, public_id):
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return render(request, "protests/detail.html", _detail_context(request, protest))


@require_POST
def protest_description(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return _detail_form(
        request,
        protest,
        DescriptionForm(request.POST),
        "description_form",
        lambda **data: services.protest_update(actor=request.user, protest=protest, **data),
        "Description of the merchandise saved.",
    )


@require_POST
def protest_entry_add(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return _detail_form(
        request,
        protest,
        EntryNumberForm(request.POST),
        "entry_form",
        lambda **data: services.protest_entry_add(actor=request.user, protest=protest, **data),
        lambda data: f"Entry {data['entry_number']} added.",
    )


@require_POST
def protest_entry_remove(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    form = EntryNumberForm(request.POST)
    if form.is_valid():
        try:
            services.protest_entry_remove(actor=request.user, protest=protest, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Entry {form.cleaned_data['entry_number']} removed from the draft.")
    return redirect(protest)


@require_POST
def protest_discard(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    try:
        services.protest_discard(actor=request.user, protest=protest)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(protest)
    messages.success(request, "Draft discarded; its entries go into the next drafts built.")
    return redirect("protests:list", client_slug=client_slug)


# --- Documents -----------------------------------------------------------------------------------


@require_POST
def protest_pdf_request(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    documents.protest_document_request(actor=request.user, protest=protest)
    messages.success(request, "The PDF is being prepared; it appears here when ready.")
    return redirect(protest)


def protest_pdf(request, client_slug, public_id):
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    document = selectors.latest_document(protest=protest)
    if document is None or not document.file or document.status != document.Status.SUCCEEDED:
        raise Http404("No PDF yet")
    return file_response(
        document.file, filename=documents.pdf_filename(protest), content_type="application/pdf"
    )


def protest_status(request, client_slug, public_id):
    """The PDF job's row, re-polled by htmx while it runs."""
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return render(
        request,
        "protests/_document.html",
        {
            "protest": protest,
            "document": selectors.latest_document(protest=protest),
            "may_build": selectors.may_build(request.client_access),
        },
    )


def protest_csv(request, client_slug, public_id):
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    body = documents.entries_csv(selectors.protest_lines(protest=protest).values_list(*documents.CSV_FIELDS))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, documents.csv_filename(protest))
    return response


# --- Following -----------------------------------------------------------------------------------


@require_POST
def protest_filing(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return _detail_form(
        request,
        protest,
        FilingForm(request.POST),
        "filing_form",
        lambda **data: following.protest_record_filing(actor=request.user, protest=protest, **data),
        lambda data: f"Filing recorded: protest {data['protest_number'].strip().upper()}.",
    )


@require_POST
def protest_accelerated(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return _detail_form(
        request,
        protest,
        AcceleratedForm(request.POST),
        "accelerated_form",
        lambda **data: following.protest_request_accelerated(actor=request.user, protest=protest, **data),
        "Accelerated disposition recorded.",
    )


@require_POST
def protest_decision(request, client_slug, public_id):
    if not request.client_access.is_staff:
        raise Http404("Not available")
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    form = DecisionForm(request.POST)
    return _detail_form(
        request,
        protest,
        form,
        "decision_form",
        lambda **_: following.protest_decide(actor=request.user, protest=protest, **form.service_arguments()),
        "CBP's decision recorded.",
    )


@require_POST
def protest_decision_list(request, client_slug, public_id):
    if not request.client_access.is_staff:
        raise Http404("Not available")
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    form = DecisionListForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload = decision_lists.protest_decision_list_upload(
                actor=request.user, protest=protest, uploaded=form.cleaned_data["file"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, "CBP's decision list is being read; its decisions appear when it is done."
            )
            return redirect(upload)
    return render(request, "protests/detail.html", _detail_context(request, protest, decision_list_form=form))


def _decision_list(request, public_id, list_id):
    if not request.client_access.is_staff:
        raise Http404("Not available")
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    return selectors.decision_list_for_protest(protest=protest, public_id=list_id)


def protest_decision_list_status(request, client_slug, public_id, list_id):
    """The decision list's job row and the rows not applied; htmx re-polls the status part while it runs."""
    upload = _decision_list(request, public_id, list_id)
    context = {"upload": upload, "job": upload, "protest": upload.protest, "problems": upload.problems[:200]}
    if request.headers.get("HX-Request"):
        return render(request, "protests/_decision_list_status.html", context)
    return render(request, "protests/decision_list.html", context)


def protest_decision_list_problems(request, client_slug, public_id, list_id):
    """The rows of the decision list that were not applied, as CSV."""
    upload = _decision_list(request, public_id, list_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "entry_number", "reason"])
    for row_number, entry_number, reason in upload.problems:
        writer.writerow([row_number or "", safe_cell(entry_number), safe_cell(reason)])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"not-applied-{upload.public_id}.csv")
    return response


@require_POST
def protest_withdraw(request, client_slug, public_id):
    _require_builder(request)
    protest = selectors.protest_for_client(client=request.client, public_id=public_id)
    try:
        following.protest_withdraw(actor=request.user, protest=protest)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Protest withdrawn: its entries are back on their CAPE path.")
    return redirect(protest)


# --- The client admin's protest authorization (an onboarding checklist item) ----------------------------


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _back_to_checklist(client_slug: str):
    return redirect(
        reverse("clients:onboarding", kwargs={"client_slug": client_slug}) + "#item-protest_authorization"
    )


@require_POST
def protest_authorize(request, client_slug):
    if not request.client_access.is_client_admin:
        raise Http404("Not available")
    from clients.onboarding.forms import AuthorizationForm

    from .templatetags.protests import client_numbers

    numbers = list(client_numbers(request.client))
    form = AuthorizationForm(request.POST, numbers=numbers, prefix="protest")
    if form.is_valid():
        try:
            authorization.protest_authorization_grant(
                actor=request.user,
                client=request.client,
                importer_numbers=form.cleaned_data["importer_numbers"],
                ip_address=_client_ip(request),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Protest authorization given. You can revoke it here at any time.")
    else:
        messages.error(request, "Choose the importer numbers and confirm the authorization.")
    return _back_to_checklist(client_slug)


@require_POST
def protest_authorization_revoke(request, client_slug):
    if not request.client_access.is_client_admin:
        raise Http404("Not available")
    try:
        authorization.protest_authorization_revoke(
            actor=request.user, client=request.client, ip_address=_client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, "Protest authorization revoked: the brokerage no longer files protests for you."
        )
    return _back_to_checklist(client_slug)
