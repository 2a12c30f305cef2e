"""The daily deadline reminders: one digest email per person per day, each reminder sent once.

The scan runs in the database: one query finds the entries whose CAPE window or protest deadline falls
within 30 days and computes each one's threshold (30/14/7/2) there; Python only groups the rows by
recipient. A digest, its items (SentReminder, unique) and the email are one transaction: if the mail
server refuses, nothing is recorded and the next run retries; a run that dies mid-way is re-run and
sends only what was not yet recorded.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlparse

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django_scopes import scopes_disabled

from brokerage.bulk import write_rows
from clients.emails import send_templated
from clients.models import (
    Client,
    Membership,
    ReminderDigest,
    ReminderPreference,
    SentReminder,
    StaffAssignment,
    User,
)
from domain.calendar import CalendarDeadline, deadline_calendar
from domain.eligibility import CAPE_PATHS
from domain.entry_numbers import display
from domain.vocabulary import REMINDED_DEADLINE_KINDS

from .. import hooks
from ..models import Entry, EntryHistory, RefundPath
from ..reclassification import RULE_SET_NOTE_PREFIX
from ..selectors import FIGURES, headline_figures
from .rules import (
    ESCALATION_DAYS,
    THRESHOLDS,
    deadline_label,
    is_critical,
)

logger = logging.getLogger(__name__)
DATABASE_GONE = (OperationalError, InterfaceError)
DIGEST_ITEMS_PER_CLIENT = 50  # an email lists the nearest; the rest are counted, with a link
CHANGE_LOOKBACK_DAYS = 7  # path changes older than this are not news any more (a missed day is caught up)


def threshold_expression(today: date) -> Case:
    """The reminder threshold of an entry's next deadline, computed by the database (see reminders.threshold_for)."""
    whens = [When(next_deadline__lte=today + timedelta(days=t), then=Value(t)) for t in sorted(THRESHOLDS)]
    return Case(*whens, default=Value(None), output_field=IntegerField())


def acted_filter() -> Q:
    """The client has acted on the deadline: a protest is on file, or the entry is in a live CAPE declaration.

    A court deadline (after a protest's denial) is never "acted on" here: the protest on file is why it runs.
    """
    acted = (Q(protest=True) | Q(marked_protest=True) | Q(protest_filed=True)) & ~Q(
        next_deadline_kind="court_deadline"
    )
    declared = hooks.in_live_declaration()  # refunds provides it; without refunds, no entry is declared
    return acted if declared is None else acted | declared


def due_deadlines(*, today: date):
    """Rows (dicts) of every entry with a CAPE window or protest deadline within 30 days, not acted on."""
    return (
        Entry.objects.filter(
            next_deadline_kind__in=REMINDED_DEADLINE_KINDS,
            next_deadline__gte=today,
            next_deadline__lte=today + timedelta(days=max(THRESHOLDS)),
            client__is_active=True,
        )
        .exclude(acted_filter())
        .annotate(threshold=threshold_expression(today), amount=F("ieepa_duty"))
        .values("client_id", "entry_number", "next_deadline", "next_deadline_kind", "amount", "threshold")
        .order_by("client_id", "next_deadline", "entry_number")
    )


def recent_path_changes(*, today: date):
    return (
        EntryHistory.objects.filter(
            field=EntryHistory.Field.PATH,
            effective_on__gt=today - timedelta(days=CHANGE_LOOKBACK_DAYS),
            effective_on__lte=today,
            client__is_active=True,
        )
        # A new rule set's changes reach the client in its own notice (entries.rule_changes), once.
        .exclude(note__startswith=RULE_SET_NOTE_PREFIX)
        .values(
            "id",
            "client_id",
            "from_value",
            "to_value",
            "effective_on",
            "entry__entry_number",
            "entry__ieepa_duty",
        )
        .order_by("client_id", "id")
    )


@dataclass
class Item:
    client_id: int
    reason: str
    entry_number: str
    amount: Decimal
    deadline: date | None = None
    deadline_kind: str = ""
    threshold: int | None = None
    history_id: int | None = None
    change: str = ""

    def key(self) -> tuple:
        if self.history_id is not None:
            return ("history", self.history_id)
        return (self.client_id, self.entry_number, self.reason, self.deadline, self.threshold)


@dataclass
class Plan:
    user: User
    items: list[Item] = field(default_factory=list)


def reminders_plan(*, today: date) -> dict[int, Plan]:
    """Who gets which reminders today that have not been sent yet (a handful of queries, any data size)."""
    with scopes_disabled():  # the daily job spans every client; it reads and writes by client id only
        deadlines = list(due_deadlines(today=today))
        changes = list(recent_path_changes(today=today))
        client_ids = {row["client_id"] for row in deadlines} | {row["client_id"] for row in changes}
        members = defaultdict(list)
        for client_id, user_id in Membership.objects.filter(
            client_id__in=client_ids, user__is_active=True
        ).values_list("client_id", "user_id"):
            members[client_id].append(user_id)
        staff = defaultdict(list)
        for client_id, user_id in StaffAssignment.objects.filter(
            client_id__in=client_ids, staff__is_active=True
        ).values_list("client_id", "staff_id"):
            staff[client_id].append(user_id)
        sent = set()
        for row in SentReminder.objects.filter(
            client_id__in=client_ids, deadline__gte=today, history_id__isnull=True
        ).values_list("recipient_id", "client_id", "entry_number", "reason", "deadline", "threshold"):
            sent.add((row[0], row[1:]))
        for recipient_id, history_id in SentReminder.objects.filter(
            history_id__in=[c["id"] for c in changes]
        ).values_list("recipient_id", "history_id"):
            sent.add((recipient_id, ("history", history_id)))
    user_ids = {u for ids in members.values() for u in ids} | {u for ids in staff.values() for u in ids}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    prefs = {p.user_id: p for p in ReminderPreference.objects.filter(user_id__in=user_ids)}
    default_pref = ReminderPreference()

    plans: dict[int, Plan] = {}

    def add(user_id: int, item: Item) -> None:
        if (user_id, item.key()) not in sent:
            plans.setdefault(user_id, Plan(users[user_id])).items.append(item)

    for row in deadlines:
        base = dict(
            client_id=row["client_id"],
            entry_number=row["entry_number"],
            amount=row["amount"],
            deadline=row["next_deadline"],
            deadline_kind=row["next_deadline_kind"],
        )
        threshold = row["threshold"]
        for user_id in members[row["client_id"]]:
            if is_critical(threshold) or prefs.get(user_id, default_pref).early_reminders:
                add(user_id, Item(reason=SentReminder.Reason.DEADLINE, threshold=threshold, **base))
        if threshold <= ESCALATION_DAYS:
            for user_id in staff[row["client_id"]]:
                add(user_id, Item(reason=SentReminder.Reason.ESCALATION, threshold=ESCALATION_DAYS, **base))
    paths = dict(RefundPath.choices)
    for row in changes:
        fileable = row["to_value"] in CAPE_PATHS and row["from_value"] not in CAPE_PATHS
        reason = SentReminder.Reason.FILEABLE if fileable else SentReminder.Reason.PATH_CHANGE
        item = Item(
            client_id=row["client_id"],
            reason=reason,
            entry_number=row["entry__entry_number"],
            amount=row["entry__ieepa_duty"],
            history_id=row["id"],
            change=f"{paths.get(row['from_value'], 'new')} → {paths.get(row['to_value'], row['to_value'])}",
        )
        for user_id in members[row["client_id"]]:
            pref = prefs.get(user_id, default_pref)
            if pref.fileable_notices if fileable else pref.path_changes:
                add(user_id, item)
    return plans


def reminders_send(*, today: date | None = None) -> dict:
    """The daily job: build the plan, send one digest per person. Returns counts; failures are retried later."""
    today = today or timezone.localdate()
    plans = reminders_plan(today=today)
    clients = {
        c.pk: c for c in Client.objects.filter(pk__in={i.client_id for p in plans.values() for i in p.items})
    }
    counts = {"recipients": len(plans), "sent": 0, "skipped": 0, "failed": 0, "items": 0}
    for plan in plans.values():
        try:
            if _send_digest(plan=plan, clients=clients, today=today):
                counts["sent"] += 1
                counts["items"] += len(plan.items)
            else:
                counts["skipped"] += 1
        except DATABASE_GONE:
            raise  # every next digest would fail too: the task retries the run (entries/tasks.py)
        except Exception:
            counts["failed"] += 1
            logger.exception("The reminder digest to user %s could not be sent", plan.user.pk)
    return counts


def _send_digest(*, plan: Plan, clients: dict[int, Client], today: date) -> bool:
    sent = False
    try:
        with transaction.atomic(), scopes_disabled():  # items of several clients go in one digest
            if not _record_digest(plan=plan, today=today):
                return False  # one email a day: what came up since waits for tomorrow's digest
            sections, calendar = _digest_context(plan=plan, clients=clients, today=today)
            # Inside the transaction: if the mail server refuses, nothing is recorded and the next run retries.
            send_templated(
                "reminder_digest",
                to=[plan.user.email],
                context={"recipient": plan.user, "sections": sections, "today": today, "figures": FIGURES},
                attachments=[("deadline.ics", calendar, "text/calendar")] if calendar else [],
            )
            sent = True
    except DATABASE_GONE:
        if not sent:
            raise
        # The email is out but the commit recording it failed (the database restarted): record it again
        # as soon as the database is back, or the task's retry would send it a second time.
        _record_when_back(plan=plan, today=today)
        logger.warning(
            "The digest to user %s was sent as the database went away; recorded again", plan.user.pk
        )
    return True


RECORD_WAIT_SECONDS = 120


def _record_when_back(*, plan: Plan, today: date) -> None:
    give_up = time.monotonic() + RECORD_WAIT_SECONDS
    while True:
        try:
            connection.close_if_unusable_or_obsolete()
            with transaction.atomic(), scopes_disabled():
                _record_digest(plan=plan, today=today)
            return
        except DATABASE_GONE:
            if time.monotonic() > give_up:
                logger.error("The reminder digest sent to user %s could not be recorded", plan.user.pk)
                raise
            time.sleep(1)


def _record_digest(*, plan: Plan, today: date) -> bool:
    """Today's digest and its items for the person; False if today's digest is recorded already."""
    digest, created = ReminderDigest.objects.get_or_create(
        recipient=plan.user, day=today, defaults={"item_count": len(plan.items)}
    )
    if created:
        # COPY on PostgreSQL (a first run records over 100,000 reminders; bulk_create's INSERTs took most
        # of the job), plain inserts elsewhere; the unique constraints still hold every row to one.
        write_rows(
            SentReminder._meta.db_table,
            SENT_REMINDER_COLUMNS,
            (
                (
                    i.client_id,
                    digest.pk,
                    plan.user.pk,
                    i.reason,
                    i.entry_number,
                    i.deadline,
                    i.deadline_kind,
                    i.threshold,
                    i.history_id,
                )
                for i in plan.items
            ),
        )
    return created


SENT_REMINDER_COLUMNS = (
    "client_id",
    "digest_id",
    "recipient_id",
    "reason",
    "entry_number",
    "deadline",
    "deadline_kind",
    "threshold",
    "history_id",
)


def _entry_url(client: Client, entry_number: str) -> str:
    path = reverse("entries:detail", kwargs={"client_slug": client.slug, "entry_number": entry_number})
    return settings.SITE_URL + path


def _digest_context(*, plan: Plan, clients: dict[int, Client], today: date):
    ordered = sorted(plan.items, key=lambda i: (i.deadline or date.max, i.entry_number))
    by_client: dict[int, list[Item]] = defaultdict(list)
    for item in ordered:
        by_client[item.client_id].append(item)
    patterns = {cid: _entry_url_pattern(clients[cid]) for cid in by_client}
    headline = headline_figures(client_ids=list(by_client), today=today)  # as the overview shows them
    # Sorted by deadline: the nearest are listed, the rest counted with a link to the client's entries.
    sections = [
        {
            "client": clients[cid],
            "items": [
                _item_context(i, clients[cid], today, patterns[cid]) for i in items[:DIGEST_ITEMS_PER_CLIENT]
            ],
            "more": max(0, len(items) - DIGEST_ITEMS_PER_CLIENT),
            "cape_now_text": f"{headline[cid]['cape_now']:,.2f}",
            "due_30_text": f"{headline[cid]['due_30']:,.2f}",
            "entries_url": settings.SITE_URL
            + reverse("entries:list", kwargs={"client_slug": clients[cid].slug}),
        }
        for cid, items in sorted(by_client.items(), key=lambda kv: clients[kv[0]].legal_name)
    ]
    first = next((i for i in ordered if i.deadline), None)
    if first is None:
        return sections, b""
    client = clients[first.client_id]
    event = calendar_deadline(
        client=client,
        entry_number=first.entry_number,
        day=first.deadline,
        kind=first.deadline_kind,
        url=_entry_url(client, first.entry_number),
    )
    calendar = deadline_calendar([event], prodid=_prodid(), name="Nearest deadline", dtstamp=timezone.now())
    return sections, calendar


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _item_context(item: Item, client: Client, today: date, entry_url: str = "") -> dict:
    """One line of a digest, formatted here once (a first run lists some 75,000 lines; template filters
    and one reverse() per line took most of the rendering). entry_url: the client's detail URL with
    ENTRY in place of the number (_entry_url_pattern)."""
    days_left = (item.deadline - today).days if item.deadline else None
    return {
        "entry_number": item.entry_number,
        "reason": item.reason,
        "amount": item.amount,
        "amount_text": f"{item.amount:,.2f}",
        "deadline": item.deadline,
        "deadline_text": f"{_MONTHS[item.deadline.month - 1]} {item.deadline.day}, {item.deadline.year}"
        if item.deadline
        else "",
        "deadline_label": deadline_label(item.deadline_kind) if item.deadline_kind else "",
        "days_left": days_left,
        "days_text": f"{days_left} day{'' if days_left == 1 else 's'} left" if days_left is not None else "",
        "change": item.change,
        "url": _fill(entry_url, item.entry_number) if entry_url else _entry_url(client, item.entry_number),
    }


_ENTRY = "ENTRY"  # not an entry number (those are 11 characters): stands for one in a URL pattern


def _fill(pattern: str, entry_number: str) -> str:
    before, _, after = pattern.rpartition(_ENTRY)  # the last one: the slug, earlier, may hold the word
    return before + entry_number + after


def _entry_url_pattern(client: Client) -> str:
    return _entry_url(client, _ENTRY)


def _prodid() -> str:
    return f"-//{settings.BROKERAGE_NAME}//Refund portal//EN"


def calendar_deadline(
    *, client: Client, entry_number: str, day: date, kind: str, url: str
) -> CalendarDeadline:
    host = urlparse(settings.SITE_URL).hostname or "portal"
    shown = display(entry_number)  # the uid keeps the stored number: a calendar matches events by it
    return CalendarDeadline(
        uid=f"deadline-{client.pk}-{entry_number}-{kind}-{day:%Y%m%d}@{host}",
        day=day,
        summary=f"{capfirst(deadline_label(kind))}: entry {shown} ({client.legal_name})",
        description=f"{client.legal_name}, entry {shown}: {deadline_label(kind)} on {day:%B} {day.day}, {day.year}.",
        url=url,
    )


def reminder_preferences_update(
    *, user: User, early_reminders: bool, path_changes: bool, fileable_notices: bool
):
    """Save what a person wants to hear about; critical reminders have no switch, so they are not here."""
    preference, _ = ReminderPreference.objects.update_or_create(
        user=user,
        defaults={
            "early_reminders": early_reminders,
            "path_changes": path_changes,
            "fileable_notices": fileable_notices,
        },
    )
    return preference


def calendar_feed_create(*, user: User) -> str:
    """A new private feed URL for the user; any earlier one stops working. Returns the token (shown once)."""
    import secrets

    from clients.models import CalendarFeed

    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        CalendarFeed.objects.create(user=user, token_hash=CalendarFeed.hash_token(token))
    return token


def calendar_feed_revoke(*, user: User) -> int:
    from clients.models import CalendarFeed

    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
