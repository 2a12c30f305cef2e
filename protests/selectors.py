"""Reads on protests: the plan a build would make, lists, access helpers that 404 for missing and not-yours."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.shortcuts import get_object_or_404

from clients.models import Client
from clients.tenancy import ClientAccess
from domain.protests import drafting
from entries.models import Entry, EntryLine
from refunds import planning as refund_planning

from .models import Protest, ProtestAuthorization, ProtestDecisionList, ProtestDocument, ProtestEntry

_CENT = Decimal("0.01")


def may_build(access: ClientAccess) -> bool:
    """Staff build and file protests; client admins too when the brokerage allows it (as for CAPE)."""
    return access.is_staff or (access.is_client_admin and settings.PROTESTS_CLIENT_ADMINS_MAY_BUILD)


# --- Access helpers ------------------------------------------------------------------------------


def protest_for_client(*, client: Client, public_id) -> Protest:
    return get_object_or_404(
        Protest.objects.select_related("client", "created_by", "filed_by"), client=client, public_id=public_id
    )


def protest_lines(*, protest: Protest):
    return ProtestEntry.objects.filter(client=protest.client, protest=protest).order_by("position", "id")


def latest_document(*, protest: Protest) -> ProtestDocument | None:
    return (
        ProtestDocument.objects.filter(client=protest.client, protest=protest)
        .order_by("-created_at", "-id")
        .first()
    )


def client_protests(*, client: Client):
    return Protest.objects.filter(client=client).select_related("client", "filed_by")


def entry_protests(*, entry: Entry):
    return (
        ProtestEntry.objects.filter(client=entry.client, entry=entry)
        .exclude(status=ProtestEntry.Status.RELEASED)
        .select_related("protest")
        .order_by("-id")
    )


# --- The plan ------------------------------------------------------------------------------------

CANDIDATE_FIELDS = (
    "pk",
    "entry_number",
    "importer_number",
    "port",
    "entry_date",
    "entry_summary_date",
    "liquidation_status",
    "liquidation_date",
    "refund_path",
    "exclusion_reason",
    "ieepa_duty",
    "section_122_duty",
    "drawback",
    "marked_drawback",
    "protest",
    "marked_protest",
)


def _candidate(values: tuple, taken: set[int]) -> drafting.Candidate:
    (
        pk,
        number,
        importer,
        port,
        e_date,
        s_date,
        status,
        l_date,
        path,
        reason,
        ieepa,
        s122,
        db,
        m_db,
        pr,
        m_pr,
    ) = values
    return drafting.Candidate(
        entry_id=pk,
        entry_number=number,
        importer_number=importer,
        port=port,
        entry_date=e_date,
        entry_summary_date=s_date,
        liquidation_status=status,
        liquidation_date=l_date,
        refund_path=path,
        exclusion_reason=reason,
        ieepa_duty=ieepa,
        section_122_duty=s122,
        drawback=db or m_db,
        protest_on_file=pr or m_pr or pk in taken,
    )


def _candidate_queryset(*, client: Client, as_of: date):
    recent = as_of - timedelta(days=2 * drafting.RULES_2026_1.protest_days)
    return Entry.objects.filter(client=client).filter(
        Q(refund_path__in=["protest", "section_122"])
        | Q(refund_path="excluded", exclusion_reason__in=["drawback", "active_protest"])
        | Q(refund_path="finally_liquidated", liquidation_date__gte=recent)
    )


def candidate_entries(*, client: Client, as_of: date):
    """Entries a protest could be drafted for (the pure rules decide); finally liquidated ones only recently."""
    return _candidate_queryset(client=client, as_of=as_of).values_list(*CANDIDATE_FIELDS)


def taken_entry_ids(*, client: Client) -> tuple[set[int], set[int]]:
    """(entries in a live protest, entries in a draft) of the client."""
    live, drafted = set(), set()
    for entry_id, status in ProtestEntry.objects.filter(
        client=client, status__in=[*ProtestEntry.LIVE, ProtestEntry.Status.DRAFT]
    ).values_list("entry_id", "status"):
        (drafted if status == ProtestEntry.Status.DRAFT else live).add(entry_id)
    return live, drafted


def protest_plan(*, client: Client, as_of: date) -> tuple[drafting.Plan, int]:
    """The drafts a build on as_of would make, and how many entries are already in a draft."""
    live, drafted = taken_entry_ids(client=client)
    candidates = []
    in_drafts = 0
    for values in candidate_entries(client=client, as_of=as_of):
        if values[0] in drafted:
            in_drafts += 1
            continue
        candidates.append(_candidate(values, live))
    return drafting.plan_drafts(candidates, as_of=as_of), in_drafts


def interest_factors(days: set[date], as_of: date) -> dict[date, Decimal]:
    """Each entry summary date's compounded factor to as_of, from the CAPE plan's one helper (rates as data)."""
    return refund_planning.interest_factors(days, as_of)


def interest_of(duty: Decimal, summary_date: date | None, factors: dict[date, Decimal]) -> Decimal:
    if summary_date is None or summary_date not in factors:
        return Decimal("0.00")
    return (duty * factors[summary_date]).quantize(_CENT)


def commodity_hts(*, client: Client, as_of: date, entry_ids: set[int] | None = None) -> dict[int, set[str]]:
    """The commodity HTS numbers of each candidate entry (Chapter 99 rows declare duties, not goods): one query,
    the candidates as a subquery (20,000 ids as an IN list cost more to compile than the query takes)."""
    found: dict[int, set[str]] = {}
    lines = (
        EntryLine.objects.filter(client=client, entry__in=_candidate_queryset(client=client, as_of=as_of))
        .exclude(hts__startswith="99")
        .exclude(hts="")
        .values_list("entry_id", "hts")
        .distinct()
    )
    for entry_id, hts in lines:
        if entry_ids is None or entry_id in entry_ids:
            found.setdefault(entry_id, set()).add(hts)
    return found


# --- Figures ---------------------------------------------------------------------------------------


def protest_counts(*, client: Client) -> dict[str, int]:
    counts = dict.fromkeys(Protest.Status.values, 0)
    for status in Protest.objects.filter(client=client).values_list("status", flat=True):
        counts[status] += 1
    return counts


def protest_authorization_for(*, client: Client) -> ProtestAuthorization | None:
    return ProtestAuthorization.objects.filter(client=client, revoked_at=None).first()


def past_protest_authorizations(*, client: Client):
    return ProtestAuthorization.objects.filter(client=client, revoked_at__isnull=False).select_related(
        "revoked_by"
    )[:20]


def decision_list_for_protest(*, protest: Protest, public_id) -> ProtestDecisionList:
    """One of the protest's decision lists (the protest was found through the client's scope), or 404."""
    return get_object_or_404(
        ProtestDecisionList.objects.select_related("protest", "created_by"),
        client=protest.client,
        protest=protest,
        public_id=public_id,
    )


def decision_lists(*, protest: Protest):
    """The protest's uploaded decision lists, newest first."""
    return ProtestDecisionList.objects.filter(client=protest.client, protest=protest).order_by("-created_at")
