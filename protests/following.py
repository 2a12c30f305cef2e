"""Writes after a protest is drafted: the filing, accelerated disposition, CBP's decisions, deemed denials and
withdrawal. Keyword-only; each owns its transaction and records an audit event.

An entry under a filed protest counts as "protest on file" everywhere the report's flag does (CAPE guard,
classification, export, reminders) through Entry.protest_filed, set in the filing's transaction; a denial
writes the court deadline into Entry.court_deadline, which becomes the entry's next deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from clients import audit
from clients.models import Client, User
from clients.tenancy import client_access_for
from domain.protests import rules
from entries.models import Entry
from entries.reclassification import entries_reclassify
from refunds.ledgers import OtherRefunds

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


@dataclass(frozen=True)
class Decided:
    decision: str
    on: date
    allowed_amount: Decimal | None = None  # partially allowed: the part of the protested duty CBP allowed


def record_decisions(
    *, protest: Protest, decided: dict[str, Decided], source: str, actor: User | None
) -> tuple[int, list[tuple[str, str]]]:
    """Record CBP's decision on pending entries of a (locked) filed protest; the court deadline on denials.

    A partially allowed entry carries the amount allowed (checked against the duty protested); the amount can be
    given later by recording the same decision again with it.
    """
    lines = {
        line.entry_number: line
        for line in ProtestEntry.objects.filter(
            client=protest.client, protest=protest, status__in=ProtestEntry.LIVE
        )
    }
    problems, changed = [], []
    for number, decision in decided.items():
        line = lines.get(number)
        if line is None:
            problems.append((number, "not in this protest"))
            continue
        amount = decision.allowed_amount
        if decision.decision == "partially_allowed" and amount is not None:
            problem = rules.allowed_amount_problem(amount, line.claimed)
            if problem:
                problems.append((number, problem))
                continue
        elif amount is not None:
            problems.append((number, "an amount allowed goes with a partial allowance only"))
            continue
        if line.status != ProtestEntry.Status.PENDING:
            if line.status != decision.decision:
                problems.append((number, f"already {line.get_status_display().lower()}"))
            elif amount is not None and amount != line.allowed_amount:
                line.allowed_amount = amount
                changed.append(line)
            continue
        if decision.on < protest.filed_on:
            problems.append((number, "decided before the filing"))
            continue
        line.status = decision.decision
        line.decided_on = decision.on
        line.decision_source = source
        line.allowed_amount = amount
        line.court_deadline = rules.court_deadline(decision.on) if decision.decision != "allowed" else None
        changed.append(line)
    ProtestEntry.objects.bulk_update(
        changed, ["status", "decided_on", "decision_source", "court_deadline", "allowed_amount"]
    )
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
        protest.expected_refund = rules.expected_refund(
            (line.status, line.claimed, line.allowed_amount) for line in lines.values()
        )
        protest.save(update_fields=["status", "decided_on", "expected_refund"])
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
                "allowed_amounts": {
                    line.entry_number: str(line.allowed_amount)
                    for line in changed[:200]
                    if line.allowed_amount is not None
                },
                "entries": len(changed),
                "status": protest.status,
            },
        )
    return len(changed), problems


def lock_filed(protest: Protest) -> Protest:
    protest = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
    if protest.status in (Protest.Status.DRAFT, Protest.Status.DISCARDED, Protest.Status.WITHDRAWN):
        raise ValidationError(
            f"This protest is {protest.get_status_display().lower()}; it has no decision to record."
        )
    return protest


def protest_decide(
    *,
    actor: User,
    protest: Protest,
    decision: str,
    decided_on: date,
    entry_numbers: list[str] | None = None,
    allowed_amounts: dict[str, Decimal] | None = None,
) -> Protest:
    """Staff record CBP's decision: for the listed entries, or every entry still pending.

    A partial allowance names its entries, each with the amount CBP allowed (allowed_amounts, by entry number).
    """
    access = client_access_for(actor, protest.client)
    if access is None or not access.is_staff:
        raise ValidationError("Only broker staff record CBP's decision.")
    if decision not in ProtestEntry.DECIDED:
        raise ValidationError({"decision": "Allowed, partially allowed or denied."})
    if decided_on > timezone.localdate():
        raise ValidationError({"decided_on": "The decision date cannot be in the future."})
    from domain.entry_numbers import canonical

    amounts = {canonical(n): amount for n, amount in (allowed_amounts or {}).items()}
    if decision == "partially_allowed":
        listed = {canonical(n) for n in entry_numbers or ()}
        if not listed or listed - set(amounts):
            raise ValidationError(
                {
                    "entry_numbers": "A partial allowance lists its entries, each with the amount CBP allowed "
                    "(one line per entry: the entry number, then the amount)."
                }
            )
    elif amounts:
        raise ValidationError({"entry_numbers": "Amounts allowed go with a partial allowance only."})
    with transaction.atomic():
        protest = lock_filed(protest)
        if entry_numbers is None:
            entry_numbers = list(
                ProtestEntry.objects.filter(
                    client=protest.client, protest=protest, status="pending"
                ).values_list("entry_number", flat=True)
            )
        decided = {
            canonical(n): Decided(decision, decided_on, amounts.get(canonical(n))) for n in entry_numbers
        }
        applied, problems = record_decisions(protest=protest, decided=decided, source="staff", actor=actor)
        if problems and (not applied or decision == "partially_allowed"):
            raise ValidationError({"entry_numbers": "; ".join(f"{n}: {why}" for n, why in problems[:10])})
    return protest


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
            decided = {
                n: Decided("denied", deemed_on) for n in pending.values_list("entry_number", flat=True)
            }
            applied, _ = record_decisions(protest=locked, decided=decided, source="deemed", actor=None)
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


def refunds_outside_cape() -> tuple[OtherRefunds, ...]:
    """The protest entries CBP refunds beside CAPE refunds, as refunds' reconciliation and totals read them
    (refunds.hooks.refunds_outside_cape): allowed and partially allowed entries, matched by entry number or by
    the protest number in a report's claim column."""
    return (
        OtherRefunds(
            model=ProtestEntry,
            refundable=Q(status__in=ProtestEntry.REFUNDABLE),
            reference="protest__protest_number",
        ),
    )
