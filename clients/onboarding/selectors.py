"""Reads for onboarding: a client's checklist, whether it is ready to file, the staff overview, what is due.

Checklist rows are created by the first change to them; until then an item is shown with its defaults, so
reading a checklist never writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_scopes import scopes_disabled

from ..models import (
    ChecklistEvidence,
    ChecklistItem,
    Client,
    CodeWindow,
    FilingAuthorization,
    ImporterNumber,
    Membership,
    OnboardingProfile,
    StaffAssignment,
    User,
)
from ..tenancy import visible_clients
from .checklist import (
    CHECKLIST_ORDER,
    CLOSED_STATUSES,
    DEFAULT_OWNER,
    REMINDER_BEFORE,
    Finding,
    ItemKey,
    ItemSnapshot,
    ItemStatus,
    NextStep,
    OnboardingState,
    Readiness,
    WindowSnapshot,
    WindowStatus,
    applicable_keys,
    next_step,
    progress,
    readiness,
    stale_findings,
)


@dataclass
class OnboardingRecords:
    """One client's onboarding rows (defaults for the ones not written yet)."""

    client: Client
    profile: OnboardingProfile
    items: dict[str, ChecklistItem]
    window: CodeWindow | None
    authorization: FilingAuthorization | None

    @property
    def state(self) -> OnboardingState:
        profile, window = self.profile, self.window
        return OnboardingState(
            items=tuple(
                ItemSnapshot(
                    key=key,
                    status=self.items[key].status,
                    owner=self.items[key].owner,
                    due_date=self.items[key].due_date,
                    status_changed_at=self.items[key].status_changed_at,
                )
                for key in applicable_keys(profile.special_cases)
            ),
            ace_path=profile.ace_path,
            ace_steps_done=frozenset(profile.ace_steps_done),
            has_5106_details=profile.has_5106_details,
            window=WindowSnapshot(window.status, window.starts_at, window.ends_at) if window else None,
            sub_account=profile.sub_account,
            ach_status=profile.ach_status,
            ach_submitted_at=profile.ach_submitted_at,
            authorized_numbers=tuple(self.authorization.importer_numbers) if self.authorization else None,
        )


def onboarding_records(clients: list[Client]) -> dict[int, OnboardingRecords]:
    """Every onboarding row of these clients in four queries. The caller is in the client's scope, or has
    disabled scopes for clients it may see."""
    ids = [c.pk for c in clients]
    profiles = {p.client_id: p for p in OnboardingProfile.objects.filter(client_id__in=ids)}
    items: dict[int, dict[str, ChecklistItem]] = defaultdict(dict)
    for item in ChecklistItem.objects.filter(client_id__in=ids).select_related("verified_by"):
        items[item.client_id][item.key] = item
    windows: dict[int, CodeWindow] = {}
    for window in (
        CodeWindow.objects.filter(client_id__in=ids)
        .exclude(status=WindowStatus.CANCELLED)
        .select_related("proposed_by", "confirmed_by")
        .order_by("-proposed_at", "-id")
    ):
        windows.setdefault(window.client_id, window)
    authorizations = {
        a.client_id: a
        for a in FilingAuthorization.objects.filter(client_id__in=ids, revoked_at=None).select_related(
            "granted_by"
        )
    }
    records = {}
    for client in clients:
        found = items[client.pk]
        records[client.pk] = OnboardingRecords(
            client=client,
            profile=profiles.get(client.pk) or OnboardingProfile(client=client),
            items={key: found.get(key) or _default_item(client, key) for key in CHECKLIST_ORDER},
            window=windows.get(client.pk),
            authorization=authorizations.get(client.pk),
        )
    return records


def _default_item(client: Client, key: str) -> ChecklistItem:
    return ChecklistItem(
        client=client, key=key, owner=DEFAULT_OWNER[key], status_changed_at=client.created_at
    )


def onboarding_profile(*, client: Client) -> OnboardingProfile:
    return OnboardingProfile.objects.filter(client=client).first() or OnboardingProfile(client=client)


def client_onboarding_state(*, client: Client) -> OnboardingState:
    return onboarding_records([client])[client.pk].state


def client_ready_to_file(*, client: Client) -> Readiness:
    """Whether the brokerage may file CAPE declarations for the client, and what is missing if not.

    ACE account done + ACH active (or a special case standing in for it) + filing authorization given;
    `importer_numbers` lists the numbers the authorization covers. Call it inside the client's scope.
    """
    return readiness(client_onboarding_state(client=client))


@dataclass
class Checklist:
    """What the checklist page shows."""

    client: Client
    profile: OnboardingProfile
    items: list[ChecklistItem]  # the applicable items, in order, each with .evidence_list and .findings
    window: CodeWindow | None
    authorization: FilingAuthorization | None
    past_authorizations: list[FilingAuthorization]
    readiness: Readiness
    progress: tuple[int, int]
    next_step: NextStep | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def percent(self) -> int:
        done, total = self.progress
        return round(100 * done / total) if total else 0


def client_checklist(*, client: Client, now: datetime, today: date) -> Checklist:
    records = onboarding_records([client])[client.pk]
    state = records.state
    findings = stale_findings(state, now=now, today=today)
    evidence = defaultdict(list)
    for file in ChecklistEvidence.objects.filter(client=client).select_related("uploaded_by"):
        evidence[file.item_id].append(file)
    items = []
    for snapshot in state.items:
        item = records.items[snapshot.key]
        item.evidence_list = evidence.get(item.pk, []) if item.pk else []
        item.findings = [f for f in findings if f.key == item.key]
        items.append(item)
    return Checklist(
        client=client,
        profile=records.profile,
        items=items,
        window=records.window,
        authorization=records.authorization,
        past_authorizations=list(
            FilingAuthorization.objects.filter(client=client)
            .exclude(revoked_at=None)
            .select_related("granted_by", "revoked_by")[:10]
        ),
        readiness=readiness(state),
        progress=progress(state),
        next_step=next_step(state),
        findings=findings,
    )


def checklist_key(key: str) -> str:
    """A checklist item key from a URL; anything else is a 404."""
    if key not in ItemKey.values:
        raise Http404("No such checklist item")
    return key


def evidence_for_client(*, client: Client, public_id) -> ChecklistEvidence:
    return get_object_or_404(
        ChecklistEvidence.objects.select_related("item"), client=client, public_id=public_id
    )


def code_window_for_client(*, client: Client, public_id) -> CodeWindow:
    return get_object_or_404(
        CodeWindow.objects.select_related("proposed_by", "confirmed_by"), client=client, public_id=public_id
    )


def client_importer_numbers(*, client: Client) -> list[str]:
    # The filing authorization covers verified numbers only: a pending one is a claim, not yet the client's.
    return list(
        ImporterNumber.objects.filter(client=client, verified_at__isnull=False).values_list(
            "number", flat=True
        )
    )


# --- Staff ---------------------------------------------------------------------------------------

_ATTENTION_RANK = {ItemStatus.BLOCKED: 0, ItemStatus.WAITING_ON_CBP: 1}


@dataclass
class ClientOnboardingRow:
    """One client on the staff overview."""

    client: Client
    items: list[ChecklistItem]  # applicable, in checklist order
    attention: list[ChecklistItem]  # blocked, then waiting on CBP; oldest first
    to_verify: list[ChecklistItem]  # done, not yet verified by staff
    findings: list[Finding]
    readiness: Readiness
    progress: tuple[int, int]
    window: CodeWindow | None
    sort_key: tuple = ()


def staff_onboarding_overview(*, user: User, now: datetime, today: date) -> list[ClientOnboardingRow]:
    """Every client the staff user may see with its checklist at a glance: clients with blocked items
    first, then those waiting on CBP, then the rest; within each, the longest-waiting first."""
    clients = list(
        visible_clients(user)
        .prefetch_related(
            Prefetch("staff_assignments", queryset=StaffAssignment.objects.select_related("staff"))
        )
        .order_by("legal_name")
    )
    with scopes_disabled():  # one set of queries for every client on the caseload, each visible to the user
        loaded = onboarding_records(clients)
    rows = []
    for client in clients:
        records = loaded[client.pk]
        state = records.state
        items = [records.items[s.key] for s in state.items]
        attention = sorted(
            (i for i in items if i.status in _ATTENTION_RANK),
            key=lambda i: (_ATTENTION_RANK[i.status], i.status_changed_at),
        )
        done, total = progress(state)
        if attention:
            sort_key = (_ATTENTION_RANK[attention[0].status], attention[0].status_changed_at)
        else:
            open_items = [i for i in items if i.status not in CLOSED_STATUSES]
            oldest = min((i.status_changed_at for i in open_items), default=client.created_at)
            sort_key = (2 if open_items else 3, oldest)
        rows.append(
            ClientOnboardingRow(
                client=client,
                items=items,
                attention=attention,
                to_verify=[i for i in items if i.status == ItemStatus.DONE and not i.is_verified],
                findings=stale_findings(state, now=now, today=today),
                readiness=readiness(state),
                progress=(done, total),
                window=records.window,
                sort_key=sort_key,
            )
        )
    rows.sort(key=lambda row: row.sort_key)
    return rows


# --- Tasks ---------------------------------------------------------------------------------------


def code_window_ids_due_for_reminder(*, now: datetime) -> list[int]:
    """Confirmed code windows starting within the reminder lead time whose reminder has not gone out."""
    with scopes_disabled():  # a periodic task looks across clients; each window is then handled in its scope
        return list(
            CodeWindow.objects.filter(
                status=WindowStatus.CONFIRMED,
                reminder_sent_at=None,
                starts_at__gt=now,
                starts_at__lte=now + REMINDER_BEFORE,
            ).values_list("pk", flat=True)
        )


@dataclass
class ClientFindings:
    client: Client
    findings: list[Finding]
    admins: list[User]
    staff: list[User]


def stale_findings_with_contacts(*, now: datetime, today: date) -> list[ClientFindings]:
    """Active clients with stale items, each with its contacts: client admins and assigned staff (the staff
    managers when nobody is assigned, so no stale item goes unseen at the brokerage)."""
    clients = list(Client.objects.filter(is_active=True).order_by("legal_name"))
    with scopes_disabled():  # the daily digest reads every client's checklist to build each person's email
        loaded = onboarding_records(clients)
        admins = defaultdict(list)
        for membership in Membership.objects.filter(
            client_id__in=[c.pk for c in clients], role=Membership.Role.ADMIN, user__is_active=True
        ).select_related("user"):
            admins[membership.client_id].append(membership.user)
    staff = defaultdict(list)
    for assignment in StaffAssignment.objects.filter(
        client__in=clients, staff__is_active=True
    ).select_related("staff"):
        staff[assignment.client_id].append(assignment.staff)
    managers = list(User.objects.filter(staff_role=User.StaffRole.MANAGER, is_active=True))
    result = []
    for client in clients:
        findings = stale_findings(loaded[client.pk].state, now=now, today=today)
        if findings:
            result.append(
                ClientFindings(
                    client=client,
                    findings=findings,
                    admins=admins[client.pk],
                    staff=staff[client.pk] or managers,
                )
            )
    return result
