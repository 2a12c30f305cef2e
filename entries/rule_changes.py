"""A new rule set reaches every client: the notice of the entries whose refund path it changed.

entries_reclassify (the daily job's machinery) finds the entries classified under an older rule set, stores
the new classification with history naming both versions, and calls rule_change_notice_record in the same
transaction. One notice per client and rule-set version (a unique constraint): the client's users get one
email, its overview a banner, staff the same list per client. A second run finds nothing older to change,
so it records and sends nothing. Why the daily job and a command rather than a data migration:
docs/CAPE.md "Rule sets".
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django_scopes import scopes_disabled

from clients import audit
from clients.emails import send_templated
from clients.models import Client, Membership, User
from domain.entry_numbers import display
from domain.vocabulary import DEADLINE_LABELS, REASON_LABELS

from .models import RefundPath, RuleChangeNotice

# The overview shows a notice's banner for this long after it was recorded.
BANNER_DAYS = 45
BANNER_ROWS = 10  # the overview lists this many; the rule-changes page lists them all
# An email lists this many entries; the page linked from it lists them all.
EMAIL_LISTED = 100

_PATH_LABELS = dict(RefundPath.choices)


def rule_change_notice_record(
    *, client: Client, rule_set_version: str, previous_versions: list[str], as_of: date, changes: list[dict]
) -> RuleChangeNotice:
    """Record (or extend) the client's notice for this rule set and email its users once the data commits.

    Runs inside the caller's transaction (entries_reclassify), so the stored paths, their history and the
    notice commit together. changes: one dict per entry (entry_number, from_path, to_path, reason,
    next_deadline ISO or "", next_deadline_kind).
    """
    with transaction.atomic():
        notice, created = RuleChangeNotice.objects.select_for_update().get_or_create(
            client=client,
            rule_set_version=rule_set_version,
            defaults={"previous_versions": ", ".join(previous_versions), "as_of": as_of, "changes": []},
        )
        # A client whose entries were re-classified in two runs (one interrupted) gets the rest told then.
        known = {item["entry_number"] for item in notice.changes}
        new = [item for item in changes if item["entry_number"] not in known]
        if not new:
            return notice
        recipients = sorted(
            set(
                Membership.objects.filter(client=client, user__is_active=True).values_list(
                    "user__email", flat=True
                )
            )
        )
        notice.changes = sorted([*notice.changes, *new], key=lambda item: item["entry_number"])
        notice.emailed_to += len(recipients)
        notice.save(update_fields=["changes", "emailed_to"])
        audit.record(
            client=client,
            actor=None,
            action="entries.rule_set_changed",
            subject=notice,
            data={
                "rule_set_version": rule_set_version,
                "previous_versions": previous_versions,
                "entries": len(new),
                "emailed_to": len(recipients),
            },
        )
        if recipients:
            context = _email_context(client=client, notice=notice, items=new)
            transaction.on_commit(lambda: send_templated("rule_set_changed", to=recipients, context=context))
    return notice


def change_rows(items: list[dict]) -> list[dict]:
    """A notice's items in words: entry number dashed, paths and deadline kinds as labels."""
    rows = []
    for item in items:
        deadline = date.fromisoformat(item["next_deadline"]) if item.get("next_deadline") else None
        reason = item.get("reason") or ""
        rows.append(
            {
                "entry_number": item["entry_number"],
                "display": display(item["entry_number"]),
                "from_label": _PATH_LABELS.get(item["from_path"], item["from_path"]),
                "to_label": _PATH_LABELS.get(item["to_path"], item["to_path"]),
                "to_path": item["to_path"],
                "reason_label": REASON_LABELS.get(reason, reason) if reason else "",
                "next_deadline": deadline,
                "deadline_label": DEADLINE_LABELS.get(item.get("next_deadline_kind") or "", ""),
            }
        )
    return rows


def _email_context(*, client: Client, notice: RuleChangeNotice, items: list[dict]) -> dict:
    from django.conf import settings

    link = settings.SITE_URL.rstrip("/") + reverse(
        "entries:rule_changes", kwargs={"client_slug": client.slug}
    )
    rows = change_rows(items)
    return {
        "client": client,
        "notice": notice,
        "rows": rows[:EMAIL_LISTED],
        "more": max(0, len(rows) - EMAIL_LISTED),
        "count": len(rows),
        "link": link,
    }


def client_rule_notices(*, client: Client):
    return RuleChangeNotice.objects.filter(client=client)


def rule_notice_banner(*, client: Client, today: date) -> RuleChangeNotice | None:
    """The client's latest notice while it is recent enough for the overview's banner."""
    return (
        RuleChangeNotice.objects.filter(client=client, as_of__gte=today - timedelta(days=BANNER_DAYS))
        .order_by("-as_of", "-id")
        .first()
    )


def staff_rule_notices(*, user: User) -> list[RuleChangeNotice]:
    """Every notice of the clients on the staff member's caseload (all clients for a manager), newest first."""
    from clients.tenancy import visible_clients

    clients = list(visible_clients(user).values_list("pk", flat=True))
    with scopes_disabled():  # staff page across their clients; limited to the clients they may see
        return list(
            RuleChangeNotice.objects.filter(client_id__in=clients)
            .select_related("client")
            .order_by("-as_of", "client__legal_name")
        )
