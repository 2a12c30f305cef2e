"""Writes after a protest is drafted: the filing, accelerated disposition, CBP's decisions, deemed denials and
withdrawal. Keyword-only; each owns its transaction and records an audit event.

An entry under a filed protest counts as "protest on file" everywhere the report's flag does (CAPE guard,
classification, export, reminders) through Entry.protest_filed, set in the filing's transaction; a denial
writes the court deadline into Entry.court_deadline, which becomes the entry's next deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from clients import audit
from clients.models import Client, User
from clients.tenancy import client_access_for
from domain.cbp_reports import BadRow, FileRejected, open_cbp_report
from domain.protests import decisions, rules
from entries.models import Entry
from entries.reclassification import entries_reclassify

from .models import Protest, ProtestEntry
from .services import require_builder

_PROTEST_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")


def _reclassify(*, client: Client, entry_ids: list[int], actor: User | None, note: str) -> None:
    """The entries' path and next deadline follow the protest at once (history records the change)."""
    if entry_ids:
        entries_reclassify(
            client=client, as_of=timezone.localdate(), entry_ids=entry_ids, actor=actor, note=note
        )


def authorization_problem(*, client: Client, importer_number: str) -> str | None:
    """Why the brokerage may not file this protest for the client (no protest authorization covering it)."""
    from .selectors import protest_authorization_for

    authorization = protest_authorization_for(client=client)
    if authorization is None:
        return "The client's admin has not authorized the brokerage to file protests (onboarding checklist)."
    if importer_number not in authorization.importer_numbers:
        return f"The client's protest authorization does not cover importer number {importer_number}."
    return None


def protest_record_filing(
    *,
    actor: User,
    protest: Protest,
    protest_number: str,
    filed_on: date,
    filed_by_party: str = Protest.Filer.BROKER,
    override_reason: str = "",
) -> Protest:
    """Record that the protest was filed (ACE Protest module or at the port): its number, the day, who filed.

    Its entries are under protest from this transaction on; the database refuses an entry already in another
    live protest. The brokerage files only with the client admin's protest authorization, unless a staff manager
    records it with a written reason.
    """
    require_builder(actor, protest.client)
    number = protest_number.strip().upper()
    override_reason = override_reason.strip()
    if not _PROTEST_NUMBER.fullmatch(number):
        raise ValidationError({"protest_number": "A protest number is letters, digits and dashes."})
    if filed_on > timezone.localdate():
        raise ValidationError({"filed_on": "The filing date cannot be in the future."})
    if filed_by_party not in Protest.Filer.values:
        raise ValidationError({"filed_by_party": "Say who filed the protest."})
    override = False
    if filed_by_party == Protest.Filer.BROKER:
        problem = authorization_problem(client=protest.client, importer_number=protest.importer_number)
        if problem:
            access = client_access_for(actor, protest.client)
            if not (access and access.role == "staff_manager" and override_reason):
                raise ValidationError(
                    problem + " A staff manager may record the filing anyway with a written reason."
                )
            override = True
    with transaction.atomic():
        protest = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
        if protest.status != Protest.Status.DRAFT:
            raise ValidationError(
                f"This protest is {protest.get_status_display().lower()}; it was filed already."
            )
        if Protest.objects.filter(client=protest.client, protest_number=number).exists():
            raise ValidationError(
                {"protest_number": f"Protest {number} is already recorded for this client."}
            )
        lines = list(ProtestEntry.objects.filter(client=protest.client, protest=protest, status="draft"))
        if not lines:
            raise ValidationError("The draft has no entries.")
        late = [line.entry_number for line in lines if line.protest_deadline < filed_on]
        if late:
            raise ValidationError(
                f"Past the 180-day deadline on {filed_on:%Y-%m-%d}: {', '.join(late[:10])}. Remove them from the "
                "draft (CBP would deny them as untimely)."
            )
        entry_ids = [line.entry_id for line in lines]
        flagged = list(
            Entry.objects.filter(client=protest.client, pk__in=entry_ids)
            .filter(Q(drawback=True) | Q(marked_drawback=True))
            .values_list("entry_number", flat=True)
        )
        if flagged:
            raise ValidationError(
                f"Entries with a drawback claim since the draft was built: {', '.join(flagged[:10])}."
            )
        try:
            with transaction.atomic():
                ProtestEntry.objects.filter(client=protest.client, protest=protest, status="draft").update(
                    status=ProtestEntry.Status.PENDING
                )
        except IntegrityError as error:
            taken = list(
                ProtestEntry.objects.filter(
                    client=protest.client, entry_id__in=entry_ids, status__in=ProtestEntry.LIVE
                )
                .exclude(protest=protest)
                .values_list("entry_number", flat=True)[:10]
            )
            raise ValidationError(
                "An entry of this draft is already under another filed protest"
                + (f": {', '.join(taken)}" if taken else "")
                + " (19 U.S.C. 1514(c)(1) allows one protest per entry)."
            ) from error
        Entry.objects.filter(client=protest.client, pk__in=entry_ids).update(protest_filed=True)
        protest.status = Protest.Status.FILED
        protest.protest_number = number
        protest.filed_on = filed_on
        protest.filed_by_party = filed_by_party
        protest.filed_by = actor
        protest.filed_at = timezone.now()
        protest.save(
            update_fields=["status", "protest_number", "filed_on", "filed_by_party", "filed_by", "filed_at"]
        )
        _reclassify(client=protest.client, entry_ids=entry_ids, actor=actor, note=f"Protest {number} filed")
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.filed",
            subject=protest,
            data={
                "protest_number": number,
                "filed_on": filed_on.isoformat(),
                "filed_by": filed_by_party,
                "entries": len(entry_ids),
                **({"authorization_override": override_reason} if override else {}),
            },
        )
    return protest


def protest_request_accelerated(*, actor: User, protest: Protest, requested_on: date) -> Protest:
    """Accelerated disposition was requested (19 U.S.C. 1515(b)): no decision within 30 days is a denial."""
    require_builder(actor, protest.client)
    if requested_on > timezone.localdate():
        raise ValidationError({"requested_on": "The request date cannot be in the future."})
    with transaction.atomic():
        protest = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
        if protest.status != Protest.Status.FILED:
            raise ValidationError(
                "Accelerated disposition is requested for a filed protest awaiting CBP's decision."
            )
        if requested_on < protest.filed_on:
            raise ValidationError({"requested_on": "The request cannot come before the filing."})
        protest.accelerated_requested_on = requested_on
        protest.save(update_fields=["accelerated_requested_on"])
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.accelerated_requested",
            subject=protest,
            data={
                "requested_on": requested_on.isoformat(),
                "deemed_denied_on": protest.deemed_denied_on.isoformat(),
            },
        )
    return protest


def _apply_decisions(
    *, protest: Protest, decided: dict[str, tuple[str, date]], source: str, actor: User | None
) -> tuple[int, list[str]]:
    """Record CBP's decision on pending entries of a (locked) filed protest; the court deadline on denials."""
    lines = {
        line.entry_number: line
        for line in ProtestEntry.objects.filter(
            client=protest.client, protest=protest, status__in=ProtestEntry.LIVE
        )
    }
    problems, changed = [], []
    for number, (decision, decided_on) in decided.items():
        line = lines.get(number)
        if line is None:
            problems.append(f"{number}: not in this protest")
            continue
        if line.status != ProtestEntry.Status.PENDING:
            if line.status != decision:
                problems.append(f"{number}: already {line.get_status_display().lower()}")
            continue
        if decided_on < protest.filed_on:
            problems.append(f"{number}: decided before the filing")
            continue
        line.status = decision
        line.decided_on = decided_on
        line.decision_source = source
        line.court_deadline = rules.court_deadline(decided_on) if decision != "allowed" else None
        changed.append(line)
    ProtestEntry.objects.bulk_update(changed, ["status", "decided_on", "decision_source", "court_deadline"])
    for line in changed:
        if line.court_deadline:
            Entry.objects.filter(client=protest.client, pk=line.entry_id).update(
                court_deadline=line.court_deadline
            )
    statuses = ProtestEntry.objects.filter(
        client=protest.client, protest=protest, status__in=ProtestEntry.LIVE
    )
    result = rules.outcome(statuses.values_list("status", flat=True))
    if result:
        protest.status = result
        protest.decided_on = max(line.decided_on for line in lines.values() if line.decided_on)
        protest.save(update_fields=["status", "decided_on"])
    if changed:
        _reclassify(
            client=protest.client,
            entry_ids=[line.entry_id for line in changed],
            actor=actor,
            note=f"Protest {protest.protest_number}: CBP's decision",
        )
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.decided",
            subject=protest,
            data={
                "source": source,
                "decisions": {line.entry_number: line.status for line in changed[:200]},
                "entries": len(changed),
                "status": protest.status,
            },
        )
    return len(changed), problems


def _locked_filed(protest: Protest) -> Protest:
    protest = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
    if protest.status in (Protest.Status.DRAFT, Protest.Status.DISCARDED, Protest.Status.WITHDRAWN):
        raise ValidationError(
            f"This protest is {protest.get_status_display().lower()}; it has no decision to record."
        )
    return protest


def protest_decide(
    *, actor: User, protest: Protest, decision: str, decided_on: date, entry_numbers: list[str] | None = None
) -> Protest:
    """Staff record CBP's decision: for the listed entries, or every entry still pending."""
    access = client_access_for(actor, protest.client)
    if access is None or not access.is_staff:
        raise ValidationError("Only broker staff record CBP's decision.")
    if decision not in ProtestEntry.DECIDED:
        raise ValidationError({"decision": "Allowed, partially allowed or denied."})
    if decided_on > timezone.localdate():
        raise ValidationError({"decided_on": "The decision date cannot be in the future."})
    with transaction.atomic():
        protest = _locked_filed(protest)
        if entry_numbers is None:
            entry_numbers = list(
                ProtestEntry.objects.filter(
                    client=protest.client, protest=protest, status="pending"
                ).values_list("entry_number", flat=True)
            )
        from domain.entry_numbers import canonical

        decided = {canonical(n): (decision, decided_on) for n in entry_numbers}
        applied, problems = _apply_decisions(protest=protest, decided=decided, source="staff", actor=actor)
        if problems and not applied:
            raise ValidationError({"entry_numbers": "; ".join(problems[:10])})
    return protest


@dataclass
class UploadResult:
    applied: int = 0
    problems: list[str] = field(default_factory=list)


def protest_decisions_upload(*, actor: User, protest: Protest, uploaded) -> UploadResult:
    """CBP's decision list (CSV or XLSX, header-tolerant like the other CBP reports) applied to the protest."""
    access = client_access_for(actor, protest.client)
    if access is None or not access.is_staff:
        raise ValidationError("Only broker staff upload CBP's decisions.")
    result = UploadResult()
    decided: dict[str, tuple[str, date]] = {}
    today = timezone.localdate()
    try:
        with open_cbp_report(uploaded, kind="protest_decisions") as reader:
            for row in reader.rows():
                if isinstance(row, BadRow):
                    result.problems.append(f"row {row.row_number}: {row.reason}")
                    continue
                if row.claim_number and protest.protest_number and row.claim_number != protest.protest_number:
                    result.problems.append(
                        f"row {row.row_number}: protest {row.claim_number} is another protest"
                    )
                    continue
                decision = decisions.decision_of(row.reason)
                if decision is None:
                    result.problems.append(
                        f"row {row.row_number}: decision {row.reason!r} is not one we know"
                    )
                    continue
                if decision == "pending":
                    continue
                decided[row.entry_number] = (decision, row.on_date or today)
    except FileRejected as error:
        raise ValidationError({"file": str(error)}) from error
    with transaction.atomic():
        protest = _locked_filed(protest)
        applied, problems = _apply_decisions(protest=protest, decided=decided, source="report", actor=actor)
    result.applied = applied
    result.problems += problems
    return result


def protests_deem_denied(*, today: date) -> int:
    """The daily job: filed protests whose accelerated disposition went unanswered 30 days are denied."""
    with (
        scopes_disabled()
    ):  # the job spans every client; each protest is then decided in its own client's scope
        due = list(
            Protest.objects.filter(
                status=Protest.Status.FILED, accelerated_requested_on__isnull=False
            ).select_related("client")
        )
    count = 0
    for protest in due:
        deemed_on = rules.deemed_denial_date(protest.accelerated_requested_on)
        if deemed_on > today:
            continue
        with scope(client=protest.client), transaction.atomic():
            locked = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
            if locked.status != Protest.Status.FILED:
                continue
            pending = ProtestEntry.objects.filter(client=locked.client, protest=locked, status="pending")
            decided = {n: ("denied", deemed_on) for n in pending.values_list("entry_number", flat=True)}
            applied, _ = _apply_decisions(protest=locked, decided=decided, source="deemed", actor=None)
            count += applied > 0
    return count


def withdrawal_problem(*, protest: Protest, today: date) -> str | None:
    lines = ProtestEntry.objects.filter(client=protest.client, protest=protest, status="pending")
    return rules.withdrawal_problem(
        category=protest.category,
        section_122_duty_total=protest.section_122_total,
        liquidation_dates=lines.values_list("liquidation_date", flat=True),
        today=today,
    )


def protest_withdraw(*, actor: User, protest: Protest) -> Protest:
    """Withdraw an IEEPA-only protest whose entries are inside their 80 days: they go back to their CAPE path."""
    require_builder(actor, protest.client)
    today = timezone.localdate()
    with transaction.atomic():
        protest = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
        if protest.status != Protest.Status.FILED:
            raise ValidationError("Only a filed protest awaiting CBP's decision can be withdrawn.")
        problem = withdrawal_problem(protest=protest, today=today)
        if problem:
            raise ValidationError(problem)
        lines = ProtestEntry.objects.filter(client=protest.client, protest=protest, status="pending")
        entry_ids = list(lines.values_list("entry_id", flat=True))
        lines.update(status=ProtestEntry.Status.WITHDRAWN)
        Entry.objects.filter(client=protest.client, pk__in=entry_ids).update(protest_filed=False)
        protest.status = Protest.Status.WITHDRAWN
        protest.withdrawn_at = timezone.now()
        protest.save(update_fields=["status", "withdrawn_at"])
        _reclassify(
            client=protest.client,
            entry_ids=entry_ids,
            actor=actor,
            note=f"Protest {protest.protest_number} withdrawn to file through CAPE",
        )
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.withdrawn",
            subject=protest,
            data={"protest_number": protest.protest_number, "entries": len(entry_ids)},
        )
    return protest


def allowed_protest_entries(*, client: Client) -> dict[str, int]:
    """{entry number: ProtestEntry pk} of the client's allowed and partially allowed protest entries: CBP's
    refund report (ES-022) pays them beside CAPE refunds (refunds.reconciliation, through refunds.hooks)."""
    return dict(
        ProtestEntry.objects.filter(client=client, status__in=["allowed", "partially_allowed"]).values_list(
            "entry_number", "pk"
        )
    )


def protest_refunds_record(*, client_id: int, paid: dict[int, tuple]) -> None:
    """Write the refunds CBP reported for protest entries, {pk: (principal, interest, refunded_on)}, set-based
    (inside the reconciliation's transaction)."""
    from brokerage.bulk import update_from_rows

    table = ProtestEntry._meta.db_table
    update_from_rows(
        table,
        key="id",
        columns=("principal_refunded", "interest_refunded", "refunded_on"),
        rows=[(pk, principal, interest, on_date) for pk, (principal, interest, on_date) in paid.items()],
        where=f"{table}.client_id = %s",
        params=[client_id],
    )
