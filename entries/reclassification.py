"""Re-classifying stored entries as of a date: the daily job, staff flags and registry changes use it.

Only entries whose classification actually changes are written, and each change of path or next
deadline is recorded as entry history (from, to, date): reminders and notices are built on it.
Every stored entry records the rule-set version it was classified under, so a run after a new rule set
became current finds every entry it has not yet re-classified (the comparison includes the version);
their history names both versions, and a whole-client run tells the client which paths changed
(entries.rule_changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from brokerage.bulk import update_from_rows
from clients.models import Client, User
from domain.chapter99 import Registry
from domain.classification import Classification, classify_totals, with_court_deadline
from domain.deadlines import CURRENT_RULES, RuleSet

from .figures import figures_refresh
from .models import Entry, EntryHistory
from .registry import current_registry

FACT_FIELDS = (
    "id",
    "entry_number",
    "entry_type",
    "entry_date",
    "entry_summary_date",
    "liquidation_status",
    "liquidation_date",
    "drawback",
    "marked_drawback",
    "protest",
    "marked_protest",
    "reconciliation",
    "marked_reconciliation",
    "marked_surety_paid",
    "marked_reconciliation_filed",
    "protest_filed",
    "court_deadline",
    "ieepa_duty",
    "section_122_duty",
)
STORED_FIELDS = (
    "refund_path",
    "exclusion_reason",
    "projected_liquidation",
    "cape_window_closes",
    "protest_deadline",
    "next_deadline",
    "next_deadline_kind",
    "rule_set_version",
    "registry_version",
)
WRITTEN_FIELDS = (*STORED_FIELDS, "explanation", "classified_as_of")


@dataclass
class ReclassifyResult:
    checked: int = 0
    changed: int = 0
    path_changes: int = 0
    rule_set_changes: int = 0  # entries moved from an older rule set (whatever changed)
    rule_set_path_changes: list = field(default_factory=list)  # items of the client's notice


def classify_facts(
    facts: dict, *, as_of: date, registry: Registry, explain: bool = True, rules: RuleSet = CURRENT_RULES
) -> Classification:
    """The classification of an entry from its stored facts (report flags OR staff marks)."""
    c = classify_totals(
        entry_number=facts["entry_number"],
        entry_type=facts["entry_type"] or None,
        entry_date=facts["entry_date"],
        entry_summary_date=facts["entry_summary_date"],
        liquidation_status=facts["liquidation_status"],
        liquidation_date=facts["liquidation_date"],
        drawback=facts["drawback"] or facts["marked_drawback"],
        protest=facts["protest"] or facts["marked_protest"] or facts["protest_filed"],
        reconciliation=facts["reconciliation"] or facts["marked_reconciliation"],
        surety_paid=facts["marked_surety_paid"],
        reconciliation_filed=facts["marked_reconciliation_filed"],
        ieepa_duty=facts["ieepa_duty"],
        section_122_duty=facts["section_122_duty"],
        as_of=as_of,
        registry=registry,
        explain=explain,
        rules=rules,
    )
    return with_court_deadline(c, facts["court_deadline"])


def stored_values(c: Classification) -> tuple:
    return (
        str(c.refund_path),
        str(c.exclusion_reason or c.reason or ""),
        c.projected_liquidation,
        c.cape_window_closes,
        c.protest_deadline,
        c.next_deadline,
        str(c.next_deadline_kind or ""),
        c.rule_set_version,
        c.registry_version,
    )


def entries_reclassify(
    *,
    client: Client,
    as_of: date,
    entry_ids: list[int] | None = None,
    registry: Registry | None = None,
    actor: User | None = None,
    note: str = "",
) -> ReclassifyResult:
    """Classify the client's entries (or some of them) as of a date; store and record what changed."""
    registry = registry or current_registry()
    result = ReclassifyResult()
    entries = Entry.objects.filter(client=client)
    if entry_ids is not None:
        entries = entries.filter(pk__in=entry_ids)
    updates: list[tuple] = []
    history: list[EntryHistory] = []
    older_versions: set[str] = set()
    # One transaction per client, written in batches so memory stays flat however many entries change.
    with transaction.atomic():
        names = (*FACT_FIELDS, *STORED_FIELDS)
        stored = slice(len(FACT_FIELDS), len(names))
        for values in entries.values_list(*names).iterator(chunk_size=5000):
            result.checked += 1
            row = dict(zip(FACT_FIELDS, values, strict=False))
            c = classify_facts(row, as_of=as_of, registry=registry, explain=False)
            new = stored_values(c)
            old = values[stored]
            if new == old:
                continue
            result.changed += 1
            explanation = classify_facts(row, as_of=as_of, registry=registry).explanation
            updates.append((row["id"], *new, explanation, as_of))
            why = note
            by_rule_set = bool(old[7]) and old[7] != new[7]
            if by_rule_set:
                # A new rule set (not the passing of time) made this change: the history says which.
                result.rule_set_changes += 1
                older_versions.add(old[7])
                why = f"{RULE_SET_NOTE_PREFIX}{old[7]} → {new[7]}" + (f"; {note}" if note else "")
            if new[0] != old[0]:
                result.path_changes += 1
                history.append(
                    _history(client, row["id"], EntryHistory.Field.PATH, old[0], new[0], as_of, actor, why)
                )
                if by_rule_set:
                    result.rule_set_path_changes.append(
                        {
                            "entry_number": row["entry_number"],
                            "from_path": old[0],
                            "to_path": new[0],
                            "reason": new[1],
                            "next_deadline": _iso(new[5]),
                            "next_deadline_kind": new[6],
                        }
                    )
            if new[5] != old[5]:
                history.append(
                    _history(
                        client,
                        row["id"],
                        EntryHistory.Field.DEADLINE,
                        _iso(old[5]),
                        _iso(new[5]),
                        as_of,
                        actor,
                        why,
                    )
                )
            if len(updates) >= FLUSH_EVERY:
                _flush(client, updates, history)
                updates, history = [], []
        _flush(client, updates, history)
        if result.changed:
            figures_refresh(client_id=client.pk, ledger=False)  # the dashboard's sums of this client
        # Only a run over all the client's entries tells the client: a flag on one entry re-classifies
        # just that one (its history names both versions), and the daily job tells the rest together.
        if entry_ids is None and result.rule_set_path_changes:
            from .rule_changes import rule_change_notice_record

            rule_change_notice_record(
                client=client,
                rule_set_version=CURRENT_RULES.version,
                previous_versions=sorted(older_versions),
                as_of=as_of,
                changes=result.rule_set_path_changes,
            )
    return result


FLUSH_EVERY = 10_000
# The history note of a change a new rule set made; the reminder digest leaves these to the rule notice.
RULE_SET_NOTE_PREFIX = "Rule set "


def _flush(client: Client, updates: list[tuple], history: list[EntryHistory]) -> None:
    table = Entry._meta.db_table
    update_from_rows(
        table,
        key="id",
        columns=WRITTEN_FIELDS,
        rows=updates,
        where=f"{table}.client_id = %s",
        params=[client.pk],
    )
    EntryHistory.objects.bulk_create(history, batch_size=5000)


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _history(client, entry_id, field, old, new, as_of, actor, note) -> EntryHistory:
    return EntryHistory(
        client=client,
        entry_id=entry_id,
        field=field,
        from_value=old or "",
        to_value=new or "",
        effective_on=as_of,
        actor=actor,
        note=note,
    )
