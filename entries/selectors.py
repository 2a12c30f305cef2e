"""Reads on reports and entries; access helpers 404 for both missing and not-yours."""

from django.shortcuts import get_object_or_404

from clients.models import Client

from .models import EntryReport, RowRejection


def client_reports(*, client: Client):
    return EntryReport.objects.filter(client=client).select_related("created_by").order_by("-created_at")


def report_for_client(*, client: Client, public_id) -> EntryReport:
    return get_object_or_404(EntryReport, client=client, public_id=public_id)


def report_rejections(*, report: EntryReport):
    return RowRejection.objects.filter(client=report.client, report=report).order_by("row_number", "id")


def client_entries(*, client: Client):
    from .models import Entry

    return Entry.objects.filter(client=client).order_by("next_deadline", "entry_number")


DEADLINE_WINDOWS = {"7": 7, "30": 30, "60": 60, "90": 90}


def filtered_entries(*, client: Client, params, today):
    """The entries page's filters: path, exclusion reason, importer number, deadline window, entry number."""
    from datetime import timedelta

    from .entry_numbers import canonical

    entries = client_entries(client=client)
    if params.get("path"):
        entries = entries.filter(refund_path=params["path"])
    if params.get("reason"):
        entries = entries.filter(exclusion_reason=params["reason"])
    if params.get("importer"):
        entries = entries.filter(importer_number=params["importer"])
    window = params.get("window", "")
    if window in DEADLINE_WINDOWS:
        entries = entries.filter(
            next_deadline__gte=today, next_deadline__lte=today + timedelta(days=DEADLINE_WINDOWS[window])
        )
    elif window == "past":
        entries = entries.filter(refund_path="finally_liquidated")
    query = canonical(params.get("q", ""))
    if query:
        entries = entries.filter(entry_number__contains=query)
    return entries


def entry_totals(*, client: Client, today) -> dict:
    """The money at the top of the entries page and the overview, in one query."""
    from datetime import timedelta

    from django.db.models import DecimalField, Q, Sum, Value
    from django.db.models.functions import Coalesce

    from .models import Entry

    zero = Value(0, output_field=DecimalField(max_digits=18, decimal_places=2))

    def total(condition=None):
        return Coalesce(Sum("ieepa_duty", filter=condition), zero)

    return Entry.objects.filter(client=client).aggregate(
        ieepa_paid=total(),
        section_122_paid=Coalesce(Sum("section_122_duty"), zero),
        cape_now=total(Q(refund_path__in=["cape_phase1", "cape_phase2"])),
        due_30=total(Q(next_deadline__gte=today, next_deadline__lte=today + timedelta(days=30))),
        past_deadlines=total(Q(refund_path="finally_liquidated")),
    )


def path_totals(*, client: Client) -> list[dict]:
    """Entries and IEEPA + Section 122 duty per refund path, for the overview chart."""
    from django.db.models import Count, Sum

    from .models import Entry, RefundPath

    rows = {
        r["refund_path"]: r
        for r in Entry.objects.filter(client=client)
        .values("refund_path")
        .annotate(count=Count("id"), ieepa=Sum("ieepa_duty"), s122=Sum("section_122_duty"))
    }
    result = []
    for path in RefundPath:
        row = rows.get(path.value)
        if row:
            result.append(
                {
                    "path": path.value,
                    "label": path.label,
                    "count": row["count"],
                    "amount": row["ieepa"] + row["s122"],
                }
            )
    return result


def upcoming_deadlines(*, client: Client, today, limit: int = 8):
    return (
        client_entries(client=client)
        .filter(next_deadline__gte=today)
        .only(
            "entry_number",
            "refund_path",
            "ieepa_duty",
            "section_122_duty",
            "next_deadline",
            "next_deadline_kind",
        )[:limit]
    )


def entry_for_client(*, client: Client, entry_number: str):
    from django.shortcuts import get_object_or_404

    from .entry_numbers import canonical
    from .models import Entry

    return get_object_or_404(
        Entry.objects.select_related("last_report"), client=client, entry_number=canonical(entry_number)
    )


def importer_numbers_in_use(*, client: Client) -> list[str]:
    from .models import Entry

    return list(
        Entry.objects.filter(client=client)
        .values_list("importer_number", flat=True)
        .distinct()
        .order_by("importer_number")
    )
