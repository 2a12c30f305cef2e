"""Matching a CBP report's rows to the ledger and recording what CBP says, set-based.

The client's ledger is read once into dictionaries (its size is the client's declared entries, not the
file's), the file is streamed through domain.cbp_reports, each row is matched in memory, and what changes is
written in one transaction with UPDATE ... FROM a temporary table (COPY on PostgreSQL). Rows that cannot be
matched are stored with the reason, for the report page and its CSV. Mappings and rules: docs/CAPE.md.

Why one module (~570 lines): the three matchers (validation results, ES-022 refunds paid, refund statuses) are
small subclasses of _Matcher that share the loaded ledger, the problem collector and the one transaction
that reconcile() runs them in; split into files, each would import the private pieces of the others and a
reader would follow one pass over one file across four modules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from brokerage.bulk import update_from_rows, write_rows
from brokerage.storage import local_path
from brokerage.words import plural
from clients.jobs import job_progress
from domain.cbp_reports import BadRow, FileRejected, Row, open_cbp_report
from domain.eligibility import ResultCounts, declaration_outcome
from domain.entry_numbers import display
from entries.figures import figures_refresh
from entries.models import Entry

from .ledgers import registered as other_ledgers
from .models import CbpReport, CbpReportProblem, Declaration, DeclarationEntry, RejectionReason

PROGRESS_EVERY_ROWS = 25_000
_UPDATE_BATCH = 50_000
_PROBLEM_BATCH = 5_000
_STATUS = DeclarationEntry.Status
_DECLARED = (
    Declaration.Status.FILED,
    Declaration.Status.ACCEPTED,
    Declaration.Status.PARTIALLY_REJECTED,
    Declaration.Status.REJECTED,
)


_LIVE = (_STATUS.PENDING, _STATUS.ACCEPTED)


@dataclass(slots=True)
class _Ledger:
    """One client's ledger as the matching needs it. A row is (id, status, declaration id, claim number,
    refund status); an entry has one row per declaration it was in (almost always one)."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)  # entry number -> its rows
    claims: dict[str, tuple[int, str]] = field(default_factory=dict)  # claim number -> (declaration, status)

    def in_claim(self, number: str, claim: str) -> tuple | None:
        return next((row for row in self.rows.get(number, ()) if row[3] == claim), None)

    def in_declaration(self, number: str, declaration_id: int) -> tuple | None:
        return next((row for row in self.rows.get(number, ()) if row[2] == declaration_id), None)

    def live(self, number: str) -> tuple | None:
        return next((row for row in self.rows.get(number, ()) if row[1] in _LIVE), None)


def _load_ledger(report: CbpReport) -> _Ledger:
    ledger = _Ledger()
    client = report.client
    claim_of = {}
    for pk, status, claim in Declaration.objects.filter(client=client).values_list(
        "pk", "status", "claim_number"
    ):
        claim_of[pk] = claim
        if claim:
            ledger.claims[claim] = (pk, status)
    rows = (
        DeclarationEntry.objects.filter(client=client)
        .exclude(status=_STATUS.RELEASED)
        .values_list("pk", "entry_number", "status", "declaration_id", "refund_status")
    )
    by_number = ledger.rows
    for pk, number, status, declaration_id, refund_status in rows.iterator(chunk_size=20_000):
        row = (pk, status, declaration_id, claim_of[declaration_id], refund_status)
        found = by_number.get(number)
        if found is None:
            by_number[number] = [row]
        else:
            found.append(row)
    return ledger


@dataclass
class Outcome:
    rows_read: int = 0
    matched: int = 0
    unmatched: int = 0
    updated: int = 0
    ach_returns: int = 0
    diverted: int = 0
    declarations: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = f"{self.rows_read:,} row{'' if self.rows_read == 1 else 's'} read: {self.matched:,} matched, "
        text += f"{self.unmatched:,} not matched; {self.updated:,} ledger "
        text += f"entr{'y' if self.updated == 1 else 'ies'} updated."
        if self.ach_returns or self.diverted:
            parts = []
            if self.ach_returns:
                parts.append(
                    f"{plural(self.ach_returns, 'refund')} came back from the bank (Check/ACH Returned)"
                )
            if self.diverted:
                parts.append(
                    f"{plural(self.diverted, 'refund')} {'was' if self.diverted == 1 else 'were'} diverted "
                    "(Funds Diverted)"
                )
            text += (
                f" {' and '.join(parts)}: the ACH enrollment step of the onboarding checklist is open again."
            )
        return text

    @property
    def audit_data(self) -> dict:
        return {
            "rows": self.rows_read,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "updated": self.updated,
            "ach_returns": self.ach_returns,
            "diverted": self.diverted,
            "declarations": self.declarations,
        }


class _Problems:
    """Unmatched and unreadable rows, written a batch at a time so a file of bad rows cannot fill memory."""

    def __init__(self, report: CbpReport):
        self.report = report
        self.rows: list[tuple] = []
        self.count = 0

    def add(self, row_number: int, entry: str, claim: str, reason: str) -> None:
        self.rows.append((self.report.client_id, self.report.pk, row_number, entry[:64], claim[:64], reason))
        self.count += 1
        if len(self.rows) >= _PROBLEM_BATCH:
            self.flush()

    def flush(self) -> None:
        write_rows(
            CbpReportProblem._meta.db_table,
            ("client_id", "report_id", "row_number", "entry_number", "claim_number", "reason"),
            self.rows,
        )
        self.rows = []


def reconcile(*, report: CbpReport, on_progress: Callable[[int, int | None], None] | None = None) -> Outcome:
    """Read the report's file, match every row, record the results; FileRejected when it cannot be read."""
    CbpReportProblem.objects.filter(report=report).delete()  # a redelivered job starts over
    outcome = Outcome()
    problems = _Problems(report)
    ledger = _load_ledger(report)
    size = report.file.size or 1
    with local_path(report.file) as path, open_cbp_report(path, kind=report.kind) as reader:
        if (
            report.kind == CbpReport.Kind.RESULTS
            and report.declaration_id is None
            and not reader.has_claim_numbers
        ):
            raise FileRejected(
                "This results file has no claim number column, so its rows cannot be tied to a declaration: "
                "upload it again and choose its declaration on the form."
            )
        matcher = _MATCHERS[report.kind](report, ledger, problems)
        reader.known_entry_numbers = ledger.rows
        for item in reader.rows():
            outcome.rows_read += 1
            if isinstance(item, BadRow):
                problems.add(item.row_number, item.entry_text, item.claim_number, item.reason)
            else:
                matcher.take(item)
            if outcome.rows_read % PROGRESS_EVERY_ROWS == 0:
                position = reader.position()
                total = int(outcome.rows_read * size / position) if position else None
                (on_progress or _progress(report))(outcome.rows_read, total)
    problems.flush()
    with transaction.atomic():
        matcher.apply(outcome)
        figures_refresh(client_id=report.client_id, entries=False)  # the dashboard's ledger figures
    outcome.unmatched = problems.count
    outcome.matched = outcome.rows_read - outcome.unmatched
    CbpReport.objects.filter(pk=report.pk).update(
        rows_read=outcome.rows_read,
        rows_matched=outcome.matched,
        rows_unmatched=outcome.unmatched,
        entries_updated=outcome.updated,
        ach_returns=outcome.ach_returns,
    )
    report.refresh_from_db()
    return outcome


def _progress(report: CbpReport):
    def progress(done: int, total: int | None) -> None:
        job_progress(report, done=done, total=total, message=f"{done:,} rows read…")
        CbpReport.objects.filter(pk=report.pk).update(rows_read=done)

    return progress


class _Others:
    """The rows CBP refunds outside CAPE declarations (refunds.ledgers: allowed protests), read on first use."""

    def __init__(self, report: CbpReport):
        self.report = report
        self._rows: dict[str, tuple[int, int, str, str]] | None = None  # number -> (ledger, id, status, ref)

    def find(self, number: str, reference: str) -> tuple[int, int, str, str] | None:
        if self._rows is None:
            self._rows = {}
            for index, other in enumerate(other_ledgers()):
                rows = other.model.objects.filter(other.refundable, client=self.report.client).values_list(
                    "entry_number", "pk", "refund_status", other.reference
                )
                for entry_number, pk, status, ref in rows.iterator(chunk_size=20_000):
                    self._rows[entry_number] = (index, pk, status, ref or "")
        found = self._rows.get(number)
        if found is None or (reference and reference != found[3]):
            return None
        return found


def _update_others(client_id: int, columns: tuple[str, ...], rows: dict[tuple[int, int], tuple]) -> int:
    """Write refund columns of the other ledgers' rows ((ledger, id) -> values), this client's only."""
    ledgers = other_ledgers()
    for index, other in enumerate(ledgers):
        batch = [(pk, *values) for (i, pk), values in rows.items() if i == index]
        if batch:
            table = other.model._meta.db_table
            update_from_rows(
                table,
                key="id",
                columns=columns,
                rows=batch,
                where=f"{table}.client_id = %s",
                params=[client_id],
            )
    return len(rows)


class _Matcher:
    def __init__(self, report: CbpReport, ledger: _Ledger, problems: _Problems):
        self.report = report
        self.ledger = ledger
        self.problems = problems
        self.others = _Others(report)
        self._entries: set[str] | None = None

    def other_row(self, row: Row) -> tuple[int, int, str, str] | None:
        """The refund of an entry outside CAPE (an allowed protest): a row naming no CAPE claim, for an entry in
        no pending or accepted declaration, matched by entry number (and by the protest number if it names one)."""
        if row.claim_number in self.ledger.claims:
            return None
        if not row.claim_number and self.ledger.live(row.entry_number) is not None:
            return None
        return self.others.find(row.entry_number, row.claim_number)

    def known_entry(self, number: str) -> bool:
        if self._entries is None:
            self._entries = set(
                Entry.objects.filter(client=self.report.client).values_list("entry_number", flat=True)
            )
        return number in self._entries

    def problem(self, row: Row, reason: str) -> None:
        self.problems.add(row.row_number, row.entry_number, row.claim_number, reason)

    def not_found(self, row: Row, claim: str = "") -> None:
        number = display(row.entry_number)
        if not self.known_entry(row.entry_number):
            self.problem(row, f"entry {number} is not one of this client's entries")
        elif claim:
            self.problem(row, f"entry {number} is not in declaration {claim}")
        else:
            self.problem(row, f"entry {number} is in no pending or accepted declaration of this client")

    def accepted_row(self, row: Row) -> tuple | None:
        """The ledger row a refund report's row is about: by claim number when given, else the live row."""
        if row.claim_number:
            if row.claim_number not in self.ledger.claims:
                self.problem(row, f"no declaration of this client has CAPE claim number {row.claim_number}")
                return None
            found = self.ledger.in_claim(row.entry_number, row.claim_number)
        else:
            found = self.ledger.live(row.entry_number)
        if found is None:
            self.not_found(row, row.claim_number)
            return None
        if found[1] != _STATUS.ACCEPTED:
            claim = found[3] or "a draft declaration"
            self.problem(
                row,
                f"entry {display(row.entry_number)} in {claim} is {found[1]}, not accepted: "
                "upload CBP's validation results for that declaration first",
            )
            return None
        return found

    def take(self, row: Row) -> None:
        raise NotImplementedError

    def apply(self, outcome: Outcome) -> None:
        raise NotImplementedError

    def update(self, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        """Set columns of ledger rows (id first in each row), this client's only; returns how many.

        UPDATE ... FROM a temporary table filled by COPY (faster here than passing the values as arrays),
        a slice of rows at a time so that memory does not grow with the report.
        """
        table = DeclarationEntry._meta.db_table
        count = 0
        rows = iter(rows)
        while batch := list(islice(rows, _UPDATE_BATCH)):
            update_from_rows(
                table,
                key="id",
                columns=columns,
                rows=batch,
                where=f"{table}.client_id = %s",
                params=[self.report.client_id],
            )
            count += len(batch)
        return count


class _Results(_Matcher):
    """CBP's per-entry validation result: accepted, or rejected with a reason (pending rows only)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.results: dict[int, tuple[str, str]] = {}
        self.declaration_ids: set[int] = set()
        target = self.report.declaration
        self.target_claim = target.claim_number if target else ""

    def take(self, row: Row) -> None:
        if self.report.declaration_id is not None:
            if row.claim_number and row.claim_number != self.target_claim:
                self.problem(
                    row, f"claim number {row.claim_number} is not this declaration's ({self.target_claim})"
                )
                return
            found = self.ledger.in_declaration(row.entry_number, self.report.declaration_id)
            claim = self.target_claim
        else:
            claim = row.claim_number
            if not claim:
                self.problem(row, "the claim number is blank, so the row cannot be tied to a declaration")
                return
            declaration = self.ledger.claims.get(claim)
            if declaration is None:
                self.problem(row, f"no declaration of this client has CAPE claim number {claim}")
                return
            found = self.ledger.in_claim(row.entry_number, claim)
        if found is None:
            self.not_found(row, claim)
            return
        pk, status = found[0], found[1]
        earlier = self.results.get(pk)
        if earlier is not None:
            if earlier[0] != row.result:
                self.problem(
                    row,
                    f"entry {display(row.entry_number)} is listed again with another result; the first is kept",
                )
            return
        if status == _STATUS.PENDING or status == row.result:
            self.results[pk] = (row.result, row.reason)
            self.declaration_ids.add(found[2])
        else:
            self.problem(
                row,
                f"entry {display(row.entry_number)} is already recorded as {status} in {claim}; not changed",
            )

    def apply(self, outcome: Outcome) -> None:
        reasons = list(RejectionReason.objects.all())
        matched: dict[str, RejectionReason | None] = {}

        def reason_for(text: str) -> RejectionReason | None:
            if text not in matched:
                lowered = text.lower()
                matched[text] = next((r for r in reasons if any(p in lowered for p in r.phrases)), None)
            return matched[text]

        today, report_id = timezone.localdate(), self.report.pk

        def rows():
            for pk, (result, text) in self.results.items():
                reason = reason_for(text) if result == _STATUS.REJECTED else None
                refile = bool(reason and reason.allows_refile)
                yield (pk, result, text, reason.pk if reason else None, refile, today, report_id)

        outcome.updated = self.update(
            ("status", "cbp_reason", "reason_id", "refile_allowed", "result_on", "result_report_id"), rows()
        )
        outcome.declarations = _settle_declarations(self.report, self.declaration_ids)


def _settle_declarations(report: CbpReport, declaration_ids: set[int]) -> list[str]:
    """Each declaration's counts and status from its ledger rows: filed until CBP answered for every entry."""
    settled = []
    counts = (
        DeclarationEntry.objects.filter(client=report.client, declaration_id__in=declaration_ids)
        .values("declaration_id")
        .annotate(
            pending=Count("pk", filter=Q(status=_STATUS.PENDING)),
            accepted=Count("pk", filter=Q(status=_STATUS.ACCEPTED)),
            rejected=Count("pk", filter=Q(status=_STATUS.REJECTED)),
        )
        .order_by()
    )
    for row in counts:
        declaration = Declaration.objects.defer("content").get(pk=row["declaration_id"])
        if declaration.status not in _DECLARED:
            continue
        outcome = declaration_outcome(ResultCounts(row["pending"], row["accepted"], row["rejected"]))
        declaration.status = outcome or Declaration.Status.FILED
        declaration.accepted_count = row["accepted"]
        declaration.rejected_count = row["rejected"]
        declaration.save(update_fields=["status", "accepted_count", "rejected_count"])
        settled.append(f"{declaration.claim_number}: {declaration.get_status_display().lower()}")
    return settled


class _Es022(_Matcher):
    """Refunds paid: principal and interest per entry (summed over the file's rows for that entry).

    An entry refunded outside CAPE (an allowed protest's reliquidation, which CBP refunds in the same report) is
    matched by _Matcher.other_row and recorded on that row, by the same rules.
    """

    def __init__(self, *args):
        super().__init__(*args)
        self.paid: dict[int, tuple[int, int, date | None]] = {}
        self.other_paid: dict[tuple[int, int], tuple[int, int, date | None]] = {}

    @staticmethod
    def _add(paid: dict, key, row: Row) -> None:
        interest = row.interest_cents or 0
        before = paid.get(key)
        if before is None:
            paid[key] = (row.principal_cents, interest, row.on_date)
        else:
            latest = max((d for d in (before[2], row.on_date) if d), default=None)
            paid[key] = (before[0] + row.principal_cents, before[1] + interest, latest)

    def take(self, row: Row) -> None:
        other = self.other_row(row)
        if other is not None:
            self._add(self.other_paid, other[:2], row)
            return
        found = self.accepted_row(row)
        if found is not None:
            self._add(self.paid, found[0], row)

    def apply(self, outcome: Outcome) -> None:
        cent = Decimal("0.01")
        columns = ("principal_refunded", "interest_refunded", "refunded_on")
        outcome.updated = self.update(
            columns,
            (
                (pk, Decimal(principal) * cent, Decimal(interest) * cent, on_date)
                for pk, (principal, interest, on_date) in self.paid.items()
            ),
        )
        outcome.updated += _update_others(
            self.report.client_id,
            columns,
            {
                key: (Decimal(principal) * cent, Decimal(interest) * cent, on_date)
                for key, (principal, interest, on_date) in self.other_paid.items()
            },
        )


class _RefundStatus(_Matcher):
    """REV-603 statuses and REV-613 returns: the latest status per entry; an ACH return reopens onboarding."""

    def __init__(self, *args):
        super().__init__(*args)
        # The CAPE ledger's rows by id; the other ledgers' (an allowed protest's entries) by (ledger, id).
        self.latest: dict[int | tuple[int, int], tuple] = {}
        self.before: dict[int | tuple[int, int], str] = {}

    def take(self, row: Row) -> None:
        other = self.other_row(row)
        if other is not None:
            target, before = other[:2], other[2]
        else:
            found = self.accepted_row(row)
            if found is None:
                return
            target, before = found[0], found[4]
        key = (row.on_date or date.min, row.row_number)
        current = self.latest.get(target)
        if current is None or key >= current[0]:
            self.latest[target] = (key, row.refund_status, row.on_date, row.reason)
        self.before.setdefault(target, before)

    def apply(self, outcome: Outcome) -> None:
        columns = ("refund_status", "refund_status_on", "refund_note")
        outcome.updated = self.update(
            columns,
            (
                (pk, status, on_date, note[:200])
                for pk, (_, status, on_date, note) in self.latest.items()
                if isinstance(pk, int)
            ),
        )
        outcome.updated += _update_others(
            self.report.client_id,
            columns,
            {
                key: (status, on_date, note[:200])
                for key, (_, status, on_date, note) in self.latest.items()
                if isinstance(key, tuple)
            },
        )
        refund = DeclarationEntry.RefundStatus
        new = [
            status
            for pk, (_, status, _, _) in self.latest.items()
            if status in (refund.ACH_RETURNED, refund.DIVERTED) and self.before[pk] != status
        ]
        outcome.ach_returns = new.count(refund.ACH_RETURNED)
        outcome.diverted = new.count(refund.DIVERTED)
        if new:
            # Spec §7: Funds Diverted and Check/ACH Returned both reopen the ACH enrollment in onboarding.
            from clients.onboarding.ach import ach_refund_returned

            what = []
            if outcome.ach_returns:
                what.append(
                    f"{plural(outcome.ach_returns, 'refund')} returned by the bank (Check/ACH Returned)"
                )
            if outcome.diverted:
                what.append(f"{plural(outcome.diverted, 'refund')} diverted (Funds Diverted)")
            ach_refund_returned(
                actor=self.report.created_by,
                client=self.report.client,
                note=(
                    f"CBP reported {' and '.join(what)} "
                    f"({self.report.get_kind_display()}, {os.path.basename(self.report.original_name)}): "
                    "check the ACH enrollment in the ACE Portal and tell CBP's ACH Refund Support."
                ),
            )


_MATCHERS = {
    CbpReport.Kind.RESULTS: _Results,
    CbpReport.Kind.ES022: _Es022,
    CbpReport.Kind.REV603: _RefundStatus,
    CbpReport.Kind.REV613: _RefundStatus,
}
