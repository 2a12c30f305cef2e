"""CAPE claims and CBP reports of a client (run in the client's scope); letters live in clients."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from brokerage.forms import add_service_errors
from brokerage.spreadsheets import csv_download, safe_cell
from brokerage.storage import file_response
from brokerage.words import plural
from clients.tenancy import ADMIN_ROLES
from domain import cape

from . import planning, selectors, services
from .forms import AllowRefileForm, BuildForm, CbpReportForm, FilingForm
from .models import CbpReport, Declaration, DeclarationEntry


def _require_builder(request) -> None:
    if not selectors.may_build(request.client_access):
        raise Http404("Not available")


def claims(request, client_slug):
    client = request.client
    return render(
        request,
        "refunds/claims.html",
        {
            "totals": selectors.ledger_totals(client=client),
            "declarations": selectors.client_declarations(client=client)[:100],
            "rejections": selectors.client_rejections(client=client)[:100],
            "may_build": selectors.may_build(request.client_access),
            "own_files": planning.importer_own_files(client=client, as_of=timezone.localdate()),
            "may_download_own": request.client_access.role in ADMIN_ROLES,
            "today": timezone.localdate(),
        },
    )


def own_files(request, client_slug):
    """The importer's own CAPE file(s) for today: its entries other brokers filed, which the broker may not
    declare; the client admin files them from the importer's ACE account. Nothing is reserved."""
    if request.client_access.role not in ADMIN_ROLES:
        raise Http404("Not available")
    importer = request.GET.get("importer", "")
    groups = planning.importer_own_files(
        client=request.client, as_of=timezone.localdate(), importer_number=importer
    )
    files = [(f.filename, f.file.content) for group in groups for f in group.files]
    if not files:
        raise Http404("No entry for the importer to declare today")
    if len(files) == 1:
        response = HttpResponse(files[0][1], content_type="text/csv")
        response["Content-Disposition"] = content_disposition_header(True, files[0][0])
        return response
    response = HttpResponse(cape.zip_files(files), content_type="application/zip")
    name = f"cape_{request.client.slug}_{timezone.localdate():%Y%m%d}_own"
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.zip")
    return response


def declaration_new(request, client_slug):
    _require_builder(request)
    client = request.client
    importers = selectors.importer_number_choices(client=client)
    data = request.POST if request.method == "POST" else (request.GET if "as_of" in request.GET else None)
    form = BuildForm(data, importer_numbers=importers, initial={"as_of": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.declaration_batch_build(
                actor=request.user,
                client=client,
                as_of=form.cleaned_data["as_of"],
                importer_number=form.cleaned_data["importer_number"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"{plural(batch.entry_count, 'entry', 'entries')} reserved in "
                f"{plural(batch.declarations.count(), 'draft declaration')}. "
                "Download the files, file each one in the ACE Portal, then record its CAPE claim number.",
            )
            return redirect(batch)
    plan = page = None
    as_of, importer = timezone.localdate(), ""
    if form.is_bound:
        form.is_valid()
        as_of, importer = form.cleaned_data.get("as_of"), form.cleaned_data.get("importer_number", "")
    if as_of is not None:
        plan = planning.declaration_plan(client=client, as_of=as_of, importer_number=importer)
        page = Paginator(plan.eligible, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "refunds/declaration_new.html",
        {"form": form, "plan": plan, "page": page, "max_per_file": cape.MAX_ENTRIES_PER_FILE},
    )


@require_POST
def build_selected(request, client_slug):
    """Staff declare the entries ticked on the entries page (POST from its bulk form): one build as of today,
    under every guard of a full build; then the new batch, or back to the entries page when nothing could be
    declared. Another client's entries are never found (the lookup is scoped to this client)."""
    _require_builder(request)
    client = request.client
    back = reverse("entries:list", kwargs={"client_slug": client.slug})
    query = request.POST.get("next_query", "")
    if query and not query.startswith("&"):
        back += "?" + query
    ids = [int(value) for value in request.POST.getlist("entry_ids") if value.strip().isdigit()]
    asked = len(request.POST.getlist("entries")) + len(ids)
    if not asked:
        messages.error(request, "Select at least one entry to add to a CAPE declaration.")
        return redirect(back)
    selected = selectors.selected_entry_ids(
        client=client, entry_numbers=request.POST.getlist("entries"), entry_ids=ids
    )
    if not selected:
        messages.error(request, "None of the selected entries is one of this client's: nothing was declared.")
        return redirect(back)
    try:
        batch = services.declaration_batch_build(
            actor=request.user, client=client, as_of=timezone.localdate(), entry_ids=selected
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    held = len(selected) - batch.entry_count
    text = (
        f"{plural(batch.entry_count, 'selected entry', 'selected entries')} declared in "
        f"{plural(batch.declarations.count(), 'draft declaration')} as of {batch.as_of:%Y-%m-%d}"
    )
    if held:
        text += f"; {plural(held, 'entry', 'entries')} not declared"
    text += ". " + " ".join(batch.warnings) if batch.warnings else "."
    text += " Download the files, file each one in the ACE Portal, then record its CAPE claim number."
    (messages.warning if held else messages.success)(request, text)
    return redirect(batch)


def batch_detail(request, client_slug, public_id):
    batch = selectors.batch_for_client(client=request.client, public_id=public_id)
    return render(
        request,
        "refunds/batch.html",
        {
            "batch": batch,
            "declarations": selectors.batch_declarations(batch=batch),
            "interest_basis": planning.declared_interest_basis(batch=batch),
        },
    )


def batch_zip(request, client_slug, public_id):
    batch = selectors.batch_for_client(client=request.client, public_id=public_id)
    files = [
        (d.filename, selectors.declaration_content(declaration=d))
        for d in selectors.batch_declarations(batch=batch).exclude(status=Declaration.Status.DISCARDED)
    ]
    if not files:
        raise Http404("No file left in this batch")
    response = HttpResponse(cape.zip_files(files), content_type="application/zip")
    name = files[0][0].rsplit("_", 1)[0]
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.zip")
    return response


def declaration_detail(request, client_slug, public_id):
    declaration = selectors.declaration_for_client(client=request.client, public_id=public_id)
    page = Paginator(selectors.declaration_ledger(declaration=declaration), 100).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "refunds/declaration.html",
        {
            "declaration": declaration,
            "page": page,
            "may_build": selectors.may_build(request.client_access),
            "filing_form": FilingForm(initial={"filed_on": timezone.localdate()}),
            "reports": _declaration_reports(declaration=declaration)[:20],
            "interest_basis": planning.declared_interest_basis(
                batch=declaration.batch, declaration=declaration
            ),
        },
    )


def _declaration_reports(*, declaration: Declaration):
    """CBP reports uploaded for this declaration, and results files (matched by claim number) that answered
    for its entries; newest first. Belongs in selectors.py, which this change could not edit."""
    answered = (
        DeclarationEntry.objects.filter(
            client=declaration.client, declaration=declaration, result_report__isnull=False
        )
        .values("result_report_id")
        .distinct()
    )
    return (
        CbpReport.objects.filter(client=declaration.client)
        .filter(Q(declaration=declaration) | Q(pk__in=answered))
        .select_related("client", "created_by")
        .order_by("-created_at", "-pk")
    )


def declaration_file(request, client_slug, public_id):
    declaration = selectors.declaration_for_client(client=request.client, public_id=public_id)
    content = selectors.declaration_content(declaration=declaration)
    response = HttpResponse(content, content_type="text/csv")
    response["Content-Disposition"] = content_disposition_header(True, declaration.filename)
    return response


@require_POST
def declaration_filing(request, client_slug, public_id):
    _require_builder(request)
    declaration = selectors.declaration_for_client(client=request.client, public_id=public_id)
    form = FilingForm(request.POST)
    if form.is_valid():
        try:
            services.declaration_record_filing(
                actor=request.user, declaration=declaration, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Filing recorded: {declaration.filename} is CAPE claim {form.cleaned_data['claim_number'].strip().upper()}.",
            )
            return redirect(declaration)
    page = Paginator(selectors.declaration_ledger(declaration=declaration), 100).get_page(1)
    return render(
        request,
        "refunds/declaration.html",
        {"declaration": declaration, "page": page, "may_build": True, "filing_form": form, "reports": []},
    )


@require_POST
def declaration_discard(request, client_slug, public_id):
    _require_builder(request)
    declaration = selectors.declaration_for_client(client=request.client, public_id=public_id)
    try:
        services.declaration_discard(actor=request.user, declaration=declaration)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(declaration)
    messages.success(
        request, f"{declaration.filename} discarded; its entries go into the next declaration built."
    )
    return redirect("refunds:claims", client_slug=client_slug)


@require_POST
def declaration_allow_refile(request, client_slug, public_id):
    if not request.client_access.is_staff:
        raise Http404("Not available")
    declaration = selectors.declaration_for_client(client=request.client, public_id=public_id)
    form = AllowRefileForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which entry and what was done about CBP's reason.")
        return redirect(declaration)
    try:
        services.declaration_entry_allow_refile(
            actor=request.user, declaration=declaration, **form.cleaned_data
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The entry goes into the next declaration built.")
    return redirect(declaration)


def reports(request, client_slug):
    client = request.client
    filed = selectors.client_declarations(client=client).filter(status__in=selectors.FILED_STATUSES)
    may_upload = request.client_access.role in ADMIN_ROLES
    form = CbpReportForm(declarations=filed) if may_upload else None
    if request.method == "POST":
        if not may_upload:
            raise Http404("Not available")
        form = CbpReportForm(request.POST, request.FILES, declarations=filed)
        if form.is_valid():
            try:
                report = services.cbp_report_upload(
                    actor=request.user,
                    client=client,
                    kind=form.cleaned_data["kind"],
                    uploaded=form.cleaned_data["file"],
                    declaration=form.cleaned_data["declaration"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, f"{report.original_name} received; it is matched to the ledger below."
                )
                return redirect(report)
    page = Paginator(selectors.client_cbp_reports(client=client), 20).get_page(request.GET.get("page"))
    return render(request, "refunds/reports.html", {"form": form, "page": page})


def _report_declarations(*, report: CbpReport) -> list[dict]:
    """The declarations a finished CBP results file answered for, each with this file's accepted/rejected
    split, so its page links to them (a file matched by claim number may cover several declarations).

    Reads the ledger rows the file set (result_report); belongs in selectors.py, which this change could not
    edit.
    """
    if report.kind != CbpReport.Kind.RESULTS or report.status != CbpReport.Status.SUCCEEDED:
        return []
    status = DeclarationEntry.Status
    counts = list(
        DeclarationEntry.objects.filter(client=report.client, result_report=report)
        .values("declaration_id")
        .annotate(
            accepted=Count("pk", filter=Q(status=status.ACCEPTED)),
            rejected=Count("pk", filter=Q(status=status.REJECTED)),
        )
        .order_by()
    )
    declarations = selectors.client_declarations(client=report.client).in_bulk(
        [row["declaration_id"] for row in counts]
    )
    rows = [
        {
            "declaration": declarations[row["declaration_id"]],
            "accepted": row["accepted"],
            "rejected": row["rejected"],
        }
        for row in counts
        if row["declaration_id"] in declarations
    ]
    return sorted(rows, key=lambda row: (row["declaration"].claim_number, row["declaration"].sequence))


def report_detail(request, client_slug, public_id):
    report = selectors.cbp_report_for_client(client=request.client, public_id=public_id)
    context = {
        "report": report,
        "job": report,
        "problems": selectors.report_problems(report=report)[:200],
        "declarations": _report_declarations(report=report),
    }
    if request.headers.get("HX-Request"):
        return render(request, "refunds/report_status.html", context)
    return render(request, "refunds/report.html", context)


def report_problems_csv(request, client_slug, public_id):
    report = selectors.cbp_report_for_client(client=request.client, public_id=public_id)
    rows = selectors.report_problems(report=report).values_list(
        "row_number", "entry_number", "claim_number", "reason"
    )
    return csv_download(
        header=["row", "entry_number", "claim_number", "reason"],
        rows=([safe_cell(v) for v in row] for row in rows.iterator(chunk_size=5000)),
        filename=f"unmatched-{report.public_id}.csv",
    )


def report_file(request, client_slug, public_id):
    report = selectors.cbp_report_for_client(client=request.client, public_id=public_id)
    if not report.file:
        raise Http404
    return file_response(report.file, filename=report.original_name)
