"""Entry and report pages of a client (run in the client's scope)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from brokerage.forms import add_service_errors
from brokerage.spreadsheets import csv_download, safe_cell
from brokerage.storage import file_response
from domain.deadlines import CURRENT_RULES
from domain.interest import estimate_interest
from domain.interest import interest_basis as interest_basis_of
from domain.vocabulary import REASON_LABELS

from . import hooks, selectors, services
from .forms import EntryBulkForm, EntryFlagsForm, ReportUploadForm
from .ingestion import services as ingestion_services
from .models import EntryReport, RefundPath
from .reclassification import FACT_FIELDS, classify_facts
from .registry import current_registry


def reports(request, client_slug):
    client = request.client
    form = ReportUploadForm()
    if request.method == "POST":
        form = ReportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            queued = []
            for uploaded in form.cleaned_data["files"]:
                try:
                    report, created = ingestion_services.report_upload(
                        actor=request.user,
                        client=client,
                        uploaded=uploaded,
                        reprocess=form.cleaned_data["reprocess"],
                        replaces=form.cleaned_data["replaces"],
                    )
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                    continue
                if created and report.status == EntryReport.Status.FAILED:
                    messages.error(request, f"{uploaded.name}: {report.message}")  # refused by its content
                elif created:
                    queued.append(report)
                elif report.status == EntryReport.Status.SUCCEEDED:
                    messages.warning(
                        request,
                        f"{uploaded.name} was already imported on {report.created_at:%b %d, %Y at %H:%M}: nothing changed. "
                        "Tick “Import again” to re-process it.",
                    )
                else:  # the same file, uploaded moments ago (by this user or another) and not done yet
                    messages.warning(
                        request,
                        f"{uploaded.name} is already being imported (uploaded {report.created_at:%b %d, %Y at %H:%M}); "
                        "its progress is below.",
                    )
            if queued:
                # Without a worker (the embedded default) the imports ran while the upload was received.
                for report in queued:
                    report.refresh_from_db(fields=["status"])
                done = all(report.is_finished for report in queued)
                count = f"{len(queued)} report{'s' if len(queued) > 1 else ''} received"
                messages.success(
                    request,
                    f"{count} and processed: each one's result is below."
                    if done
                    else f"{count}; each import's progress is shown below until it is done.",
                )
            return redirect("entries:reports", client_slug=client.slug)
    page = Paginator(selectors.client_reports(client=client), 20).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "polling": any(not r.is_finished for r in page)}
    if request.headers.get("HX-Request"):
        return render(request, "entries/_report_rows.html", context)
    return render(request, "entries/reports.html", context)


def report_detail(request, client_slug, public_id):
    report = selectors.report_for_client(client=request.client, public_id=public_id)
    rejections = selectors.report_rejections(report=report)
    context = {
        "report": report,
        "job": report,
        "rejections": rejections[:200],
        "rejection_count": report.rows_rejected,
    }
    if request.headers.get("HX-Request"):
        return render(request, "entries/report_status.html", context)
    return render(request, "entries/report_detail.html", context)


def report_errors_csv(request, client_slug, public_id):
    report = selectors.report_for_client(client=request.client, public_id=public_id)
    rows = list(
        selectors.report_rejections(report=report).values_list(
            "row_number", "entry_number", "column", "reason"
        )
    )
    return csv_download(
        header=["row", "entry_number", "column", "reason"],
        rows=([safe_cell(v) for v in row] for row in rows),
        filename=f"errors-{report.original_name.rsplit('.', 1)[0][:60]}.csv",
    )


def report_file(request, client_slug, public_id):
    report = selectors.report_for_client(client=request.client, public_id=public_id)
    if not report.file:
        raise Http404
    return file_response(report.file, filename=report.original_name)


def entry_list(request, client_slug):
    client = request.client
    today = timezone.localdate()
    entries = selectors.filtered_entries(client=client, params=request.GET, today=today)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        return _export(client, entries, export, today)
    entries = entries.only(
        "client_id",
        "entry_number",
        "entry_type",
        "importer_number",
        "entry_date",
        "entry_summary_date",  # with the dates and duties: the staff's collection-period warning
        "liquidation_status",
        "ieepa_duty",
        "section_122_duty",
        "refund_path",
        "exclusion_reason",
        "next_deadline",
        "next_deadline_kind",
    )
    size = selectors.page_size(request.GET.get("per"))
    page = Paginator(entries, size).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    sort = selectors.sort_key(request.GET.get("sort", ""))
    unsorted = filters.copy()
    unsorted.pop("sort", None)
    is_staff = request.client_access.is_staff
    return render(
        request,
        "entries/entry_list.html",
        {
            "page": page,
            "totals": selectors.entry_totals(client=client, today=today),
            "figures": selectors.FIGURES,
            "paths": RefundPath.choices,
            "reasons": EXCLUSION_REASONS,
            "importers": selectors.importer_numbers_in_use(client=client),
            "windows": [
                ("7", "7 days"),
                ("30", "30 days"),
                ("60", "60 days"),
                ("90", "90 days"),
                ("past", "past every deadline"),
            ],
            "filters": request.GET,
            "filter_query": filters.urlencode(),
            "unsorted_query": unsorted.urlencode(),
            "sort": sort,
            "columns": _columns(sort),
            "page_sizes": selectors.PAGE_SIZES,
            "page_size": size,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "bulk_form": EntryBulkForm(marks=services.entry_marks()) if is_staff else None,
            "next_query": request.GET.urlencode(),
            "any_filter": any(request.GET.get(k) for k in ("path", "reason", "importer", "window", "q")),
        },
    )


_COLUMNS = (
    ("entry", "Entry", ""),
    ("type", "Type", ""),
    ("importer", "Importer", ""),
    ("entry_date", "Entry date", ""),
    ("path", "Refund path", ""),
    ("ieepa", "IEEPA duty", "text-end"),
    ("s122", "Section 122", "text-end"),
    ("deadline", "Next deadline", ""),
)


def _columns(sort: str) -> list[dict]:
    """The table's headers: each sorts by its column, and again the other way when it is the current sort."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    return [
        {
            "key": name,
            "label": label,
            "css": css,
            "sort": f"-{name}" if name == key and not descending else name,
            "aria": ("descending" if descending else "ascending") if name == key else "none",
        }
        for name, label, css in _COLUMNS
    ]


@require_POST
def entry_bulk(request, client_slug):
    """Staff mark or clear a flag on the entries ticked on the entries page, then go back to that page."""
    if not request.client_access.is_staff:
        raise Http404
    client = request.client
    back = reverse("entries:list", kwargs={"client_slug": client.slug})
    query = request.POST.get("next_query", "")
    if query and not query.startswith("&"):
        back += "?" + query
    form = EntryBulkForm(request.POST, marks=services.entry_marks())
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    verb, _, mark = form.cleaned_data["action"].partition(":")
    try:
        changed = services.entries_bulk_mark(
            actor=request.user,
            client=client,
            entry_numbers=form.cleaned_data["entries"],
            mark=mark,
            value=verb == "mark",
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    label = services.entry_marks()[mark]
    count = len(form.cleaned_data["entries"])
    messages.success(
        request,
        f"{'Marked' if verb == 'mark' else 'Cleared'} “{label}” on {changed:,} of the {count:,} selected "
        f"entr{'y' if count == 1 else 'ies'} (the others already were); their refund paths are up to date.",
    )
    return redirect(back)


# Every reason an entry can store, from the one list of reasons and their labels (needs-data reasons too:
# the import and re-classification store them in exclusion_reason).
EXCLUSION_REASONS = [(str(reason), label) for reason, label in REASON_LABELS.items()]


def _export(client, entries, fmt: str, today):
    from .exports import EXPORT_COLUMNS, human_rows, stored_export_rows

    rows = human_rows(stored_export_rows(entries=entries))
    filename = f"entries-{client.slug}-{today.isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_download(header=EXPORT_COLUMNS, rows=rows, filename=filename)
    import io

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Entries")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def entry_detail(request, client_slug, entry_number):
    client = request.client
    entry = selectors.entry_for_client(client=client, entry_number=entry_number)
    form = EntryFlagsForm(
        initial={
            "drawback": entry.marked_drawback,
            "protest": entry.marked_protest,
            "reconciliation": entry.marked_reconciliation,
            "surety_paid": entry.marked_surety_paid,
            "reconciliation_filed": entry.marked_reconciliation_filed,
        }
    )
    if request.method == "POST":
        if not request.client_access.is_staff:
            raise Http404
        form = EntryFlagsForm(request.POST)
        if form.is_valid():
            try:
                services.entry_set_flags(actor=request.user, entry=entry, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    f"Flags of entry {entry} saved; its path is now {entry.get_refund_path_display()}.",
                )
                return redirect(entry)
    today = timezone.localdate()
    live = classify_facts(
        {f: getattr(entry, f) for f in FACT_FIELDS if f != "id"} | {"id": entry.pk},
        as_of=today,
        registry=current_registry(),
    )
    interest = interest_basis = None
    refundable = entry.ieepa_duty
    # The IRS rates are refunds' (InterestRate), above entries: it provides the hook.
    rates = hooks.interest_rate_table() if refundable and entry.entry_summary_date else None
    if rates and rates.rates[0][0] <= entry.entry_summary_date <= today:
        interest = estimate_interest(
            principal=refundable, from_date=entry.entry_summary_date, to_date=today, table=rates
        )
        interest_basis = interest_basis_of(from_date=entry.entry_summary_date, to_date=today, table=rates)
    return render(
        request,
        "entries/entry_detail.html",
        {
            "entry": entry,
            "live": live,
            "rules": CURRENT_RULES,
            "today": today,
            "interest": interest,
            "interest_basis": interest_basis,
            "lines": entry.lines.all(),
            "history": entry.history.select_related("actor")[:50],
            "timeline": _timeline(entry, live),
            "form": form,
        },
    )


def rule_changes(request, client_slug):
    """Every rule-set notice of the client: the entries whose path a new rule set changed, old → new."""
    from .rule_changes import change_rows, client_rule_notices

    notices = [(notice, change_rows(notice.changes)) for notice in client_rule_notices(client=request.client)]
    return render(request, "entries/rule_changes.html", {"notices": notices})


def _timeline(entry, live) -> list[dict]:
    from domain import deadlines

    items = [
        ("Entry date", entry.entry_date),
        ("Entry summary date", entry.entry_summary_date),
        ("Projected liquidation", live.projected_liquidation),
        ("Liquidated", entry.liquidation_date),
        ("CAPE window closes (liquidation + 80 days)", live.cape_window_closes),
        ("Protest deadline (liquidation + 180 days)", live.protest_deadline),
    ]
    if entry.court_deadline:  # the protest was denied: 180 days to contest it in court (28 U.S.C. 2636(a))
        items.append(("Court deadline (CIT action, denial + 180 days)", entry.court_deadline))
    if entry.entry_date and not entry.liquidation_date:
        items.append(
            (
                "Protest horizon (entry date + 494 days)",
                deadlines.protest_horizon(entry_date=entry.entry_date),
            )
        )
    today = timezone.localdate()
    return [
        {"label": label, "date": day, "past": day < today, "next": day == live.next_deadline}
        for label, day in sorted((i for i in items if i[1]), key=lambda i: i[1])
    ]
