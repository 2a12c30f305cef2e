"""Entry and report pages of a client (run in the client's scope)."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render

from brokerage.spreadsheets import safe_cell

from . import selectors, services
from .forms import ReportUploadForm


def reports(request, client_slug):
    client = request.client
    form = ReportUploadForm()
    if request.method == "POST":
        form = ReportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            queued = 0
            for uploaded in form.cleaned_data["files"]:
                try:
                    report, created = services.report_upload(
                        actor=request.user,
                        client=client,
                        uploaded=uploaded,
                        reprocess=form.cleaned_data["reprocess"],
                    )
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                    continue
                if created:
                    queued += 1
                else:
                    messages.warning(
                        request,
                        f"{uploaded.name} was already imported on {report.created_at:%b %d, %Y at %H:%M}: nothing changed. "
                        "Tick “Import again” to re-process it.",
                    )
            if queued:
                messages.success(
                    request, f"{queued} report{'s' if queued > 1 else ''} received; the import runs below."
                )
            return redirect("entries:reports", client_slug=client.slug)
    page = Paginator(selectors.client_reports(client=client), 20).get_page(request.GET.get("page"))
    return render(request, "entries/reports.html", {"form": form, "page": page})


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

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def stream():
        yield writer.writerow(["row", "entry_number", "column", "reason"])
        for row in rows:
            yield writer.writerow([safe_cell(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="errors-{report.original_name.rsplit(".", 1)[0][:60]}.csv"'
    )
    return response


def report_file(request, client_slug, public_id):
    report = selectors.report_for_client(client=request.client, public_id=public_id)
    if not report.file:
        raise Http404
    return FileResponse(report.file.open("rb"), as_attachment=True, filename=report.original_name)


def entry_list(request, client_slug):
    entries = selectors.client_entries(client=request.client).only(
        "entry_number",
        "entry_type",
        "importer_number",
        "entry_date",
        "liquidation_status",
        "ieepa_duty",
        "section_122_duty",
        "refund_path",
        "exclusion_reason",
        "next_deadline",
        "next_deadline_kind",
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "entries/entry_list.html", {"page": page})
