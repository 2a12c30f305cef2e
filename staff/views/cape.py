"""Staff pages for CAPE across the clients a staff member may see: caseload totals and rejected entries."""

from django.shortcuts import render

from clients.tenancy import staff_required
from refunds import planning, selectors


@staff_required
def cape(request):
    rows, overall = selectors.caseload_ledger_totals(user=request.user)
    return render(
        request,
        "staff/cape.html",
        {
            "rows": rows,
            "overall": overall,
            "rejections": selectors.rejection_queue(user=request.user),
            "filer_codes": planning.brokerage_filer_codes(),
        },
    )
