"""Writes on protest drafts: keyword-only; each owns its transaction and records an audit event.

Filing, decisions, withdrawal and the daily deemed denials are in protests.following.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from brokerage.bulk import write_rows
from clients import audit
from clients.models import Client, User
from clients.tenancy import client_access_for
from domain.entry_numbers import canonical
from domain.protests import drafting
from entries.models import Entry

from . import selectors
from .models import Category, Protest, ProtestEntry, ProtestTemplate

DRAWBACK_DECLARATION = (
    "None of the entries listed in this protest is the subject of a drawback claim (19 CFR 174.13(a)(9)). "
    "Entries with a drawback claim were left out of it."
)


def require_builder(actor: User, client: Client) -> None:
    access = client_access_for(actor, client)
    if access is None or not selectors.may_build(access):
        raise ValidationError("Only broker staff prepare and file protests for this client.")


def _objections(category: str, *, with_section_122: bool) -> list[dict]:
    templates = {t.category: t for t in ProtestTemplate.objects.all()}
    wanted = [category] + ([Category.SECTION_122] if with_section_122 and category == Category.IEEPA else [])
    objections = []
    for key in wanted:
        template = templates.get(key)
        if template is None:
            raise ValidationError(f"No protest template for {Category(key).label}: a manager adds one first.")
        objections.append(template.as_objection())
    return objections


def _contents(*, client: Client, importer_number: str) -> dict:
    """174.13(a)(1)–(2): the protestant and its agent, from the client's profile and the brokerage's settings."""
    return {
        "protestant_name": client.legal_name,
        "protestant_address": "\n".join(client.address_lines),
        "protestant_importer_number": importer_number,
        "agent_name": settings.BROKERAGE_NAME,
        "agent_address": settings.BROKERAGE_ADDRESS,
        "agent_importer_number": settings.BROKERAGE_IMPORTER_NUMBER,
        "drawback_declaration": DRAWBACK_DECLARATION,
    }


def protest_drafts_build(*, actor: User, client: Client, as_of: date) -> list[Protest]:
    """One draft per category, importer number and port of entry for the protestable entries not yet drafted.

    Builds of one client are serialised by locking the client's row, so a second build waits and then sees the
    first one's entries as drafted. Entries already in a draft stay there (staff may have edited it).
    """
    require_builder(actor, client)
    if as_of > timezone.localdate():
        raise ValidationError({"as_of": "Drafts are built as of today or an earlier day, not a future one."})
    with transaction.atomic():
        list(Client.objects.select_for_update().filter(pk=client.pk).values_list("pk", flat=True))
        plan, _in_drafts = selectors.protest_plan(client=client, as_of=as_of)
        if not plan.drafts:
            raise ValidationError(
                "No entry needs a new protest draft: none is on the protest path (or a liquidated Section 122 "
                "entry) inside its 180 days outside a draft or a filed protest."
            )
        protests = _create_drafts(actor=actor, client=client, as_of=as_of, plans=plan.drafts)
        audit.record(
            client=client,
            actor=actor,
            action="protests.drafts_built",
            data={
                "as_of": as_of.isoformat(),
                "drafts": [
                    {
                        "port": p.port,
                        "importer": p.importer_number,
                        "category": p.category,
                        "entries": p.entry_count,
                    }
                    for p in protests
                ],
                "excluded": dict(plan.excluded),
            },
        )
    return protests


class DraftLine(NamedTuple):
    """One entry of a draft as it is written (and as the PDF and CSV read it): ProtestEntry's columns."""

    entry_id: int
    position: int
    entry_number: str
    entry_date: date | None
    entry_summary_date: date | None
    liquidation_date: date
    protest_deadline: date
    duty: Decimal
    section_122_duty: Decimal
    interest_estimate: Decimal


_ZERO = Decimal("0")


def draft_objects(
    *, actor: User | None, client: Client, as_of: date, plans: list[drafting.DraftPlan]
) -> list[tuple[Protest, list[DraftLine]]]:
    """The drafts of a plan as unsaved rows, with their 174.13 contents and interest: the build saves them, the
    build_protests command prints them."""
    all_lines = [line for plan in plans for line in plan.lines]
    factors = selectors.interest_factors(
        {line.candidate.entry_summary_date for line in all_lines if line.candidate.entry_summary_date}, as_of
    )
    hts = selectors.commodity_hts(client=client, as_of=as_of)
    drafts = []
    for plan in plans:
        interest = [
            selectors.interest_of(line.duty, line.candidate.entry_summary_date, factors)
            for line in plan.lines
        ]
        ieepa = plan.category == Category.IEEPA
        s122 = plan.section_122_total if ieepa else Decimal("0")
        protest = Protest(
            client=client,
            category=plan.category,
            importer_number=plan.importer_number,
            port=plan.port,
            as_of=as_of,
            entry_count=len(plan.lines),
            duty_total=plan.duty_total,
            section_122_total=s122,
            interest_estimate=sum(interest, Decimal("0")),
            earliest_deadline=plan.earliest_deadline,
            merchandise_description=drafting.merchandise_description(
                h for line in plan.lines for h in hts.get(line.candidate.entry_id, ())
            ),
            objections=_objections(plan.category, with_section_122=s122 > 0),
            created_by=actor,
            **_contents(client=client, importer_number=plan.importer_number),
        )
        s122_of = (lambda line: line.candidate.section_122_duty) if ieepa else (lambda line: _ZERO)
        lines = [
            DraftLine(
                line.candidate.entry_id,
                position,
                line.candidate.entry_number,
                line.candidate.entry_date,
                line.candidate.entry_summary_date,
                line.candidate.liquidation_date,
                line.deadline,
                line.duty,
                s122_of(line),
                estimate,
            )
            for position, (line, estimate) in enumerate(zip(plan.lines, interest, strict=True))
        ]
        drafts.append((protest, lines))
    return drafts


_LINE_COLUMNS = (
    ("client_id", "int8"),
    ("protest_id", "int8"),
    ("entry_id", "int8"),
    ("position", "int4"),
    ("entry_number", "varchar"),
    ("entry_date", "date"),
    ("entry_summary_date", "date"),
    ("liquidation_date", "date"),
    ("protest_deadline", "date"),
    ("duty", "numeric"),
    ("section_122_duty", "numeric"),
    ("interest_estimate", "numeric"),
    ("status", "varchar"),
    ("decision_source", "varchar"),
)


def _create_drafts(
    *, actor: User | None, client: Client, as_of: date, plans: list[drafting.DraftPlan]
) -> list[Protest]:
    """The drafts in one bulk insert and their entries in one binary COPY (20,000 rows as model instances
    through bulk_create cost about 4 s of CPU; as tuples through COPY, a tenth of it)."""
    drafts = draft_objects(actor=actor, client=client, as_of=as_of, plans=plans)
    protests = Protest.objects.bulk_create([protest for protest, _ in drafts])
    rows = [
        (client.pk, protest.pk, *line, ProtestEntry.Status.DRAFT.value, "")
        for protest, lines in drafts
        for line in lines
    ]
    table = ProtestEntry._meta.db_table
    names = [name for name, _ in _LINE_COLUMNS]
    if connection.vendor != "postgresql":
        write_rows(table, names, rows)
        return protests
    connection.ensure_connection()
    with (
        connection.connection.cursor() as raw,
        raw.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([kind for _, kind in _LINE_COLUMNS])
        for row in rows:
            copy.write_row(row)
    return protests


def _refresh_totals(protest: Protest) -> None:
    lines = list(
        ProtestEntry.objects.filter(client=protest.client, protest=protest)
        .exclude(status=ProtestEntry.Status.RELEASED)
        .order_by("protest_deadline", "entry_number")
    )
    for position, line in enumerate(lines):
        line.position = position
    ProtestEntry.objects.bulk_update(lines, ["position"])
    protest.entry_count = len(lines)
    protest.duty_total = sum((line.duty for line in lines), Decimal("0"))
    protest.section_122_total = sum((line.section_122_duty for line in lines), Decimal("0"))
    protest.interest_estimate = sum((line.interest_estimate for line in lines), Decimal("0"))
    protest.earliest_deadline = lines[0].protest_deadline if lines else None
    protest.save(
        update_fields=[
            "entry_count",
            "duty_total",
            "section_122_total",
            "interest_estimate",
            "earliest_deadline",
        ]
    )


def _locked_draft(protest: Protest) -> Protest:
    protest = Protest.objects.select_for_update().get(client=protest.client, pk=protest.pk)
    if protest.status != Protest.Status.DRAFT:
        raise ValidationError(
            f"This protest is {protest.get_status_display().lower()}; only a draft can be changed."
        )
    return protest


def protest_entry_add(
    *, actor: User, protest: Protest, entry_number: str, as_of: date | None = None
) -> Protest:
    """Add one of the client's entries to a draft: same importer number and port, liquidated inside 180 days,
    no drawback claim, not in another draft or a filed protest."""
    require_builder(actor, protest.client)
    as_of = as_of or timezone.localdate()
    number = canonical(entry_number)
    with transaction.atomic():
        list(Client.objects.select_for_update().filter(pk=protest.client_id).values_list("pk", flat=True))
        protest = _locked_draft(protest)
        entry = Entry.objects.filter(client=protest.client, entry_number=number).first()
        if entry is None:
            raise ValidationError({"entry_number": "No entry of this client has that number."})
        if (entry.importer_number, entry.port) != (protest.importer_number, protest.port):
            raise ValidationError(
                {"entry_number": "A protest holds entries of one importer number and one port of entry."}
            )
        duty = entry.ieepa_duty if protest.category == Category.IEEPA else entry.section_122_duty
        if duty <= 0:
            raise ValidationError({"entry_number": f"The entry carries no {protest.get_category_display()}."})
        live, drafted = selectors.taken_entry_ids(client=protest.client)
        if entry.pk in drafted:
            raise ValidationError({"entry_number": "The entry is already in a draft protest."})
        values = (
            Entry.objects.filter(client=protest.client, pk=entry.pk)
            .values_list(*selectors.CANDIDATE_FIELDS)
            .get()
        )
        candidate = selectors._candidate(values, live)
        reason = drafting.exclusion(candidate, as_of=as_of)
        if reason:
            raise ValidationError({"entry_number": f"It cannot be protested: {drafting.EXCLUSIONS[reason]}."})
        factors = selectors.interest_factors(
            {entry.entry_summary_date} if entry.entry_summary_date else set(), as_of
        )
        deadline = drafting.protest_deadline(candidate)
        ProtestEntry.objects.create(
            client=protest.client,
            protest=protest,
            entry=entry,
            position=protest.entry_count,
            entry_number=entry.entry_number,
            entry_date=entry.entry_date,
            entry_summary_date=entry.entry_summary_date,
            liquidation_date=entry.liquidation_date,
            protest_deadline=deadline,
            duty=duty,
            section_122_duty=entry.section_122_duty if protest.category == Category.IEEPA else 0,
            interest_estimate=selectors.interest_of(duty, entry.entry_summary_date, factors),
        )
        _refresh_totals(protest)
        if (
            protest.category == Category.IEEPA
            and protest.section_122_total > 0
            and len(protest.objections) == 1
        ):
            protest.objections = _objections(Category.IEEPA, with_section_122=True)
            protest.save(update_fields=["objections"])
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.entry_added",
            subject=protest,
            data={"entry_number": entry.entry_number},
        )
    return protest


def protest_entry_remove(*, actor: User, protest: Protest, entry_number: str) -> Protest:
    require_builder(actor, protest.client)
    with transaction.atomic():
        protest = _locked_draft(protest)
        removed, _ = ProtestEntry.objects.filter(
            client=protest.client,
            protest=protest,
            entry_number=canonical(entry_number),
            status=ProtestEntry.Status.DRAFT,
        ).delete()
        if not removed:
            raise ValidationError({"entry_number": "That entry is not in this draft."})
        _refresh_totals(protest)
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.entry_removed",
            subject=protest,
            data={"entry_number": canonical(entry_number)},
        )
    return protest


def protest_update(*, actor: User, protest: Protest, merchandise_description: str) -> Protest:
    """Staff refine the description of the merchandise (174.13(a)(5)) of a draft."""
    require_builder(actor, protest.client)
    text = merchandise_description.strip()
    if not text:
        raise ValidationError(
            {"merchandise_description": "A protest needs a specific description of the merchandise."}
        )
    with transaction.atomic():
        protest = _locked_draft(protest)
        before = protest.merchandise_description
        protest.merchandise_description = text
        protest.save(update_fields=["merchandise_description"])
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.description_edited",
            subject=protest,
            data={"before": before[:500], "after": text[:500]},
        )
    return protest


def protest_discard(*, actor: User, protest: Protest) -> Protest:
    """Discard a draft: its entries go back to the pool for the next build."""
    require_builder(actor, protest.client)
    with transaction.atomic():
        protest = _locked_draft(protest)
        protest.status = Protest.Status.DISCARDED
        protest.discarded_at = timezone.now()
        protest.save(update_fields=["status", "discarded_at"])
        released = ProtestEntry.objects.filter(client=protest.client, protest=protest).update(
            status=ProtestEntry.Status.RELEASED
        )
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.draft_discarded",
            subject=protest,
            data={"entries_released": released},
        )
    return protest
