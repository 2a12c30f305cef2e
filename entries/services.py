"""Writes on entries: marks and flags, re-deriving programs; keyword-only, each owns its transaction and audits.

Reports (upload, import, its lease, the sweeper) are written by entries.ingestion.services.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients import audit
from clients.models import Client, User

from .figures import figures_refresh

FLAG_LABELS = {
    "drawback": "drawback claimed",
    "protest": "under an active protest",
    "reconciliation": "flagged for reconciliation",
    "surety_paid": "surety paid the IEEPA duty",
    "reconciliation_filed": "Type 09 reconciliation entry filed",
}


def entry_set_flags(
    *,
    actor: User,
    entry,
    drawback: bool,
    protest: bool,
    reconciliation: bool,
    note: str,
    surety_paid: bool | None = None,
    reconciliation_filed: bool | None = None,
    as_of: date | None = None,
):
    """Staff mark (or clear) an entry's flags; re-classify at once.

    surety_paid and reconciliation_filed (rule set 2026.2's staff-only marks) stay as they are when None.
    """
    from .models import EntryHistory
    from .reclassification import entries_reclassify

    if not actor.is_broker_staff:
        raise ValidationError("Only broker staff can change an entry's flags.")
    wanted = {"drawback": drawback, "protest": protest, "reconciliation": reconciliation}
    if surety_paid is not None:
        wanted["surety_paid"] = surety_paid
    if reconciliation_filed is not None:
        wanted["reconciliation_filed"] = reconciliation_filed
    changes = {k: v for k, v in wanted.items() if getattr(entry, f"marked_{k}") != v}
    if not changes:
        return entry
    if not note.strip():
        raise ValidationError({"note": "Say why (e.g. the protest number or the drawback claim)."})
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        for key, value in changes.items():
            setattr(entry, f"marked_{key}", value)
        entry.flag_note = note.strip()
        entry.save(update_fields=[*(f"marked_{k}" for k in changes), "flag_note", "updated_at"])
        for key, value in changes.items():
            EntryHistory.objects.create(
                client=entry.client,
                entry=entry,
                field=EntryHistory.Field.FLAG,
                from_value=f"{key}: {'yes' if not value else 'no'}",
                to_value=f"{key}: {'yes' if value else 'no'}",
                effective_on=as_of,
                actor=actor,
                note=note.strip(),
            )
        audit.record(
            client=entry.client,
            actor=actor,
            action="entries.flags_changed",
            subject=entry,
            data={"changes": {k: v for k, v in changes.items()}, "note": note.strip()},
        )
        entries_reclassify(
            client=entry.client, as_of=as_of, entry_ids=[entry.pk], actor=actor, note=note.strip()
        )
    entry.refresh_from_db()
    return entry


def entry_marks() -> dict[str, str]:
    """The flags staff can mark on entries, {key: label}: every Entry.marked_<key> field, as the model has them."""
    from .models import Entry

    marks = {}
    for field in Entry._meta.get_fields():
        if field.name.startswith("marked_") and field.get_internal_type() == "BooleanField":
            key = field.name.removeprefix("marked_")
            marks[key] = FLAG_LABELS.get(key) or str(field.verbose_name).removeprefix("marked ")
    return marks


def entries_bulk_mark(
    *,
    actor: User,
    client: Client,
    entry_numbers: list[str],
    mark: str,
    value: bool,
    note: str,
    as_of: date | None = None,
) -> int:
    """Staff mark (or clear) one flag on several of the client's entries at once; re-classify them.

    Every entry number must be one of the client's (otherwise Http404: the page never offers another
    client's entries, so one is a forged request). Each changed entry gets a history line; one audit
    event lists them. Returns how many entries changed.
    """
    from django.http import Http404

    from domain.entry_numbers import canonical

    from .models import Entry, EntryHistory
    from .reclassification import entries_reclassify

    if not actor.is_broker_staff:
        raise ValidationError("Only broker staff can change an entry's flags.")
    if mark not in entry_marks():
        raise ValidationError({"action": "Choose a flag to mark or clear."})
    numbers = sorted({canonical(n) for n in entry_numbers if n.strip()})
    if not numbers:
        raise ValidationError({"entries": "Select at least one entry."})
    if not note.strip():
        raise ValidationError({"note": "Say why (e.g. the protest number or the drawback claim)."})
    as_of = as_of or timezone.localdate()
    field = f"marked_{mark}"
    with transaction.atomic():
        entries = list(
            Entry.objects.select_for_update()
            .filter(client=client, entry_number__in=numbers)
            .only("id", "client_id", "entry_number", field)
        )
        if len(entries) != len(numbers):
            raise Http404("No such entry.")
        changed = [e for e in entries if getattr(e, field) != value]
        if not changed:
            return 0
        ids = [e.pk for e in changed]
        Entry.objects.filter(client=client, pk__in=ids).update(
            **{field: value}, flag_note=note.strip(), updated_at=timezone.now()
        )
        EntryHistory.objects.bulk_create(
            EntryHistory(
                client=client,
                entry_id=entry_id,
                field=EntryHistory.Field.FLAG,
                from_value=f"{mark}: {'no' if value else 'yes'}",
                to_value=f"{mark}: {'yes' if value else 'no'}",
                effective_on=as_of,
                actor=actor,
                note=note.strip(),
            )
            for entry_id in ids
        )
        audit.record(
            client=client,
            actor=actor,
            action="entries.flags_changed",
            subject=None,
            data={
                "changes": {mark: value},
                "entries": [e.entry_number for e in changed],
                "note": note.strip(),
            },
        )
        # Re-classifies with the new flag and refreshes the client's figures when a path moves.
        entries_reclassify(client=client, as_of=as_of, entry_ids=ids, actor=actor, note=note.strip())
    return len(changed)


def entries_recompute_programs(*, client: Client, registry) -> int:
    """After a registry change: each line's program, and the IEEPA / Section 122 totals of the entries it moves."""
    from django.db.models import Case, DecimalField, Sum, Value, When

    from brokerage.bulk import update_from_rows

    from .models import Entry, EntryLine

    changes, affected = [], set()
    lines = (
        # Through the client's entries: lines are indexed by (entry, client), not by client alone.
        EntryLine.objects.filter(client=client, entry__client=client)
        .values_list("id", "hts", "program", "entry_id", "entry__entry_date", "entry__entry_summary_date")
        .iterator(chunk_size=10_000)
    )
    for line_id, hts, program, entry_id, entry_date, summary_date in lines:
        rule = registry.rule_of(hts or None, entry_date or summary_date)
        new = rule.program if rule is not None and rule.carries_duty else ""
        if new != program:
            changes.append((line_id, new))
            affected.add(entry_id)
    if not changes:
        return 0
    zero = Value(0, output_field=DecimalField(max_digits=18, decimal_places=2))
    with transaction.atomic():
        where = f"{EntryLine._meta.db_table}.client_id = %s"
        update_from_rows(
            EntryLine._meta.db_table,
            key="id",
            columns=("program",),
            rows=changes,
            where=where,
            params=[client.pk],
        )
        ids = sorted(affected)
        totals = []
        for start in range(0, len(ids), 5000):
            totals += list(
                EntryLine.objects.filter(client=client, entry_id__in=ids[start : start + 5000])
                .values("entry_id")
                .annotate(
                    ieepa=Sum(Case(When(program="ieepa", then="duty"), default=zero)),
                    s122=Sum(Case(When(program="section_122", then="duty"), default=zero)),
                )
                .values_list("entry_id", "ieepa", "s122")
            )
        update_from_rows(
            Entry._meta.db_table,
            key="id",
            columns=("ieepa_duty", "section_122_duty"),
            rows=totals,
            where=f"{Entry._meta.db_table}.client_id = %s",
            params=[client.pk],
        )
        figures_refresh(client_id=client.pk, ledger=False)  # the IEEPA totals moved
    return len(affected)
