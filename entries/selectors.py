"""Reads on reports and entries; access helpers 404 for both missing and not-yours."""

from django.shortcuts import get_object_or_404

from clients.models import Client
from domain.deadlines import RULES_2026_1

from .models import EntryReport, RowRejection


def client_reports(*, client: Client):
    return EntryReport.objects.filter(client=client).select_related("created_by").order_by("-created_at")


def report_for_client(*, client: Client, public_id) -> EntryReport:
    return get_object_or_404(EntryReport, client=client, public_id=public_id)


def report_rejections(*, report: EntryReport):
    return RowRejection.objects.filter(client=report.client, report=report).order_by("row_number", "id")


def client_entries(*, client: Client, sort: str = ""):
    """The client's entries in the entries page's order: nearest deadline first, none last (every database)."""
    from .models import Entry

    return Entry.objects.filter(client=client).order_by(*entry_ordering(sort))


# The entries page's sortable columns: ?sort=<key> ascending, ?sort=-<key> descending.
ENTRY_SORTS = {
    "entry": "entry_number",
    "type": "entry_type",
    "importer": "importer_number",
    "entry_date": "entry_date",
    "path": "refund_path",
    "ieepa": "ieepa_duty",
    "s122": "section_122_duty",
    "deadline": "next_deadline",
}
DEFAULT_SORT = "deadline"
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


def sort_key(value: str) -> str:
    """A valid ?sort= value (the default for anything else)."""
    return value if value.lstrip("-") in ENTRY_SORTS else DEFAULT_SORT


def entry_ordering(sort: str) -> list:
    """ORDER BY for a ?sort= value. Blanks (no deadline, no date) go last both ways: SQLite would put them
    first ascending, so that entries due today started on page 76."""
    from django.db.models import F

    sort = sort_key(sort)
    column = F(ENTRY_SORTS[sort.lstrip("-")])
    first = column.desc(nulls_last=True) if sort.startswith("-") else column.asc(nulls_last=True)
    return [first] if sort.lstrip("-") == "entry" else [first, F("entry_number").asc()]


def page_size(value) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


DEADLINE_WINDOWS = {"7": 7, "30": 30, "60": 60, "90": 90}


def filtered_entries(*, client: Client, params, today):
    """The entries page's filters: path, exclusion reason, importer number, deadline window, entry number."""
    from datetime import timedelta

    entries = client_entries(client=client, sort=params.get("sort", ""))
    if params.get("path"):
        entries = entries.filter(refund_path=params["path"])
    if params.get("reason"):
        entries = entries.filter(exclusion_reason=params["reason"])
    if params.get("importer"):
        entries = entries.filter(importer_number=params["importer"])
    window = params.get("window", "")
    if window in DEADLINE_WINDOWS:
        from domain.vocabulary import REMINDED_DEADLINE_KINDS

        # Deadlines as FIGURES["due_30"] counts them: a CAPE window or protest deadline, not a projected
        # liquidation, so that "deadline within 30 days" lists the entries the figure adds up.
        entries = entries.filter(
            next_deadline_kind__in=REMINDED_DEADLINE_KINDS,
            next_deadline__gte=today,
            next_deadline__lte=today + timedelta(days=DEADLINE_WINDOWS[window]),
        )
    elif window == "past":
        entries = entries.filter(refund_path="finally_liquidated")
    return _search(entries, client=client, text=params.get("q", ""))


def _search(entries, *, client: Client, text: str):
    """Entry number (dashed or not), importer number (with or without its dash) or HTS number (dots or not)."""
    import re

    from django.db.models import Exists, OuterRef, Q, Value
    from django.db.models.functions import Replace

    from .models import EntryLine

    compact = re.sub(r"[\s.\-]", "", text).upper()
    if not compact:
        return entries
    found = Q(entry_number__contains=compact) | Q(importer_compact__contains=compact)
    entries = entries.annotate(importer_compact=Replace("importer_number", Value("-"), Value("")))
    if compact.isdigit() and len(compact) >= 4:  # an HTS number, or its first digits (chapter, heading)
        lines = EntryLine.objects.filter(client=client, entry_id=OuterRef("pk"), hts__startswith=compact)
        found |= Q(Exists(lines))
    return entries.filter(found)


# The two headline figures, defined once: the client overview, the entries page, the staff caseload and the
# reminder emails all show them from headline_figures, with these words as their help text.
DUE_DAYS = 30
_PHASE2_OPENS = RULES_2026_1.phase2_opens
FIGURES = {
    "cape_now": {
        "label": "Refundable through CAPE now",
        "help": "IEEPA duty of the entries CAPE takes today: on the CAPE Phase 1 path, and on the Phase 2 "
        f"path once Phase 2 is open (since {_PHASE2_OPENS:%B} {_PHASE2_OPENS.day}, {_PHASE2_OPENS.year}).",
    },
    "due_30": {
        "label": f"Deadline within {DUE_DAYS} days",
        "help": f"IEEPA duty of the entries whose CAPE window closes or protest deadline falls in the next "
        f"{DUE_DAYS} days, today included. Projected liquidation dates are not deadlines and are not counted.",
    },
}


def headline_figures(*, client_ids, today) -> dict:
    """{client id: {"cape_now": Decimal, "due_30": Decimal}} for FIGURES, in two queries for any number of clients.

    Read from the stored figures (entries.figures: kept in the transaction of every change to entries, so
    they are the entries' own sums), so that the caseload of every client costs what one client does.
    """
    from datetime import timedelta
    from decimal import Decimal

    from django.db.models import CharField, Sum, Value
    from django_scopes import scopes_disabled

    from brokerage.lookups import client_ids_in
    from domain.eligibility import open_paths

    from .models import DeadlineFigures, PathFigures

    ids = list(client_ids)
    figures = {pk: {"cape_now": Decimal("0.00"), "due_30": Decimal("0.00")} for pk in ids}
    with scopes_disabled():  # by the ids the caller may see (a client's scope, or the staff caseload)
        cape = (
            PathFigures.objects.filter(client_ids_in(ids), refund_path__in=open_paths(today))
            .values("client_id")
            .annotate(amount=Sum("ieepa"), name=Value("cape_now", output_field=CharField()))
            .values_list("client_id", "name", "amount")
            .order_by()
        )
        due = (
            DeadlineFigures.objects.filter(
                client_ids_in(ids), day__gte=today, day__lte=today + timedelta(days=DUE_DAYS)
            )
            .values("client_id")
            .annotate(amount=Sum("ieepa"), name=Value("due_30", output_field=CharField()))
            .values_list("client_id", "name", "amount")
            .order_by()
        )
        for client_id, name, amount in cape.union(due, all=True):  # one query
            figures[client_id][name] = amount or Decimal("0.00")
    return figures


def client_overview(*, client: Client, today) -> dict:
    """The entry figures of the client's overview page (clients.views.overview, through clients.hooks)."""
    from .rule_changes import BANNER_ROWS, change_rows, rule_notice_banner

    paths = path_totals(client=client)
    notice = rule_notice_banner(client=client, today=today)
    largest = max((p["amount"] for p in paths), default=0) or 1
    for row in paths:
        row["percent"] = round(100 * row["amount"] / largest, 1)
    return {
        "totals": entry_totals(client=client, today=today),
        "figures": FIGURES,
        "paths": paths,
        "upcoming": upcoming_deadlines(client=client, today=today),
        "rule_notice": notice,
        "rule_notice_rows": change_rows(notice.changes[:BANNER_ROWS]) if notice else [],
    }


def entry_totals(*, client: Client, today) -> dict:
    """The money at the top of the entries page and the overview: IEEPA and Section 122 duty paid, and FIGURES."""
    from django.db.models import DecimalField, Q, Sum, Value
    from django.db.models.functions import Coalesce

    from .models import Entry

    zero = Value(0, output_field=DecimalField(max_digits=18, decimal_places=2))
    totals = Entry.objects.filter(client=client).aggregate(
        ieepa_paid=Coalesce(Sum("ieepa_duty"), zero),
        section_122_paid=Coalesce(Sum("section_122_duty"), zero),
        past_deadlines=Coalesce(Sum("ieepa_duty", filter=Q(refund_path="finally_liquidated")), zero),
    )
    return totals | headline_figures(client_ids=[client.pk], today=today)[client.pk]


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

    from domain.entry_numbers import canonical

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
