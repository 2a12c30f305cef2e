"""Staff pages for broker-wide reports (outside any one client)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render

from brokerage.storage import file_response
from clients.tenancy import staff_required
from entries.forms import BrokerReportForm
from entries.ingestion.routing import broker_report_for_user, broker_report_upload
from entries.models import BrokerReport


@staff_required
def rule_changes(request):
    """Per client on the caseload, what the last rule-set change did to its entries (each client's list)."""
    from django.utils import timezone

    from entries.rule_changes import change_rows, staff_rule_notices

    notices = [(notice, change_rows(notice.changes)) for notice in staff_rule_notices(user=request.user)]
    return render(request, "staff/rule_changes.html", {"notices": notices, "today": timezone.localdate()})


@staff_required
def broker_reports(request):
    form = BrokerReportForm()
    if request.method == "POST":
        form = BrokerReportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = broker_report_upload(actor=request.user, uploaded=form.cleaned_data["file"])
            except ValidationError as error:
                form.add_error("file", error)
            else:
                messages.success(
                    request, f"{report.original_name} received; its rows are being routed to your clients."
                )
                return redirect(report)
    reports = BrokerReport.objects.select_related("created_by").order_by("-created_at")
    if not request.user.is_staff_manager:
        reports = reports.filter(created_by=request.user)
    return render(request, "staff/broker_reports.html", {"form": form, "reports": reports[:50]})


@staff_required
def broker_report(request, public_id):
    report = broker_report_for_user(user=request.user, public_id=public_id)
    template = (
        "staff/broker_report_status.html" if request.headers.get("HX-Request") else "staff/broker_report.html"
    )
    return render(request, template, {"report": report})


@staff_required
def broker_report_unmatched(request, public_id):
    report = broker_report_for_user(user=request.user, public_id=public_id)
    if not report.unmatched_file:
        raise Http404
    return file_response(report.unmatched_file, filename=f"not-routed-{report.original_name}.csv")
