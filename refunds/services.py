"""Writes on CAPE declarations and CBP reports: keyword-only; each owns its transaction and records an audit event."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from brokerage.bulk import write_rows
from brokerage.queueing import enqueue_on_commit
from clients import audit
from clients.jobs import job_fail, job_start, job_succeed
from clients.models import Client, User
from clients.onboarding.selectors import client_ready_to_file
from clients.tenancy import ADMIN_ROLES, client_access_for
from domain import cape
from domain.deadlines import RULES_2026_1
from domain.eligibility import HOLD_BACK_REASONS, PHASE2, hold_back_reason
from entries.figures import figures_refresh
from entries.models import Entry
from entries.reclassification import FACT_FIELDS, classify_facts
from entries.registry import current_registry

from . import planning, selectors
from .models import CbpReport, Declaration, DeclarationBatch, DeclarationEntry

logger = logging.getLogger(__name__)

_CLAIM_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")


def _require_builder(actor: User, client: Client) -> None:
    access = client_access_for(actor, client)
    if access is None or not selectors.may_build(access):
        raise ValidationError("Only broker staff prepare and file CAPE declarations for this client.")


# --- Building --------------------------------------------------------------------------------------


def declaration_batch_build(
    *,
    actor: User,
    client: Client,
    as_of: date,
    importer_number: str = "",
    entry_ids: Collection[int] | None = None,
) -> DeclarationBatch:
    """Reserve the eligible entries in new draft declarations (one per file of at most 9,999) and keep the files.

    entry_ids: only these entries (ticked on the entries page) are candidates, under every guard of a full
    build; another client's ids are never found. The audit event says the batch was built from a selection.

    Builds of one client are serialised by locking the client's row, so a second build waits and then sees
    the first one's entries as taken; the ledger's unique constraint is the backstop if anything else writes.
    """
    _require_builder(actor, client)
    if as_of > timezone.localdate():
        raise ValidationError(
            {"as_of": "A declaration is built as of today or an earlier day, not a future one."}
        )
    if importer_number and importer_number not in selectors.importer_number_choices(client=client):
        raise ValidationError({"importer_number": "Choose one of the client's importer numbers."})
    with transaction.atomic():
        list(Client.objects.select_for_update().filter(pk=client.pk).values_list("pk", flat=True))
        plan = planning.declaration_plan(
            client=client, as_of=as_of, importer_number=importer_number, entry_ids=entry_ids
        )
        if not plan.files:
            if entry_ids is not None:
                raise ValidationError(
                    " ".join(
                        [
                            "No selected entry is eligible for a CAPE declaration as of "
                            f"{as_of:%Y-%m-%d}, so nothing was declared.",
                            *plan.warnings,
                        ]
                    )
                )
            raise ValidationError(
                "No entry is eligible for a CAPE declaration: none is on a CAPE path outside a pending or "
                "accepted declaration."
            )
        batch = DeclarationBatch.objects.create(
            client=client,
            importer_number=importer_number,
            as_of=as_of,
            entry_count=plan.count,
            ieepa_total=plan.ieepa_total,
            interest_estimate=plan.interest_estimate,
            warnings=plan.warnings,
            created_by=actor,
        )
        declarations = Declaration.objects.bulk_create(
            [
                Declaration(
                    client=client,
                    batch=batch,
                    sequence=planned.file.sequence,
                    filename=planned.filename,
                    content=planned.file.content,
                    sha256=hashlib.sha256(planned.file.content).hexdigest(),
                    entry_count=planned.count,
                    ieepa_total=planned.ieepa_total,
                    interest_estimate=planned.interest_estimate,
                    phase2_count=planned.phase2_count,
                )
                for planned in plan.files
            ]
        )
        _write_ledger(client=client, declarations=declarations, plan=plan)
        figures_refresh(client_id=client.pk, entries=False)  # the caseload dashboard's ledger figures
        audit.record(
            client=client,
            actor=actor,
            action="refunds.batch_built",
            subject=batch,
            data={
                "as_of": as_of.isoformat(),
                "importer_number": importer_number,
                "entries": plan.count,
                "files": [{"name": p.filename, "entries": p.count} for p in plan.files],
                "warnings": plan.warnings,
                "built_from": "all eligible entries" if entry_ids is None else "selected entries",
                **({} if plan.selected is None else {"selected": plan.selected}),
            },
        )
    return batch


_LEDGER_COLUMNS = (
    ("client_id", "int8"),
    ("declaration_id", "int8"),
    ("entry_id", "int8"),
    ("entry_number", "varchar"),
    ("importer_number", "varchar"),
    ("refund_path", "varchar"),
    ("ieepa_duty", "numeric"),
    ("status", "varchar"),
)


def _write_ledger(*, client: Client, declarations: list[Declaration], plan: planning.Plan) -> None:
    """One pending ledger row per planned entry, in one statement: a binary COPY on PostgreSQL (half the
    cost of text for 100,000 rows), plain inserts elsewhere."""
    by_number = {row[1]: row for row in plan.eligible}
    pending = DeclarationEntry.Status.PENDING
    rows = [
        (client.pk, declaration.pk, row[0], number, row[2], row[3], row[4], pending)
        for declaration, planned in zip(declarations, plan.files, strict=True)
        for number in planned.file.entry_numbers
        for row in (by_number[number],)
    ]
    table = DeclarationEntry._meta.db_table
    names = [name for name, _ in _LEDGER_COLUMNS]
    if connection.vendor != "postgresql":
        write_rows(table, names, rows)
        return
    connection.ensure_connection()
    with (
        connection.connection.cursor() as raw,
        raw.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([kind for _, kind in _LEDGER_COLUMNS])
        for row in rows:
            copy.write_row(row)


def declaration_discard(*, actor: User, declaration: Declaration) -> Declaration:
    """Discard a draft: its entries go back to the pool for the next build. Filed declarations stay."""
    _require_builder(actor, declaration.client)
    with transaction.atomic():
        declaration = Declaration.objects.select_for_update().defer("content").get(pk=declaration.pk)
        if declaration.status != Declaration.Status.DRAFT:
            raise ValidationError(
                f"This declaration is {declaration.get_status_display().lower()}; only a draft can be discarded."
            )
        declaration.status = Declaration.Status.DISCARDED
        declaration.discarded_at = timezone.now()
        declaration.save(update_fields=["status", "discarded_at"])
        released = DeclarationEntry.objects.filter(declaration=declaration).update(
            status=DeclarationEntry.Status.RELEASED
        )
        figures_refresh(client_id=declaration.client_id, entries=False)
        audit.record(
            client=declaration.client,
            actor=actor,
            action="refunds.declaration_discarded",
            subject=declaration,
            data={"file": declaration.filename, "entries_released": released},
        )
    return declaration


# --- Filing ----------------------------------------------------------------------------------------


def _filing_problems(declaration: Declaration) -> list[str]:
    """Why the client may not file this declaration now (readiness and the authorization's importer numbers)."""
    readiness = client_ready_to_file(client=declaration.client)
    if not readiness.ready:
        return list(readiness.missing)
    numbers = set(
        DeclarationEntry.objects.filter(declaration=declaration)
        .values_list("importer_number", flat=True)
        .distinct()
    )
    uncovered = sorted(numbers - set(readiness.importer_numbers))
    if uncovered:
        return [
            f"Filing authorization: does not cover importer number(s) {', '.join(n or '(none)' for n in uncovered)}."
        ]
    return []


def _guard_problems(declaration: Declaration, filed_on: date) -> list[str]:
    """Entries that could no longer be put in a file on filed_on: classified again for that day (a window
    that closed since the build, a protest or drawback marked since), or another broker's filer code."""
    numbers = set(
        DeclarationEntry.objects.filter(declaration=declaration).values_list("entry_number", flat=True)
    )
    registry = current_registry()
    codes = set(planning.brokerage_filer_codes())
    rows = Entry.objects.filter(client=declaration.client, entry_number__in=numbers).values(*FACT_FIELDS)
    problems = []
    for facts in rows:
        number = facts["entry_number"]
        path = str(classify_facts(facts, as_of=filed_on, registry=registry, explain=False).refund_path)
        reason = hold_back_reason(
            refund_path=path,
            drawback=facts["drawback"] or facts["marked_drawback"],
            protest=facts["protest"] or facts["marked_protest"] or facts["protest_filed"],
            as_of=filed_on,
        )
        if reason:
            problems.append(
                f"{number} ({HOLD_BACK_REASONS[reason]}; on {filed_on:%Y-%m-%d} its path is {path})"
            )
        elif cape.filer_code(number) not in codes:
            problems.append(f"{number} (filer code {cape.filer_code(number)} is not the brokerage's)")
    return sorted(problems)


def declaration_record_filing(
    *, actor: User, declaration: Declaration, claim_number: str, filed_on: date, override_reason: str = ""
) -> Declaration:
    """Record that the declaration was filed in the ACE Portal: the CAPE claim number, the day, who.

    The client must be ready to file (ACE account, ACH active, filing authorization covering its importer
    numbers). A staff manager may record it anyway with a written reason, which goes into the audit trail.
    """
    _require_builder(actor, declaration.client)
    claim_number = claim_number.strip().upper()
    override_reason = override_reason.strip()
    if not _CLAIM_NUMBER.fullmatch(claim_number):
        raise ValidationError(
            {
                "claim_number": "Enter the CAPE claim number ACE gave the declaration (letters, digits, dashes)."
            }
        )
    if filed_on > timezone.localdate():
        raise ValidationError({"filed_on": "The filing date cannot be in the future."})
    if filed_on < RULES_2026_1.phase1_opens:
        raise ValidationError(
            {"filed_on": f"CAPE opened on {RULES_2026_1.phase1_opens:%B %-d, %Y}; check the date."}
        )
    client = declaration.client
    with transaction.atomic():
        declaration = Declaration.objects.select_for_update().defer("content").get(pk=declaration.pk)
        if declaration.status != Declaration.Status.DRAFT:
            raise ValidationError(f"This declaration is already {declaration.get_status_display().lower()}.")
        if filed_on < timezone.localdate(declaration.created_at):
            raise ValidationError({"filed_on": "The filing date is before the declaration was built."})
        if Declaration.objects.filter(client=client, claim_number=claim_number).exists():
            raise ValidationError(
                {"claim_number": f"Claim number {claim_number} is already recorded for another declaration."}
            )
        guard = _guard_problems(declaration, filed_on)
        if guard:
            raise ValidationError(
                "Some entries can no longer be declared: "
                + "; ".join(guard[:20])
                + (f" and {len(guard) - 20} more" if len(guard) > 20 else "")
                + ". Discard this draft and build the declaration again."
            )
        problems = _filing_problems(declaration)
        if problems:
            if not override_reason:
                raise ValidationError(
                    "The client is not ready to file: "
                    + " ".join(problems)
                    + " A staff manager can record the "
                    "filing anyway with a written reason."
                )
            if not actor.is_staff_manager:
                raise ValidationError(
                    {
                        "override_reason": "Only a staff manager can record a filing for a client that is not ready to file."
                    }
                )
        declaration.status = Declaration.Status.FILED
        declaration.claim_number = claim_number
        declaration.filed_on = filed_on
        declaration.filed_by = actor
        declaration.filed_at = timezone.now()
        declaration.readiness_override = override_reason if problems else ""
        declaration.save(
            update_fields=["status", "claim_number", "filed_on", "filed_by", "filed_at", "readiness_override"]
        )
        figures_refresh(client_id=client.pk, entries=False)  # its entries now count as filed
        if problems:
            audit.record(
                client=client,
                actor=actor,
                action="refunds.filing_readiness_overridden",
                subject=declaration,
                data={"missing": problems, "reason": override_reason},
            )
        audit.record(
            client=client,
            actor=actor,
            action="refunds.declaration_filed",
            subject=declaration,
            data={
                "claim_number": claim_number,
                "filed_on": filed_on.isoformat(),
                "file": declaration.filename,
                "entries": declaration.entry_count,
                "sha256": declaration.sha256,
            },
        )
    return declaration


def _check_phase2_refile(row: DeclarationEntry) -> None:
    """A Phase 2 entry may be declared again only while it is still on Phase 2 today: within its 80 days
    after liquidation and with no Type 09 reconciliation entry marked as filed (spec §5 rule 10, §7)."""
    facts = Entry.objects.filter(client=row.client_id, pk=row.entry_id).values(*FACT_FIELDS).first()
    today = timezone.localdate()
    c = classify_facts(facts, as_of=today, registry=current_registry(), explain=False)
    if str(c.refund_path) == PHASE2:
        return
    if facts["marked_reconciliation_filed"]:
        why = "a Type 09 reconciliation entry is marked as filed (CBP takes these entries in a later phase)"
    else:
        why = f"it is no longer within its 80 days after liquidation (its path today is {c.refund_path})"
    raise ValidationError(f"{row.entry_number} cannot be declared again in Phase 2: {why}.")


def declaration_entry_allow_refile(
    *, actor: User, declaration: Declaration, entry_number: str, note: str
) -> DeclarationEntry:
    """Staff say a rejected entry's next action is done: it goes into the next declaration built."""
    access = client_access_for(actor, declaration.client)
    if access is None or not access.is_staff:
        raise ValidationError("Only broker staff allow a rejected entry to be filed again.")
    note = note.strip()
    if not note:
        raise ValidationError(
            {"note": "Say what was done about CBP's reason (it goes into the audit trail)."}
        )
    with transaction.atomic():
        row = (
            DeclarationEntry.objects.select_for_update()
            .filter(declaration=declaration, entry_number=entry_number)
            .first()
        )
        if row is None or row.status != DeclarationEntry.Status.REJECTED:
            raise ValidationError("Only an entry CBP rejected in this declaration can be allowed again.")
        if row.refile_allowed:
            return row
        if row.refund_path == PHASE2:
            _check_phase2_refile(row)
        row.refile_allowed = True
        row.save(update_fields=["refile_allowed"])
        audit.record(
            client=declaration.client,
            actor=actor,
            action="refunds.refile_allowed",
            subject=row,
            data={"entry_number": entry_number, "claim_number": declaration.claim_number, "note": note},
        )
    return row


# --- CBP reports -----------------------------------------------------------------------------------


def cbp_report_upload(
    *,
    actor: User | None,
    client: Client,
    kind: str,
    uploaded,
    declaration: Declaration | None = None,
    enqueue: bool = True,
) -> CbpReport:
    """Keep a CBP report and queue its reconciliation against the ledger (enqueue=False: the caller runs it)."""
    if actor is not None:
        access = client_access_for(actor, client)
        if access is None or access.role not in ADMIN_ROLES:
            raise ValidationError("Only broker staff and the client's admins upload CBP reports.")
    if kind not in CbpReport.Kind.values:
        raise ValidationError({"kind": "Choose which CBP report this is."})
    name = uploaded.name or "report"
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"{name} is {uploaded.size / 1_000_000:.0f} MB; the limit is {settings.UPLOAD_MAX_BYTES / 1_000_000:.0f} MB."
        )
    if uploaded.size == 0:
        raise ValidationError(f"{name} is empty.")
    if declaration is not None and declaration.status in (
        Declaration.Status.DRAFT,
        Declaration.Status.DISCARDED,
    ):
        raise ValidationError(
            {"declaration": "CBP's results belong to a filed declaration: record the filing first."}
        )
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    with transaction.atomic():
        report = CbpReport(
            client=client,
            created_by=actor,
            kind=kind,
            declaration=declaration if kind == CbpReport.Kind.RESULTS else None,
            original_name=name[:255],
            sha256=digest.hexdigest(),
            size_bytes=uploaded.size,
        )
        report.file.save(
            f"{report.sha256[:16]}-{timezone.now():%Y%m%d%H%M%S}.upload", File(uploaded), save=False
        )
        report.save()
        audit.record(
            client=client,
            actor=actor,
            action="refunds.cbp_report_uploaded",
            subject=report,
            data={"kind": kind, "file": name, "sha256": report.sha256, "bytes": uploaded.size},
        )
        if enqueue:
            enqueue_on_commit("refunds.tasks.reconcile_cbp_report", report.pk)
    return report


def cbp_report_process(*, report: CbpReport) -> CbpReport:
    """Reconcile an uploaded CBP report with the ledger, moving its job row to succeeded or failed."""
    from domain.cbp_reports import FileRejected

    from .reconciliation import reconcile

    job_start(report)
    try:
        outcome = reconcile(report=report)
    except FileRejected as rejected:
        job_fail(report, message=f"The whole file was rejected; nothing was recorded. {rejected}")
        _audit_result(report, "refunds.cbp_report_rejected", {"reason": str(rejected)})
        return report
    except Exception:
        logger.exception("Reconciling CBP report %s failed", report.pk)
        job_fail(
            report,
            message="The report could not be processed because of an internal error; nothing was recorded.",
        )
        raise
    job_succeed(report, message=outcome.message)
    _audit_result(report, "refunds.cbp_report_reconciled", outcome.audit_data)
    return report


def cbp_report_give_up(report: CbpReport) -> None:
    """Every run of the report died before finishing (clients.jobs.job_claim): stop handing it out."""
    job_fail(
        report,
        message=(
            "This report could not be processed: each time, the processing stopped before it finished (the "
            "worker running it died), so nothing was recorded. Upload it again; if that happens again, split "
            "the file."
        ),
    )
    _audit_result(
        report, "refunds.cbp_report_failed", {"reason": "attempts exhausted", "attempts": report.attempts}
    )


def _audit_result(report: CbpReport, action: str, data: dict) -> None:
    with transaction.atomic():
        audit.record(client=report.client, actor=None, action=action, subject=report, data=data)
