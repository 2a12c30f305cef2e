"""The plan of a CAPE build: what a build on a day would declare (the preview, and what the build writes).

The eligible entries of a client (classified again against today's registry), held back by reason, grouped
into CAPE files per importer number with their totals and interest estimates, and the warnings the page
shows. Interest reads (the IRS rate table staff keep, the basis a batch declared) live here with the plan
that uses them. Reads only: refunds.services writes what the plan says.

One module of ~520 lines on purpose: it is one computation (candidates, their sort, files, totals,
interest, warnings) whose parts pass the same private tuples to each other; its tests read it as one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Min
from django.db.models.functions import Substr, Upper

from clients.models import Client
from clients.onboarding.checklist import Readiness
from clients.onboarding.selectors import client_ready_to_file
from domain import cape
from domain.eligibility import CAPE_PATHS, HOLD_BACK_REASONS, PHASE2, PHASE2_WARNING, hold_back_reason
from domain.interest import InterestBasis, RateTable, estimate_interest, interest_basis
from entries.models import Entry
from entries.reclassification import FACT_FIELDS, classify_facts
from entries.registry import current_registry

from .models import Declaration, DeclarationBatch, DeclarationEntry, InterestRate
from .selectors import LIVE


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
    interest_basis: InterestBasis | None = None
    filer_codes: list[str] = field(default_factory=list)
    other_brokers: list[ImporterFiles] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # A build from entries ticked on the entries page: how many of the client's entries were selected, and
    # how many of those have no IEEPA duty (nothing to declare). None for a build of every entry.
    selected: int | None = None
    selected_without_duty: int = 0

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


def interest_rate_table(*, corporate: bool = False) -> RateTable | None:
    """The IRS overpayment rates staff keep in InterestRate, as the pure module's table (spec §7a); None
    when no rate is recorded (estimates are then left out and say so, rather than guessed).

    Non-corporate by default: the portal does not know whether an importer is a corporation, and the
    non-corporate rate is the one CBP's notices give first; docs/CAPE.md says so.
    """
    column = "corporate_rate" if corporate else "noncorporate_rate"
    rows = tuple(InterestRate.objects.order_by("quarter_start").values_list("quarter_start", column))
    if not rows:
        return None
    kind = "corporate" if corporate else "non-corporate"
    return RateTable(source=f"IRS overpayment rates, {kind} (26 U.S.C. 6621), quarterly", rates=rows)


NO_RATES_WARNING = (
    "No IRS overpayment rate is recorded, so no interest is estimated: a staff manager adds the quarterly "
    "rates in the admin (Refunds › Interest rates)."
)


def interest_basis_for(
    *, from_date: date | None, to_date: date, table: RateTable | None = None
) -> InterestBasis | None:
    """What an estimate from from_date (the earliest deposit) to to_date rests on; None without a date, or
    when the dates fall outside the table (before its first quarter) or no rate is recorded."""
    table = table or interest_rate_table()
    if from_date is None or from_date > to_date or table is None or from_date < table.rates[0][0]:
        return None
    return interest_basis(from_date=from_date, to_date=to_date, table=table)


def declared_interest_basis(
    *, batch: DeclarationBatch, declaration: Declaration | None = None
) -> InterestBasis | None:
    """The basis of a built batch's (or one of its declarations') interest estimate: from the earliest entry
    summary date of its entries to the batch's as-of day, at the rates in the table."""
    rows = DeclarationEntry.objects.filter(client=batch.client, declaration__batch=batch)
    if declaration is not None:
        rows = rows.filter(declaration=declaration)
    earliest = Entry.objects.filter(
        client=batch.client, pk__in=rows.values("entry_id"), entry_summary_date__isnull=False
    ).aggregate(earliest=Min("entry_summary_date"))["earliest"]
    return interest_basis_for(from_date=earliest, to_date=batch.as_of)


def interest_factors(days: set[date], as_of: date, table: RateTable | None = None) -> dict[date, Decimal]:
    """Each day's compounded growth factor to as_of (interest per unit of principal), one estimate per day;
    days before the table's first quarter, or every day when no rate is recorded, have none (no interest)."""
    table = table or interest_rate_table()
    if table is None:
        return {}
    first = table.rates[0][0]
    return {
        day: estimate_interest(principal=_FACTOR_PRINCIPAL, from_date=day, to_date=as_of, table=table)
        / _FACTOR_PRINCIPAL
        for day in days
        if first <= day <= as_of
    }


_interest_factors = interest_factors


def _interest(rows: list[tuple], factors: dict[date, Decimal]) -> Decimal:
    """Estimated interest on the rows' IEEPA duty, from each entry summary date to the as-of day."""
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row[5] in factors:
            by_day[row[5]] += row[4]
    return sum((total * factors[day] for day, total in by_day.items()), Decimal("0")).quantize(_CENT)


def brokerage_filer_codes() -> tuple[str, ...]:
    """The brokerage's filer codes (settings.BROKERAGE_FILER_CODES): the entries it may declare itself."""
    return cape.parse_filer_codes(settings.BROKERAGE_FILER_CODES)


@dataclass
class ImporterFiles:
    """Eligible entries of one importer number filed by other brokers: the importer declares them itself."""

    importer_number: str
    eligible: list[tuple]
    files: list[PlannedFile]

    @property
    def count(self) -> int:
        return len(self.eligible)

    @property
    def ieepa_total(self) -> Decimal:
        return sum((f.ieepa_total for f in self.files), Decimal("0"))

    @property
    def filer_codes(self) -> list[str]:
        return sorted({cape.filer_code(row[1]) for row in self.eligible})


_CANDIDATE_FIELDS = (*FACT_FIELDS, "importer_number", "refund_path")
_AT = {name: i for i, name in enumerate(_CANDIDATE_FIELDS)}
# Whatever else the rules read is in the memo key; these differ from entry to entry without changing the
# path (the duties count by their sign only: spec §5 rules 1 and 2).
_NOT_IN_KEY = {"id", "entry_number", "importer_number", "refund_path", "ieepa_duty", "section_122_duty"}
_KEY_AT = [i for i, name in enumerate(_CANDIDATE_FIELDS) if name not in _NOT_IN_KEY]


@dataclass(frozen=True, slots=True)
class Candidate:
    pk: int
    entry_number: str
    importer_number: str
    stored_path: str
    ieepa_duty: Decimal
    entry_summary_date: date | None
    drawback: bool
    protest: bool
    path: str  # as of the day asked for
    exclusion_reason: str


def classified_candidates(
    *,
    client: Client,
    as_of: date,
    importer_number: str = "",
    foreign_only: bool = False,
    entry_ids: Collection[int] | None = None,
):
    """Each entry with IEEPA duty, classified again as of as_of by the pure rules from its stored facts,
    never trusting the stored path, which was computed on another day (Candidate rows).
    foreign_only: only entries whose filer code is not the brokerage's (filed by other brokers).
    entry_ids: only these entries (of this client: another client's ids are never found).

    Entries with the same facts get the same path, so a classification is computed once per distinct set of
    facts (a few thousand for 100,000 entries) and only its path and reason are reused.
    """
    registry = current_registry()
    entries = Entry.objects.filter(client=client, ieepa_duty__gt=0)
    if entry_ids is not None:
        entries = entries.filter(pk__in=list(entry_ids))
    if importer_number:
        entries = entries.filter(importer_number=importer_number)
    if foreign_only:
        entries = entries.annotate(filer_code=Upper(Substr("entry_number", 1, 3))).exclude(
            filer_code__in=brokerage_filer_codes()
        )
    at = _AT
    memo: dict[tuple, tuple[str, str]] = {}
    for values in entries.values_list(*_CANDIDATE_FIELDS).iterator(chunk_size=5000):
        ieepa, s122 = values[at["ieepa_duty"]], values[at["section_122_duty"]]
        key = (*(values[i] for i in _KEY_AT), s122 > 0, ieepa + s122 > 0)
        found = memo.get(key)
        if found is None:
            c = classify_facts(
                dict(zip(_CANDIDATE_FIELDS, values, strict=True)),
                as_of=as_of,
                registry=registry,
                explain=False,
            )
            found = memo[key] = (str(c.refund_path), str(c.exclusion_reason))
        yield Candidate(
            pk=values[at["id"]],
            entry_number=values[at["entry_number"]],
            importer_number=values[at["importer_number"]],
            stored_path=values[at["refund_path"]],
            ieepa_duty=ieepa,
            entry_summary_date=values[at["entry_summary_date"]],
            drawback=values[at["drawback"]] or values[at["marked_drawback"]],
            protest=values[at["protest"]] or values[at["marked_protest"]] or values[at["protest_filed"]],
            path=found[0],
            exclusion_reason=found[1],
        )


@dataclass
class _Sorted:
    eligible: list[tuple] = field(default_factory=list)
    others: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    held_back: Counter = field(default_factory=Counter)
    in_ledger: int = 0
    awaiting_review: int = 0
    seen: int = 0


def _sort_candidates(
    *,
    client: Client,
    as_of: date,
    importer_number: str,
    foreign_only: bool,
    entry_ids: Collection[int] | None = None,
) -> _Sorted:
    """Each candidate classified as of as_of and put where it belongs: the broker's files, an importer's own
    files, held back (counted by reason), already in the ledger, or waiting for a rejection's next action.

    entry_ids: only these entries are candidates; a selected entry not on a CAPE path as of as_of is counted
    as held back whatever its stored path (the person who ticked it is told why it was not declared)."""
    selection = entry_ids is not None
    ledger = DeclarationEntry.objects.filter(client=client)
    if selection:
        entry_ids = list(entry_ids)
        ledger = ledger.filter(entry_id__in=entry_ids)
    live = set(ledger.filter(status__in=LIVE).values_list("entry_id", flat=True))
    waiting = set(
        ledger.filter(status=DeclarationEntry.Status.REJECTED, refile_allowed=False).values_list(
            "entry_id", flat=True
        )
    )
    codes = set(brokerage_filer_codes())
    out = _Sorted()
    held_back = out.held_back
    candidates = classified_candidates(
        client=client,
        as_of=as_of,
        importer_number=importer_number,
        foreign_only=foreign_only,
        entry_ids=entry_ids,
    )
    for c in candidates:
        out.seen += 1
        path = c.path
        if path not in CAPE_PATHS:
            if c.stored_path in CAPE_PATHS:
                # Shown on a CAPE path (classified on another day, or before a mark) but not on one today.
                reason = c.exclusion_reason
                held_back[reason if reason in HOLD_BACK_REASONS else "not_cape_path_as_of"] += 1
            elif selection:
                reason = c.exclusion_reason
                held_back[reason if reason in HOLD_BACK_REASONS else "not_cape_path"] += 1
            continue
        pk = c.pk
        if pk in live:
            out.in_ledger += 1
            continue
        if pk in waiting:
            out.awaiting_review += 1
            continue
        reason = hold_back_reason(refund_path=path, drawback=c.drawback, protest=c.protest, as_of=as_of)
        if reason:
            held_back[reason] += 1
            continue
        row = (pk, c.entry_number, c.importer_number, path, c.ieepa_duty, c.entry_summary_date)
        if cape.filer_code(row[1]) in codes:
            out.eligible.append(row)
        else:
            out.others[row[2]].append(row)
    return out


def _importer_files(
    client: Client, as_of: date, others: dict[str, list[tuple]], held_back: Counter, factors: dict
) -> list[ImporterFiles]:
    groups = []
    for importer in sorted(others):
        rows, made = _checked_files(others[importer], held_back)
        if made:
            planned = _planned_files(
                made, rows, factors, client=client, as_of=as_of, importer=importer, own=True
            )
            groups.append(ImporterFiles(importer_number=importer, eligible=rows, files=planned))
    return groups


def _factors_for(as_of: date, *row_lists) -> dict[date, Decimal]:
    return _interest_factors({row[5] for rows in row_lists for row in rows if row[5] is not None}, as_of)


def importer_own_files(*, client: Client, as_of: date, importer_number: str = "") -> list[ImporterFiles]:
    """The client's entries on a CAPE path as of as_of that other brokers filed, per importer number, in
    files the importer declares from its own ACE account. Reads only those entries (a filer-code filter)."""
    found = _sort_candidates(client=client, as_of=as_of, importer_number=importer_number, foreign_only=True)
    factors = _factors_for(as_of, *found.others.values())
    return _importer_files(client, as_of, found.others, found.held_back, factors)


def declaration_plan(
    *, client: Client, as_of: date, importer_number: str = "", entry_ids: Collection[int] | None = None
) -> Plan:
    """The entries a build on as_of would declare, checked one by one, cut into files of at most 9,999.

    Every entry with IEEPA duty is classified again as of the declaration's day (an entry whose 80 days
    ended yesterday is not in today's file). Those on a CAPE path that are not in a pending or accepted
    declaration, nor rejected for a reason that waits for someone to act, pass the pure guard (protest,
    drawback, phase open) and the check digit, or are held back and counted in the warnings. Entries whose
    filer code is not the brokerage's go to the importer's own files (Plan.other_brokers), never into the
    broker's: CBP fails a whole file for one foreign filer code.

    entry_ids: only these entries (ticked on the entries page), under the same guards; the ones not declared
    are counted in the warnings.
    """
    found = _sort_candidates(
        client=client, as_of=as_of, importer_number=importer_number, foreign_only=False, entry_ids=entry_ids
    )
    eligible, built = _checked_files(found.eligible, found.held_back)
    factors = _factors_for(as_of, eligible, *found.others.values())
    plan = Plan(
        client=client,
        as_of=as_of,
        importer_number=importer_number,
        eligible=eligible,
        files=_planned_files(built, eligible, factors, client=client, as_of=as_of, importer=importer_number),
        held_back={},
        in_ledger=found.in_ledger,
        awaiting_review=found.awaiting_review,
        readiness=client_ready_to_file(client=client),
        interest_basis=interest_basis_for(
            from_date=min((row[5] for row in eligible if row[5] is not None), default=None), to_date=as_of
        ),
        filer_codes=list(brokerage_filer_codes()),
        other_brokers=_importer_files(client, as_of, found.others, found.held_back, factors),
    )
    plan.held_back = dict(found.held_back)
    if entry_ids is not None:
        selected = Entry.objects.filter(client=client, pk__in=list(entry_ids))
        if importer_number:
            selected = selected.filter(importer_number=importer_number)
        plan.selected = selected.count()
        plan.selected_without_duty = plan.selected - found.seen
    plan.warnings = _warnings(plan)
    return plan


def _checked_files(rows: list[tuple], held_back: Counter) -> tuple[list[tuple], list[cape.CapeFile]]:
    """The rows' files (sorted, at most 9,999 each) and the rows in file order, invalid numbers held back."""
    by_number = {row[1]: row for row in rows}
    try:
        built = cape.build_files(by_number)
    except cape.CapeFileError as error:
        # Every number is checked again before it is written (check digit, form). Stored numbers passed the
        # same check on import, so this is rare: the offending entries are held back, the rest go ahead.
        for number in set(error.numbers) & by_number.keys():
            del by_number[number]
            held_back["invalid_number"] += 1
        built = cape.build_files(by_number)
    return [by_number[n] for f in built for n in f.entry_numbers], built


def _planned_files(built, rows, factors, *, client, as_of, importer, own=False) -> list[PlannedFile]:
    by_number = {row[1]: row for row in rows}
    files = []
    for made in built:
        file_rows = [by_number[n] for n in made.entry_numbers]
        files.append(
            PlannedFile(
                file=made,
                filename=made.filename(
                    client_slug=client.slug, as_of=as_of, importer_number=importer, own=own
                ),
                ieepa_total=sum((row[4] for row in file_rows), Decimal("0")),
                interest_estimate=_interest(file_rows, factors),
                phase2_count=sum(row[3] == PHASE2 for row in file_rows),
            )
        )
    return files


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
    if plan.eligible and plan.interest_basis is None and InterestRate.objects.count() == 0:
        warnings.append(NO_RATES_WARNING)
    if not plan.filer_codes:
        warnings.append(
            "No filer code of the brokerage is configured (BROKERAGE_FILER_CODES), so the broker can declare "
            "no entry: every eligible entry is listed for the importer to declare itself."
        )
    for group in plan.other_brokers:
        warnings.append(
            f"{_entries(group.count)} of importer {group.importer_number or '(none)'} "
            f"{'was' if group.count == 1 else 'were'} filed by other brokers (filer code "
            f"{', '.join(group.filer_codes)}): not in the broker's files, since CBP fails a whole file for one "
            "foreign filer code. The importer declares them from its own ACE account (its own CAPE file)."
        )
    for reason, count in sorted(plan.held_back.items()):
        why = HOLD_BACK_REASONS.get(reason, "an entry number whose check digit is wrong")
        verb = "is" if count == 1 else "are"
        where = "selected" if plan.selected is not None else "on a CAPE path"
        warnings.append(f"{_entries(count)} {where} {verb} held back: {why}.")
    if plan.selected is not None and plan.in_ledger:
        warnings.append(
            f"{_entries(plan.in_ledger)} selected {'is' if plan.in_ledger == 1 else 'are'} already in a "
            "pending or accepted declaration."
        )
    if plan.selected_without_duty:
        warnings.append(
            f"{_entries(plan.selected_without_duty)} selected "
            f"{'has' if plan.selected_without_duty == 1 else 'have'} no IEEPA duty: nothing to refund."
        )
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
