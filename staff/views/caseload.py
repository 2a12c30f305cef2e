"""The staff caseload dashboard and the deadline alerts page (outside any client; staff only, others 404)."""

from datetime import date
from urllib.parse import urlencode

from django.shortcuts import render
from django.utils import timezone

from clients.selectors import staff_users
from clients.tenancy import staff_required
from domain.charts import horizontal_bars, vertical_bars
from entries.selectors import FIGURES
from staff.selectors import SORTS, caseload_dashboard, deadline_alerts

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
            "figures": FIGURES,
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


def _after(value: str) -> tuple[date, str] | None:
    """The keyset of the alerts' next page: "YYYY-MM-DD:ENTRYNUMBER" (anything else: the first page)."""
    day, _, number = value.partition(":")
    try:
        return (date.fromisoformat(day), number) if number else None
    except ValueError:
        return None


@staff_required
def deadlines(request):
    days = request.GET.get("days", "30")
    days = min(int(days), 365) if days.isdigit() and int(days) > 0 else 30
    staff_id = _staff_filter(request)
    alerts = deadline_alerts(
        user=request.user,
        today=timezone.localdate(),
        days=days,
        staff_id=staff_id,
        after=_after(request.GET.get("after", "")),
    )
    query = {"days": days, **({"staff": staff_id} if staff_id else {})}
    return render(
        request,
        "staff/deadline_alerts.html",
        {
            "alerts": alerts,
            "groups": alerts.groups,
            "total": alerts.total,
            "days": days,
            "first_url": "?" + urlencode(query),
            "next_url": "?" + urlencode({**query, "after": f"{alerts.next_after[0]}:{alerts.next_after[1]}"})
            if alerts.next_after
            else "",
            "is_first_page": "after" not in request.GET,
            "staff_filter": str(staff_id or ""),
            "staff_users": staff_users() if request.user.is_staff_manager else [],
        },
    )
