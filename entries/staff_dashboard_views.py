"""The staff caseload dashboard and the deadline alerts page (outside any client; staff only, others 404)."""

from django.shortcuts import render
from django.utils import timezone

from clients.selectors import staff_users
from clients.tenancy import staff_required

from .charts import horizontal_bars, vertical_bars
from .dashboard_selectors import ALERT_LIMIT, SORTS, caseload_dashboard, deadline_alerts

PAGE_SIZE = 50  # rows of the caseload table; totals and charts cover the whole caseload


def _staff_filter(request) -> int | None:
    value = request.GET.get("staff", "") if request.user.is_staff_manager else ""
    return int(value) if value.isdigit() else None


@staff_required
def caseload(request):
    search = request.GET.get("q", "").strip()
    sort = request.GET.get("sort", "queue")
    sort = sort if sort in SORTS else "queue"
    staff_id = _staff_filter(request)
    dashboard = caseload_dashboard(
        user=request.user,
        today=timezone.localdate(),
        staff_id=staff_id,
        search=search,
        sort=sort,
        page=request.GET.get("page"),
        page_size=PAGE_SIZE,
    )
    page = dashboard.page
    return render(
        request,
        "staff/caseload.html",
        {
            "dashboard": dashboard,
            "clients": page.object_list,
            "page": page,
            "search": search,
            "sort": sort,
            "staff_filter": str(staff_id or ""),
            "staff_users": staff_users() if request.user.is_staff_manager else [],
            "pipeline_chart": horizontal_bars(dashboard.pipeline),
            "weeks_chart": vertical_bars([(f"{d:%b} {d.day}", v) for d, v in dashboard.weeks]),
        },
    )


@staff_required
def deadlines(request):
    days = request.GET.get("days", "30")
    days = min(int(days), 365) if days.isdigit() and int(days) > 0 else 30
    staff_id = _staff_filter(request)
    groups, total = deadline_alerts(
        user=request.user, today=timezone.localdate(), days=days, staff_id=staff_id
    )
    return render(
        request,
        "staff/deadline_alerts.html",
        {
            "groups": groups,
            "total": total,
            "days": days,
            "limit": ALERT_LIMIT,
            "staff_filter": str(staff_id or ""),
            "staff_users": staff_users() if request.user.is_staff_manager else [],
        },
    )
