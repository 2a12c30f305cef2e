"""Reads on declarations, the ledger and CBP reports; access helpers 404 for both missing and not-yours."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_scopes import scopes_disabled

from clients.models import Client, ImporterNumber, User
from clients.onboarding import Readiness
from clients.onboarding_selectors import client_ready_to_file
from clients.tenancy import ClientAccess, visible_clients
from entries.models import Entry

from . import cape
from .eligibility import CAPE_PATHS, HOLD_BACK_REASONS, PHASE2, PHASE2_WARNING, hold_back_reason
from .interest import estimate_interest
from .models import CbpReport, CbpReportProblem, Declaration, DeclarationBatch, DeclarationEntry

LIVE = [DeclarationEntry.Status.PENDING, DeclarationEntry.Status.ACCEPTED]
FILED_STATUSES = [
    Declaration.Status.FILED,
    Declaration.Status.ACCEPTED,
    Declaration.Status.PARTIALLY_REJECTED,
    Declaration.Status.REJECTED,
]


def may_build(access: ClientAccess) -> bool:
    """Staff build and file declarations; client admins too when the brokerage allows it in settings."""
    return access.is_staff or (access.is_client_admin and settings.CAPE_CLIENT_ADMINS_MAY_BUILD)


# --- Access helpers ------------------------------------------------------------------------------


def batch_for_client(*, client: Client, public_id) -> DeclarationBatch:
    return get_object_or_404(
        DeclarationBatch.objects.select_related("created_by"), client=client, public_id=public_id
    )


def declaration_for_client(*, client: Client, public_id) -> Declaration:
    return get_object_or_404(
        Declaration.objects.defer("content").select_related("batch", "filed_by"),
        client=client,
        public_id=public_id,
    )


def declaration_content(*, declaration: Declaration) -> bytes:
    return bytes(
        Declaration.objects.filter(client=declaration.client, pk=declaration.pk).values_list(
            "content", flat=True
        )[0]
    )


def cbp_report_for_client(*, client: Client, public_id) -> CbpReport:
    return get_object_or_404(
        CbpReport.objects.select_related("declaration", "created_by"), client=client, public_id=public_id
    )


def ledger_row_for_declaration(*, declaration: Declaration, entry_number: str) -> DeclarationEntry:
    row = (
        DeclarationEntry.objects.filter(
            client=declaration.client, declaration=declaration, entry_number=entry_number
        )
        .select_related("reason")
        .first()
    )
    if row is None:
        raise Http404("No such entry in this declaration")
    return row


# --- Lists ---------------------------------------------------------------------------------------


def client_batches(*, client: Client):
    return DeclarationBatch.objects.filter(client=client).select_related("created_by")


def client_declarations(*, client: Client):
    return (
        Declaration.objects.filter(client=client)
        .defer("content")
        .select_related("client", "batch", "filed_by")
        .order_by("-created_at", "sequence")
    )


def batch_declarations(*, batch: DeclarationBatch):
    return (
        Declaration.objects.filter(client=batch.client, batch=batch)
        .defer("content")
        .select_related("client")
        .order_by("sequence")
    )


def declaration_ledger(*, declaration: Declaration):
    return (
        DeclarationEntry.objects.filter(client=declaration.client, declaration=declaration)
        .select_related("reason")
        .order_by("entry_number")
    )


def client_cbp_reports(*, client: Client):
    return CbpReport.objects.filter(client=client).select_related("client", "declaration", "created_by")


def report_problems(*, report: CbpReport):
    return CbpReportProblem.objects.filter(client=report.client, report=report).order_by("row_number", "id")


def entry_ledger(*, entry: Entry) -> list[DeclarationEntry]:
    """The entry's filing history across declarations, newest first."""
    return list(
        DeclarationEntry.objects.filter(client=entry.client, entry_number=entry.entry_number)
        .select_related("declaration__client", "reason")
        .order_by("-created_at", "-id")
    )


def importer_number_choices(*, client: Client) -> list[str]:
    # A pending number (typed by the client, not yet verified by staff) is not filed under.
    return list(
        ImporterNumber.objects.filter(client=client, verified_at__isnull=False).values_list(
            "number", flat=True
        )
    )


# --- The plan of a build (the preview, and what the build writes) ----------------------------------


@dataclass
class PlannedFile:
    file: cape.CapeFile
    filename: str
    ieepa_total: Decimal
    interest_estimate: Decimal
    phase2_count: int

    @property
    def count(self) -> int:
        return self.file.count


@dataclass
class Plan:
    """What a build on as_of would declare: the eligible entries, their files, totals and warnings."""

    client: Client
    as_of: date
    importer_number: str
    # (entry id, entry number, importer number, refund path, IEEPA duty, entry summary date), by entry number
    eligible: list[tuple]
    files: list[PlannedFile]
    held_back: dict[str, int]
    in_ledger: int
    awaiting_review: int
    readiness: Readiness
    warnings: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.eligible)

    @property
    def ieepa_total(self) -> Decimal:
        return sum((f.ieepa_total for f in self.files), Decimal("0"))

    @property
    def interest_estimate(self) -> Decimal:
        return sum((f.interest_estimate for f in self.files), Decimal("0"))

    @property
    def phase2_count(self) -> int:
        return sum(f.phase2_count for f in self.files)


# Interest is linear in the principal (estimate_interest multiplies it by one compounded factor), so each
# entry summary date's factor is worked out once, on a principal large enough that the estimate's rounding
# to the cent costs nothing (1e-14 relative), and a file's estimate is its duty per date times the factor,
# rounded once: a few hundred estimates for 100,000 entries instead of one per entry.
_FACTOR_PRINCIPAL = Decimal(10) ** 12
_CENT = Decimal("0.01")


def _interest_factors(days: set[date], as_of: date) -> dict[date, Decimal]:
    return {
        day: estimate_interest(principal=_FACTOR_PRINCIPAL, from_date=day, to_date=as_of) / _FACTOR_PRINCIPAL
        for day in days
        if day <= as_of
    }


def _interest(rows: list[tuple], factors: dict[date, Decimal]) -> Decimal:
    """Estimated interest on the rows' IEEPA duty, from each entry summary date to the as-of day."""
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row[5] in factors:
            by_day[row[5]] += row[4]
    return sum((total * factors[day] for day, total in by_day.items()), Decimal("0")).quantize(_CENT)


def declaration_plan(*, client: Client, as_of: date, importer_number: str = "") -> Plan:
    """The entries a build would declare, checked one by one, cut into files of at most 9,999.

    An entry is a candidate when its path is a CAPE one and it is not in a pending or accepted declaration,
    nor rejected for a reason that waits for someone to act. Each candidate then passes the pure guard
    (protest, drawback, path, phase open) and the check digit, or is held back and counted in the warnings.
    """
    ledger = DeclarationEntry.objects.filter(client=client)
    live = set(ledger.filter(status__in=LIVE).values_list("entry_id", flat=True))
    waiting = set(
        ledger.filter(status=DeclarationEntry.Status.REJECTED, refile_allowed=False).values_list(
            "entry_id", flat=True
        )
    )
    candidates = Entry.objects.filter(client=client, refund_path__in=CAPE_PATHS)
    if importer_number:
        candidates = candidates.filter(importer_number=importer_number)
    rows = candidates.values_list(
        "pk",
        "entry_number",
        "importer_number",
        "refund_path",
        "ieepa_duty",
        "entry_summary_date",
        "drawback",
        "marked_drawback",
        "protest",
        "marked_protest",
        "protest_filed",
    )
    eligible: list[tuple] = []
    held_back: Counter[str] = Counter()
    in_ledger = awaiting_review = 0
    for pk, number, importer, path, duty, summary, drawback, m_drawback, protest, m_protest, filed in rows:
        if pk in live:
            in_ledger += 1
            continue
        if pk in waiting:
            awaiting_review += 1
            continue
        reason = hold_back_reason(
            refund_path=path,
            drawback=drawback or m_drawback,
            protest=protest or m_protest or filed,
            as_of=as_of,
        )
        if reason:
            held_back[reason] += 1
            continue
        eligible.append((pk, number, importer, path, duty, summary))
    by_number = {row[1]: row for row in eligible}
    try:
        built = cape.build_files(by_number)
    except cape.CapeFileError as error:
        # Every number is checked again before it is written (check digit, form). Stored numbers passed the
        # same check on import, so this is rare: the offending entries are held back, the rest go ahead.
        for number in set(error.numbers) & by_number.keys():
            del by_number[number]
            held_back["invalid_number"] += 1
        built = cape.build_files(by_number)
    eligible = [by_number[n] for f in built for n in f.entry_numbers]

    factors = _interest_factors({row[5] for row in eligible if row[5] is not None}, as_of)
    files = []
    for made in built:
        file_rows = [by_number[n] for n in made.entry_numbers]
        files.append(
            PlannedFile(
                file=made,
                filename=made.filename(client_slug=client.slug, as_of=as_of, importer_number=importer_number),
                ieepa_total=sum((row[4] for row in file_rows), Decimal("0")),
                interest_estimate=_interest(file_rows, factors),
                phase2_count=sum(row[3] == PHASE2 for row in file_rows),
            )
        )
    plan = Plan(
        client=client,
        as_of=as_of,
        importer_number=importer_number,
        eligible=eligible,
        files=files,
        held_back=dict(held_back),
        in_ledger=in_ledger,
        awaiting_review=awaiting_review,
        readiness=client_ready_to_file(client=client),
    )
    plan.warnings = _warnings(plan)
    return plan


def _entries(count: int) -> str:
    return f"{count:,} {'entry' if count == 1 else 'entries'}"


def _warnings(plan: Plan) -> list[str]:
    warnings = []
    if plan.phase2_count:
        warnings.append(f"{_entries(plan.phase2_count)} in Phase 2. {PHASE2_WARNING}")
    if len(plan.files) > 1:
        warnings.append(
            f"{plan.count:,} entries make {len(plan.files)} files of at most {cape.MAX_ENTRIES_PER_FILE:,}: "
            "each file is its own declaration in the ACE Portal, with its own CAPE claim number."
        )
    for reason, count in sorted(plan.held_back.items()):
        why = HOLD_BACK_REASONS.get(reason, "an entry number whose check digit is wrong")
        verb = "is" if count == 1 else "are"
        warnings.append(f"{_entries(count)} on a CAPE path {verb} held back: {why}.")
    if plan.awaiting_review:
        warnings.append(
            f"{_entries(plan.awaiting_review)} rejected by CBP "
            f"{'waits' if plan.awaiting_review == 1 else 'wait'} for the next action before being filed again "
            "(see the rejected entries)."
        )
    without_date = sum(1 for row in plan.eligible if row[5] is None)
    if without_date:
        warnings.append(
            f"{_entries(without_date)} without an entry summary date: the interest estimate leaves "
            f"{'it' if without_date == 1 else 'them'} out."
        )
    if not plan.readiness.ready:
        warnings.append(
            "The client is not ready to file yet; the declaration can be prepared, but recording it as filed "
            "needs a staff manager's override: " + " ".join(plan.readiness.missing)
        )
    else:
        uncovered = sorted({row[2] for row in plan.eligible} - set(plan.readiness.importer_numbers))
        if uncovered:
            warnings.append(
                "The filing authorization does not cover importer number(s) "
                + ", ".join(n or "(none)" for n in uncovered)
                + "."
            )
    return warnings


# --- Totals ----------------------------------------------------------------------------------------

_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=18, decimal_places=2))


def _money(expression, condition=None):
    return Coalesce(Sum(expression, filter=condition), _ZERO)


def _totals_aggregates() -> dict:
    filed = Q(declaration__status__in=FILED_STATUSES)
    status = DeclarationEntry.Status
    refund = DeclarationEntry.RefundStatus
    paid = Coalesce("principal_refunded", _ZERO) + Coalesce("interest_refunded", _ZERO)
    return {
        "draft": Count("pk", filter=Q(declaration__status=Declaration.Status.DRAFT)),
        "filed": Count("pk", filter=filed),
        "filed_ieepa": _money("ieepa_duty", filed),
        "pending": Count("pk", filter=filed & Q(status=status.PENDING)),
        "accepted": Count("pk", filter=filed & Q(status=status.ACCEPTED)),
        "rejected": Count("pk", filter=filed & Q(status=status.REJECTED)),
        "refunded": Count("pk", filter=Q(principal_refunded__isnull=False)),
        "refunded_principal": _money("principal_refunded"),
        "refunded_interest": _money("interest_refunded"),
        "diverted": Count("pk", filter=Q(refund_status=refund.DIVERTED)),
        "diverted_amount": _money(paid, Q(refund_status=refund.DIVERTED)),
        "returned": Count("pk", filter=Q(refund_status=refund.ACH_RETURNED)),
        "returned_amount": _money(paid, Q(refund_status=refund.ACH_RETURNED)),
    }


def ledger_totals(*, client: Client) -> dict:
    """Filed, accepted, rejected, refunded (principal and interest apart), diverted and returned: one query."""
    return (
        DeclarationEntry.objects.filter(client=client)
        .exclude(status=DeclarationEntry.Status.RELEASED)
        .aggregate(**_totals_aggregates())
    )


@dataclass
class CaseloadRow:
    client: Client
    totals: dict


def caseload_ledger_totals(*, user: User) -> tuple[list[CaseloadRow], dict]:
    """The same totals for each client the staff user may see that has a ledger, and their sum: one query."""
    clients = list(visible_clients(user).order_by("legal_name"))
    with scopes_disabled():  # one grouped query over the clients the user may see (filtered by their ids)
        grouped = {
            row.pop("client_id"): row
            for row in DeclarationEntry.objects.filter(client_id__in=[c.pk for c in clients])
            .exclude(status=DeclarationEntry.Status.RELEASED)
            .values("client_id")
            .annotate(**_totals_aggregates())
            .order_by()
        }
    rows = [CaseloadRow(client=c, totals=grouped[c.pk]) for c in clients if c.pk in grouped]
    overall = _empty_totals()
    for row in rows:
        for name in overall:
            overall[name] += row.totals[name]
    return rows, overall


def _empty_totals() -> dict:
    money = {"filed_ieepa", "refunded_principal", "refunded_interest", "diverted_amount", "returned_amount"}
    return {name: (Decimal("0") if name in money else 0) for name in _totals_aggregates()}


def _open_rejections():
    newer_live = DeclarationEntry.objects.filter(entry=OuterRef("entry"), status__in=LIVE)
    return (
        DeclarationEntry.objects.filter(status=DeclarationEntry.Status.REJECTED)
        .annotate(refiled=Exists(newer_live))
        .filter(refiled=False)
        .select_related("reason", "declaration__client")
        .order_by("result_on", "entry_number")
    )


def client_rejections(*, client: Client):
    """Rejected entries of the client not yet in a new pending or accepted declaration."""
    return _open_rejections().filter(client=client)


def rejection_queue(*, user: User, limit: int = 500) -> list[DeclarationEntry]:
    """The staff queue: rejected entries across the clients the user may see, oldest result first."""
    client_ids = list(visible_clients(user).values_list("pk", flat=True))
    with scopes_disabled():  # across the user's clients; client_ids is what they may see
        return list(_open_rejections().filter(client_id__in=client_ids).select_related("client")[:limit])
