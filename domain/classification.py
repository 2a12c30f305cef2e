"""The refund path of an entry as of a date (spec §5) and its deadlines (spec §6).

Pure: no Django. classify() takes an EntryInput built from a parsed report (or from stored rows) and
returns a Classification that records the rule-set and registry versions it was computed with, so a
stored result can always be traced to the rules that produced it.

Kept whole at ~560 lines: the path rules of each rule set, the deadlines and the explanation sentence read
together as spec §5-6 and share EntryInput and the dates; split, each part would import the others. Its
words (paths, reasons, deadline kinds, statuses) are domain.vocabulary's.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain import deadlines
from domain.chapter99 import DEFAULT_REGISTRY, Registry
from domain.deadlines import CURRENT_RULES, RuleSet
from domain.vocabulary import (
    DEADLINE_LABELS,
    LIQUIDATED_STATUSES,
    LIQUIDATION_STATUSES,
    OPEN_STATUSES,
    DeadlineKind,
    Reason,
    RefundPath,
)

ADCVD_ENTRY_TYPES = frozenset({"03", "07", "34", "38"})
RECONCILIATION_ENTRY_TYPE = "09"
COLLECTION_WARNING = "check this entry: duty outside the collection period"

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


# Entry types CAPE does not take (rule set 2026.2, rule 5), with their reason.
EXCLUDED_ENTRY_TYPES = {
    "08": Reason.DUTY_DEFERRAL_ENTRY,
    "23": Reason.TIB_ENTRY,
    "47": Reason.DRAWBACK,
}


@dataclass(frozen=True, slots=True)
class EntryInput:
    entry_number: str
    entry_type: str | None  # "01", "09", ...
    entry_date: date | None
    entry_summary_date: date | None
    # None = unknown (the report had no Liquidation Status column); else one of LIQUIDATION_STATUSES.
    liquidation_status: str | None
    liquidation_date: date | None
    drawback: bool
    protest: bool
    reconciliation: bool
    tariff_rows: tuple[tuple[str | None, Decimal], ...]  # (hts digits, duty) per tariff ordinal row
    # Staff-only marks (rule set 2026.2).
    surety_paid: bool = False
    reconciliation_filed: bool = False


@dataclass(frozen=True, slots=True)
class Classification:
    refund_path: RefundPath
    exclusion_reason: Reason  # filled only for excluded entries, as in the export
    reason: Reason  # the machine reason for excluded and needs_data entries
    ieepa_duty: Decimal
    section_122_duty: Decimal
    projected_liquidation: date | None
    cape_window_closes: date | None
    protest_deadline: date | None
    next_deadline: date | None
    next_deadline_kind: DeadlineKind
    days_since_liquidation: int | None
    rule_set_version: str
    registry_version: str
    as_of: date
    explanation: str
    warning: str = ""  # for staff: COLLECTION_WARNING when a duty falls outside its collection period


@dataclass(frozen=True, slots=True)
class _Dates:
    projected_liquidation: date | None
    protest_horizon: date | None
    cape_window_closes: date | None
    protest_deadline: date | None


def duty_totals(
    *,
    tariff_rows: Iterable[tuple[str | None, Decimal]],
    entry_date: date | None,
    registry: Registry = DEFAULT_REGISTRY,
) -> tuple[Decimal, Decimal]:
    """(IEEPA duty, Section 122 duty) of an entry's tariff rows, rounded to cents."""
    ieepa = Decimal(0)
    section_122 = Decimal(0)
    for hts, duty in tariff_rows:
        rule = registry.rule_of(hts, entry_date)
        # Exemption numbers (carries_duty=False) declare that no duty is owed; an amount on such a row
        # is a reporting artefact, not a refundable payment.
        if rule is None or not rule.carries_duty:
            continue
        if rule.program == "ieepa":
            ieepa += duty
        else:
            section_122 += duty
    return _cents(ieepa), _cents(section_122)


def classify(
    entry: EntryInput,
    *,
    as_of: date,
    registry: Registry = DEFAULT_REGISTRY,
    rules: RuleSet = CURRENT_RULES,
) -> Classification:
    """The refund path, amounts and deadlines of one entry as of a date."""
    # Chapter 99 windows and the liquidation schedule run from the entry date; the summary date, a few
    # days later, is the best stand-in when a report only has that one.
    entry_date = entry.entry_date or entry.entry_summary_date
    ieepa, section_122 = duty_totals(tariff_rows=entry.tariff_rows, entry_date=entry_date, registry=registry)
    return _classify(entry, ieepa=ieepa, section_122=section_122, as_of=as_of, registry=registry, rules=rules)


def classify_totals(
    *,
    entry_number: str,
    entry_type: str | None,
    entry_date: date | None,
    entry_summary_date: date | None,
    liquidation_status: str | None,
    liquidation_date: date | None,
    drawback: bool,
    protest: bool,
    reconciliation: bool,
    ieepa_duty: Decimal,
    section_122_duty: Decimal,
    as_of: date,
    surety_paid: bool = False,
    reconciliation_filed: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    rules: RuleSet = CURRENT_RULES,
    explain: bool = True,
) -> Classification:
    """classify() for an entry whose duties were already summed per program (e.g. by the database).

    explain=False leaves the explanation empty: the daily job compares a million classifications and
    words only the ones that changed.
    """
    entry = EntryInput(
        entry_number=entry_number,
        entry_type=entry_type,
        entry_date=entry_date,
        entry_summary_date=entry_summary_date,
        liquidation_status=liquidation_status,
        liquidation_date=liquidation_date,
        drawback=drawback,
        protest=protest,
        reconciliation=reconciliation,
        tariff_rows=(),
        surety_paid=surety_paid,
        reconciliation_filed=reconciliation_filed,
    )
    return _classify(
        entry,
        ieepa=_cents(ieepa_duty),
        section_122=_cents(section_122_duty),
        as_of=as_of,
        registry=registry,
        rules=rules,
        explain=explain,
    )


def _classify(
    entry: EntryInput,
    *,
    ieepa: Decimal,
    section_122: Decimal,
    as_of: date,
    registry: Registry,
    rules: RuleSet,
    explain: bool = True,
) -> Classification:
    status = entry.liquidation_status
    if status is not None and status not in LIQUIDATION_STATUSES:
        raise ValueError(f"{entry.entry_number}: unknown liquidation status {status!r}")
    entry_date = entry.entry_date or entry.entry_summary_date
    dates = _dates(entry, entry_date, rules)
    days = None
    if dates.protest_deadline is not None and entry.liquidation_date is not None:
        days = deadlines.days_since(event=entry.liquidation_date, as_of=as_of)
    path, reason = _PATH_RULES[rules.version](
        entry, ieepa=ieepa, section_122=section_122, days=days, rules=rules
    )
    next_deadline, kind = _next_deadline(path, reason, dates, as_of)
    explanation = (
        _explain(
            entry, path=path, reason=reason, dates=dates, days=days, as_of=as_of, rules=rules, next_kind=kind
        )
        if explain
        else ""
    )
    return Classification(
        refund_path=path,
        exclusion_reason=reason if path is RefundPath.EXCLUDED else Reason.NONE,
        reason=reason,
        ieepa_duty=ieepa,
        section_122_duty=section_122,
        projected_liquidation=dates.projected_liquidation,
        cape_window_closes=dates.cape_window_closes,
        protest_deadline=dates.protest_deadline,
        next_deadline=next_deadline,
        next_deadline_kind=kind,
        days_since_liquidation=days,
        rule_set_version=rules.version,
        registry_version=registry.version,
        as_of=as_of,
        explanation=explanation,
        warning=collection_warning(
            entry_date=entry_date, ieepa_duty=ieepa, section_122_duty=section_122, rules=rules
        ),
    )


def collection_warning(
    *, entry_date: date | None, ieepa_duty: Decimal, section_122_duty: Decimal, rules: RuleSet = CURRENT_RULES
) -> str:
    """COLLECTION_WARNING when a duty sits on an entry dated outside its program's collection period.

    The amount still counts (a date window could only hide money paid); staff check the entry.
    """
    if entry_date is None:
        return ""
    for amount, (first, last) in (
        (ieepa_duty, rules.ieepa_collected),
        (section_122_duty, rules.section_122_collected),
    ):
        if amount > 0 and not first <= entry_date <= last:
            return COLLECTION_WARNING
    return ""


def entry_input_from_facts(facts: Any) -> EntryInput:
    """Adapt a domain.es003.grouping.EntryFacts (duck-typed, so this module stays free of the parser)."""
    return EntryInput(
        entry_number=facts.entry_number,
        entry_type=facts.entry_type,
        entry_date=facts.entry_date,
        entry_summary_date=facts.entry_summary_date,
        liquidation_status=facts.liquidation_status,
        liquidation_date=facts.liquidation_date,
        drawback=bool(facts.drawback),
        protest=bool(facts.protest),
        reconciliation=bool(facts.reconciliation),
        tariff_rows=tuple((line.hts, line.duty) for line in facts.lines),
    )


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _entry_type(raw: str | None) -> str:
    text = (raw or "").strip()
    # Excel turns "01" into 1; the type is always two digits.
    return text.zfill(2) if text.isdigit() else text


def _dates(entry: EntryInput, entry_date: date | None, rules: RuleSet) -> _Dates:
    # The status decides which clock runs: a liquidated entry has the CAPE and protest windows, anything
    # else only the projections. With no status column, a liquidation date is still the best evidence.
    status = entry.liquidation_status
    liquidation = entry.liquidation_date
    if liquidation is not None and (status is None or status in LIQUIDATED_STATUSES):
        return _Dates(
            projected_liquidation=None,
            protest_horizon=None,
            cape_window_closes=deadlines.cape_window_closes(liquidation_date=liquidation, rules=rules),
            protest_deadline=deadlines.protest_deadline(liquidation_date=liquidation, rules=rules),
        )
    if status in LIQUIDATED_STATUSES or entry_date is None:
        return _Dates(None, None, None, None)
    return _Dates(
        projected_liquidation=deadlines.projected_liquidation(entry_date=entry_date, rules=rules),
        protest_horizon=deadlines.protest_horizon(entry_date=entry_date, rules=rules),
        cape_window_closes=None,
        protest_deadline=None,
    )


def _path_2026_2(
    entry: EntryInput, *, ieepa: Decimal, section_122: Decimal, days: int | None, rules: RuleSet
) -> tuple[RefundPath, Reason]:
    """Spec §5, rule set 2026.2, in order; the first rule that applies wins."""
    status = entry.liquidation_status
    entry_type = _entry_type(entry.entry_type)
    if ieepa <= 0 and section_122 <= 0:
        return RefundPath.NOT_AFFECTED, Reason.NONE
    if ieepa <= 0:
        return RefundPath.SECTION_122, Reason.NONE
    if status is None:
        return RefundPath.NEEDS_DATA, Reason.LIQUIDATION_STATUS_MISSING
    if entry_type == RECONCILIATION_ENTRY_TYPE:
        return RefundPath.EXCLUDED, Reason.RECONCILIATION_ENTRY
    if entry_type in EXCLUDED_ENTRY_TYPES:
        return RefundPath.EXCLUDED, EXCLUDED_ENTRY_TYPES[entry_type]
    if entry.drawback:
        return RefundPath.EXCLUDED, Reason.DRAWBACK
    if entry.protest:
        return RefundPath.EXCLUDED, Reason.ACTIVE_PROTEST
    if entry.surety_paid:
        return RefundPath.EXCLUDED, Reason.SURETY_PAID
    if entry_type in ADCVD_ENTRY_TYPES and status == "pending":
        return RefundPath.EXCLUDED, Reason.ADCVD_LIQUIDATION_PENDING
    # A Type 09 exists only for a flagged entry, so the "Type 09 filed" mark implies the flag.
    if entry.reconciliation or entry.reconciliation_filed:
        if entry.reconciliation_filed:
            return RefundPath.EXCLUDED, Reason.RECONCILIATION_FILED
        # Phase 2 only while the entry could still be declared: open, or inside its 80 days. Past them
        # it is protested or final like any other entry (a Phase 2 declaration would cost the protest).
        if status in OPEN_STATUSES or (days is not None and days <= rules.cape_window_days):
            return RefundPath.CAPE_PHASE2, Reason.NONE
    return _by_liquidation(status=status, days=days, rules=rules)


def _by_liquidation(*, status: str, days: int | None, rules: RuleSet) -> tuple[RefundPath, Reason]:
    """Rules 11-14 of 2026.2 (9-12 of 2026.1): open → Phase 1, else by the days since liquidation."""
    if status in OPEN_STATUSES:
        return RefundPath.CAPE_PHASE1, Reason.NONE
    if days is None:
        return RefundPath.NEEDS_DATA, Reason.LIQUIDATION_DATE_MISSING
    if days <= rules.cape_window_days:
        return RefundPath.CAPE_PHASE1, Reason.NONE
    if days <= rules.protest_days:
        return RefundPath.PROTEST, Reason.NONE
    return RefundPath.FINALLY_LIQUIDATED, Reason.NONE


def _path_2026_1(
    entry: EntryInput, *, ieepa: Decimal, section_122: Decimal, days: int | None, rules: RuleSet
) -> tuple[RefundPath, Reason]:
    """Spec §5, rule set 2026.1 (superseded, kept for the record), in order; the first rule that applies wins."""
    status = entry.liquidation_status
    entry_type = _entry_type(entry.entry_type)
    if ieepa <= 0 and section_122 <= 0:
        return RefundPath.NOT_AFFECTED, Reason.NONE
    if ieepa <= 0:
        return RefundPath.SECTION_122, Reason.NONE
    if status is None:
        return RefundPath.NEEDS_DATA, Reason.LIQUIDATION_STATUS_MISSING
    if entry_type == RECONCILIATION_ENTRY_TYPE:
        return RefundPath.EXCLUDED, Reason.RECONCILIATION_ENTRY
    if entry.drawback:
        return RefundPath.EXCLUDED, Reason.DRAWBACK
    if entry.protest:
        return RefundPath.EXCLUDED, Reason.ACTIVE_PROTEST
    if entry_type in ADCVD_ENTRY_TYPES and status == "suspended":
        return RefundPath.EXCLUDED, Reason.ADCVD_PENDING
    # Only types 01/02/06 can carry the flag in ACE, but the flag itself is what keeps an entry out of
    # Phase 1, so it is honoured whatever the type. The path does not wait for 2026-06-29: an entry
    # classified earlier is still a Phase 2 entry, and the explanation says when the phase opens.
    if entry.reconciliation:
        return RefundPath.CAPE_PHASE2, Reason.NONE
    return _by_liquidation(status=status, days=days, rules=rules)


_PATH_RULES = {"2026.1": _path_2026_1, "2026.2": _path_2026_2}


def _next_deadline(
    path: RefundPath, reason: Reason, dates: _Dates, as_of: date
) -> tuple[date | None, DeadlineKind]:
    """The earliest deadline that matters for the path and has not passed.

    A deadline falling on as_of itself is still ahead: day 80 is still inside the CAPE window and day 180
    still allows a protest, so "today" is the most urgent deadline, not a passed one.
    """
    if path in (RefundPath.NOT_AFFECTED, RefundPath.NEEDS_DATA, RefundPath.FINALLY_LIQUIDATED):
        return None, DeadlineKind.NONE
    if reason is Reason.ACTIVE_PROTEST:
        return None, DeadlineKind.NONE
    candidates: list[tuple[date | None, DeadlineKind]]
    if dates.protest_deadline is not None:
        candidates = [(dates.protest_deadline, DeadlineKind.PROTEST_DEADLINE)]
        if path in (RefundPath.CAPE_PHASE1, RefundPath.CAPE_PHASE2):
            candidates.insert(0, (dates.cape_window_closes, DeadlineKind.CAPE_WINDOW_CLOSES))
    else:
        candidates = [
            (dates.projected_liquidation, DeadlineKind.PROJECTED_LIQUIDATION),
            (dates.protest_horizon, DeadlineKind.PROTEST_HORIZON),
        ]
    for when, kind in candidates:
        if when is not None and when >= as_of:
            return when, kind
    return None, DeadlineKind.NONE


def with_court_deadline(c: Classification, court_deadline: date | None) -> Classification:
    """An entry whose protest was denied: the 180 days to contest the denial in the Court of International Trade
    (28 U.S.C. 2636(a)) are its next deadline while they run, unless a nearer one matters more."""
    if court_deadline is None or court_deadline < c.as_of:
        return c
    if c.next_deadline is not None and c.next_deadline <= court_deadline:
        return c
    return replace(c, next_deadline=court_deadline, next_deadline_kind=DeadlineKind.COURT_DEADLINE)


def _days_text(days: int) -> str:
    return "1 day" if abs(days) == 1 else f"{abs(days)} days"


def _liquidated_text(liquidation: date, days: int) -> str:
    if days > 0:
        return f"Liquidated {liquidation}, {_days_text(days)} ago"
    if days == 0:
        return f"Liquidated today, {liquidation}"
    return f"Liquidation dated {liquidation}, {_days_text(days)} after the as-of date"


def _on(when: date, as_of: date) -> str:
    return f"{when} (today)" if when == as_of else str(when)


def _explain(
    entry: EntryInput,
    *,
    path: RefundPath,
    reason: Reason,
    dates: _Dates,
    days: int | None,
    as_of: date,
    rules: RuleSet,
    next_kind: DeadlineKind,
) -> str:
    liquidated = (
        _liquidated_text(entry.liquidation_date, days)
        if entry.liquidation_date is not None and days is not None
        else ""
    )
    projected = dates.projected_liquidation
    horizon = dates.protest_horizon
    protest = dates.protest_deadline
    next_text = ""
    if next_kind is not DeadlineKind.NONE:
        when = {
            DeadlineKind.PROJECTED_LIQUIDATION: projected,
            DeadlineKind.CAPE_WINDOW_CLOSES: dates.cape_window_closes,
            DeadlineKind.PROTEST_DEADLINE: protest,
            DeadlineKind.PROTEST_HORIZON: horizon,
        }[next_kind]
        next_text = f" Next date to watch: {DEADLINE_LABELS[next_kind]}, {_on(when, as_of)}."

    if path is RefundPath.NOT_AFFECTED:
        return "No IEEPA or Section 122 duty on this entry, so there is nothing to refund."

    if path is RefundPath.SECTION_122:
        first = "Only Section 122 duty: it is not filed through CAPE and has no refund procedure yet."
        if protest is not None and days is not None:
            if days <= rules.protest_days:
                return (
                    f"{first} {liquidated}: protect it with a protest (CBP Form 19) by {_on(protest, as_of)}."
                )
            return f"{first} {liquidated}: the protest period ended {protest}, so the entry is final."
        if projected is not None and horizon is not None:
            state = "Liquidation status unknown" if entry.liquidation_status is None else "Not yet liquidated"
            return (
                f"{first} {state} (projected liquidation {projected}): protest within "
                f"{rules.protest_days} days of liquidation, by {horizon} if it liquidates on schedule."
            )
        return f"{first} Re-export the report with the Liquidation Date field to time its protest."

    if path is RefundPath.NEEDS_DATA:
        if reason is Reason.LIQUIDATION_DATE_MISSING:
            return (
                "Liquidated, but the report gives no liquidation date: re-export ES-003 with the "
                "Liquidation Date field to time the CAPE and protest windows."
            )
        return (
            "The report has no Liquidation Status, so the refund path cannot be decided: re-export ES-003 "
            "with the Liquidation Status and Liquidation Date fields."
        )

    if path is RefundPath.EXCLUDED:
        first = {
            Reason.RECONCILIATION_ENTRY: "This is a Type 09 reconciliation entry, which CAPE does not take.",
            Reason.DRAWBACK: "Drawback was claimed on this entry, which keeps it out of CAPE.",
            Reason.ACTIVE_PROTEST: (
                "A protest is pending on this entry: the protest decides the refund and CAPE would reject it."
                + (
                    f" A protest of the IEEPA duty alone may be withdrawn within the {rules.cape_window_days} "
                    "days after liquidation to declare the entry in CAPE instead."
                    if rules.version != "2026.1"
                    else ""
                )
            ),
            Reason.ADCVD_PENDING: (
                f"AD/CVD entry (type {_entry_type(entry.entry_type)}) suspended until its AD/CVD case is "
                "decided, so CAPE cannot take it yet."
            ),
            Reason.DUTY_DEFERRAL_ENTRY: (
                "This is a type 08 (USMCA duty deferral) entry, which CAPE does not take."
            ),
            Reason.TIB_ENTRY: (
                "This is a type 23 entry (temporary importation under bond), which CAPE does not take."
            ),
            Reason.SURETY_PAID: (
                "The surety paid the IEEPA duty on this entry (marked by staff), so it must not be declared "
                "in CAPE."
            ),
            Reason.ADCVD_LIQUIDATION_PENDING: (
                f"AD/CVD entry (type {_entry_type(entry.entry_type)}) whose liquidation is pending: Commerce "
                "has issued liquidation instructions (19 U.S.C. 1504(d)), and CAPE does not take it."
            ),
            Reason.RECONCILIATION_FILED: (
                "The Type 09 reconciliation entry covering this flagged entry has been filed (marked by "
                "staff): CAPE Phase 2 no longer takes it; CBP takes these in a later phase."
            ),
        }[reason]
        if reason is Reason.DRAWBACK and _entry_type(entry.entry_type) == "47":
            first = "This is a type 47 (drawback) entry, which CAPE does not take."
        return first + next_text

    if path is RefundPath.CAPE_PHASE2:
        opens = rules.phase2_opens
        phase = f"open since {opens}" if as_of >= opens else f"opens {opens}"
        window = ""
        if days is not None and dates.cape_window_closes is not None:
            window = (
                f" {liquidated}: Phase 2 takes it only within {rules.cape_window_days} days of liquidation."
            )
        return (
            f"Flagged for reconciliation: declare it in CAPE Phase 2 ({phase}) before the Type 09 "
            f"reconciliation entry is filed.{window}{next_text}"
        )

    phase1_note = "" if as_of >= rules.phase1_opens else f" (Phase 1 opens {rules.phase1_opens})"
    if path is RefundPath.CAPE_PHASE1 and days is None:
        status = f"status {(entry.liquidation_status or '').replace('_', ' ')}"
        if projected is not None and projected < as_of:
            # The report may predate a liquidation: say so rather than trust a stale status.
            status += f"; its projected liquidation, {projected}, has passed, so check ACE for a liquidation"
        elif projected is not None:
            status += f", projected liquidation {projected}"
        return f"Not yet liquidated ({status}): declare it in CAPE Phase 1{phase1_note}.{next_text}"
    if path is RefundPath.CAPE_PHASE1:
        return (
            f"{liquidated}: within the {rules.cape_window_days}-day CAPE window. Declare it in CAPE Phase 1 "
            f"by {_on(dates.cape_window_closes, as_of)}{phase1_note}."
        )
    if path is RefundPath.PROTEST:
        return (
            f"{liquidated}: past the {rules.cape_window_days}-day CAPE window. File a protest (CBP Form 19) "
            f"by {_on(protest, as_of)}."
        )
    return (
        f"{liquidated}: the {rules.protest_days}-day protest period ended {protest}, so the entry is finally "
        "liquidated. Its refund waits for CAPE Phase 3 (the Atmus order); a CIT action under "
        "28 U.S.C. 1581(i) within 2 years is the fallback."
    )
