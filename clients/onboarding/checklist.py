"""Onboarding, the pure part: the checklist's items and statuses, the ACE paths' steps, CBP contact points,
the ready-to-file rule, the stale rules and the Form 5106 code window's timing.

Plain values in, values out: no ORM, no request (the TextChoices are only enums the models reuse).
The steps and contacts follow the shared spec (domain.md §1 and §8); the contact points are public CBP
addresses as of 2026 (sources in docs/ONBOARDING.md) and live here, in one place, so they are easy to update.

Why one module (~525 lines, the iCalendar part already in domain/calendar.py): the enums the models use,
the ACE paths' steps and contacts keyed by them, and the rules that walk the steps (readiness, next step,
stale findings) refer to each other both ways. Splitting the steps and contacts out needs the enums in a
module of their own first (clients.models, the vocabulary, forms and services import them from here); not
done in this restructuring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import TextChoices


class ItemStatus(TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CBP = "waiting_on_cbp", "Waiting on CBP"
    BLOCKED = "blocked", "Blocked"
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


CLOSED_STATUSES = frozenset({ItemStatus.DONE, ItemStatus.NOT_APPLICABLE})


class Owner(TextChoices):
    CLIENT = "client", "Client"
    BROKER = "broker", "Broker"


class ItemKey(TextChoices):
    ACE_ACCOUNT = "ace_account", "ACE Portal account"
    FORM_5106 = "form_5106", "CBP Form 5106 and its point of contact"
    SUB_ACCOUNT = "sub_account", "Importer sub-account"
    ACH_ENROLLMENT = "ach_enrollment", "ACH refund enrollment"
    INACTIVE_ACCOUNT = "inactive_account", "Inactive account"
    VOIDED_ACCOUNT = "voided_account", "Voided account"
    FOREIGN_IMPORTER = "foreign_importer", "Foreign importer without a US bank"
    PAPER_CHECK_WAIVER = "paper_check_waiver", "Paper-check waiver"
    BROKER_NOTIFY_PARTY = "broker_notify_party", "Broker as Form 4811 notify party"
    FILING_AUTHORIZATION = "filing_authorization", "Filing authorization"
    PROTEST_AUTHORIZATION = "protest_authorization", "Protest authorization"
    ACE_PROTEST_FILER = "ace_protest_filer", "ACE protest filer account"


# Checklist order on the page (the numbering); special cases sit before the authorization.
CORE_KEYS = (ItemKey.ACE_ACCOUNT, ItemKey.FORM_5106, ItemKey.SUB_ACCOUNT, ItemKey.ACH_ENROLLMENT)
SPECIAL_CASE_KEYS = (
    ItemKey.INACTIVE_ACCOUNT,
    ItemKey.VOIDED_ACCOUNT,
    ItemKey.FOREIGN_IMPORTER,
    ItemKey.PAPER_CHECK_WAIVER,
    ItemKey.BROKER_NOTIFY_PARTY,
)
# Protests (issue 16): shown when the company's entries need protests (the profile's files_protests, ticked
# with the special cases); the brokerage files a protest only with the client admin's protest authorization,
# and whoever files needs a protest filer account in the ACE Portal. Not part of the readiness to file CAPE.
PROTEST_KEYS = (ItemKey.PROTEST_AUTHORIZATION, ItemKey.ACE_PROTEST_FILER)
CHECKLIST_ORDER = (*CORE_KEYS, *SPECIAL_CASE_KEYS, ItemKey.FILING_AUTHORIZATION, *PROTEST_KEYS)

# Items whose status follows their own record (sub-account state, ACH status, the authorization) rather
# than being set by hand, so the checklist and the readiness rule never disagree.
DERIVED_STATUS_KEYS = frozenset(
    {ItemKey.SUB_ACCOUNT, ItemKey.ACH_ENROLLMENT, ItemKey.FILING_AUTHORIZATION, ItemKey.PROTEST_AUTHORIZATION}
)

DEFAULT_OWNER = {key: Owner.CLIENT for key in CHECKLIST_ORDER} | {
    ItemKey.BROKER_NOTIFY_PARTY: Owner.BROKER,
    ItemKey.ACE_PROTEST_FILER: Owner.BROKER,  # the brokerage files unless the importer files itself
}


def applicable_keys(special_cases: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The checklist's items in page order: the core items, the special cases that apply, the authorization."""
    optional = (*SPECIAL_CASE_KEYS, *PROTEST_KEYS)
    return tuple(k for k in CHECKLIST_ORDER if k not in optional or k in special_cases)


class AcePath(TextChoices):
    NEW_APPLICATION = "new_application", "New application"
    EIN_LINKED = "ein_linked", "EIN already linked to an ACE account"


class SubAccountState(TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    CONNECTED = "connected", "Connected to the top account"
    MISSING = "missing", "Not connected"
    REQUESTED = "requested", "Requested from CBP"


class AchStatus(TextChoices):
    NOT_ENROLLED = "not_enrolled", "Not enrolled"
    SUBMITTED = "submitted", "Submitted"
    ACTIVE = "active", "Active"
    REJECTED = "refund_rejected", "Refund rejected"


class WindowStatus(TextChoices):
    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"


SUB_ACCOUNT_ITEM_STATUS = {
    SubAccountState.UNKNOWN: ItemStatus.NOT_STARTED,
    SubAccountState.MISSING: ItemStatus.IN_PROGRESS,
    SubAccountState.REQUESTED: ItemStatus.WAITING_ON_CBP,
    SubAccountState.CONNECTED: ItemStatus.DONE,
}
ACH_ITEM_STATUS = {
    AchStatus.NOT_ENROLLED: ItemStatus.IN_PROGRESS,
    AchStatus.SUBMITTED: ItemStatus.WAITING_ON_CBP,
    AchStatus.ACTIVE: ItemStatus.DONE,
    AchStatus.REJECTED: ItemStatus.BLOCKED,
}


# --- The ACE account's two paths -------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    text: str


ACE_STEPS = {
    AcePath.NEW_APPLICATION: (
        Step(
            "ior_ready", "Have the importer-of-record number ready (the EIN with its two-character suffix)."
        ),
        Step("name_ready", "Have the company name exactly as it is on the CBP Form 5106."),
        Step("email_ready", "Have a business email address for the account owner (not a personal mailbox)."),
        Step(
            "window_booked",
            "Book the 10-minute code window below, so the Form 5106 point of contact is at their inbox.",
        ),
        Step(
            "applied",
            "Submit CBP's importer ACE Portal application with exactly those details, during the window.",
        ),
        Step(
            "code_entered",
            "Enter the verification code CBP emails to the Form 5106 point of contact; it expires in 10 minutes.",
        ),
        Step(
            "access_verified",
            "Log in to the ACE Portal and check that the Importer sub-account view is there.",
        ),
    ),
    AcePath.EIN_LINKED: (
        Step(
            "tao_identified",
            "Identify the Top Account Owner (TAO) of the existing account; ACE Support can tell you.",
        ),
        Step(
            "account_active",
            "Check the account is active: a dormant account is reactivated by calling ACE Support; a voided "
            "one goes to the CBP Bonds team (tick the special case below).",
        ),
        Step("password_reset", "Reset the Top Account Owner's password in the ACE Portal."),
        Step(
            "access_verified",
            "Log in and verify access: the Importer sub-account view and your importer number are visible.",
        ),
    ),
}


def ace_steps(path: str) -> tuple[Step, ...]:
    return ACE_STEPS.get(path, ())


# --- CBP contact points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str
    email: str = ""
    phone: str = ""
    url: str = ""


ACE_SUPPORT = Contact(
    "ACE Support (ACE Portal accounts help desk)", "ACESupport@cbp.dhs.gov", "1-866-530-4172"
)
ACE_APPLICATIONS = Contact("CBP ACE applications mailbox", "ACE.Applications@cbp.dhs.gov")
ACH_REFUND_SUPPORT = Contact(
    "CBP ACH Refund Support", "GMB.ACHRefundSupport@cbp.dhs.gov", "(317) 298-1200 ext. 1178"
)
BONDS_TEAM = Contact("CBP Revenue Division, Bonds team", "bondquestions@cbp.dhs.gov")
VOIDED_FAQ = Contact(
    "CBP: Voided importer record FAQs",
    url="https://www.cbp.gov/trade/priority-issues/revenue/bonds/voided-importer-record-faqs",
)
ACH_FAQ = Contact(
    "CBP: ACE Portal and ACH refunds FAQs",
    url="https://www.cbp.gov/trade/automated/ace-portal-and-ach-refunds-faqs",
)

# Per step: whom to contact and what for.
CONTACTS: dict[str, tuple[tuple[Contact, str], ...]] = {
    ItemKey.ACE_ACCOUNT: (
        (ACE_SUPPORT, "who your Top Account Owner is, a dormant account, log-in and password problems"),
    ),
    ItemKey.FORM_5106: (
        (BONDS_TEAM, "updating the Form 5106 (subject “Update IR#”); your broker can also update it for you"),
    ),
    ItemKey.SUB_ACCOUNT: (
        (ACE_APPLICATIONS, "the signed sub-account request letter, on company letterhead"),
        (ACE_SUPPORT, "whether a sub-account is already linked to your top account"),
    ),
    ItemKey.ACH_ENROLLMENT: (
        (ACE_SUPPORT, "errors on the ACH Refund Authorization tab"),
        (ACH_REFUND_SUPPORT, "bank routing number errors, and rejected refunds after you enroll"),
        (ACH_FAQ, "CBP's own answers on ACH refunds"),
    ),
    ItemKey.INACTIVE_ACCOUNT: ((ACE_SUPPORT, "reactivating a dormant ACE Portal account"),),
    ItemKey.VOIDED_ACCOUNT: (
        (
            BONDS_TEAM,
            "un-voiding the importer record: a signed Form 5106 with proof of the number, subject “Void IR#”",
        ),
        (VOIDED_FAQ, "which documents prove the importer number"),
    ),
    ItemKey.FOREIGN_IMPORTER: (
        (ACH_REFUND_SUPPORT, "which US account or notify party can receive the refunds"),
    ),
    ItemKey.PAPER_CHECK_WAIVER: ((ACH_REFUND_SUPPORT, "whether a waiver under 31 CFR 208.4 can apply"),),
    ItemKey.BROKER_NOTIFY_PARTY: (
        (ACE_SUPPORT, "naming the broker as notify party on the ACE profile"),
        (ACH_REFUND_SUPPORT, "the broker's own ACH enrollment"),
    ),
    ItemKey.FILING_AUTHORIZATION: (),
    ItemKey.PROTEST_AUTHORIZATION: (),
    ItemKey.ACE_PROTEST_FILER: (
        (ACE_SUPPORT, "a protest filer account in the ACE Portal (the Protest module), for whoever files"),
    ),
}

ACH_REJECTED_RECOVERY = (
    "Enroll (or correct the enrollment) in the ACE Portal: Importer sub-account view, ACH Refund Authorization tab.",
    "Email CBP's ACH Refund Support mailbox that you have enrolled, naming the rejected refund.",
    "Allow 4–6 weeks for CBP to pay the refund again; no interest is paid for the delay.",
)


# --- The state a checklist is computed from ----------------------------------------------------------


@dataclass(frozen=True)
class ItemSnapshot:
    key: str
    status: str = ItemStatus.NOT_STARTED
    owner: str = Owner.CLIENT
    due_date: date | None = None
    status_changed_at: datetime | None = None


@dataclass(frozen=True)
class WindowSnapshot:
    status: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class OnboardingState:
    """One client's onboarding as plain values: the applicable items in page order and each item's record."""

    items: tuple[ItemSnapshot, ...]
    ace_path: str = ""
    ace_steps_done: frozenset[str] = frozenset()
    has_5106_details: bool = False
    window: WindowSnapshot | None = None
    sub_account: str = SubAccountState.UNKNOWN
    ach_status: str = AchStatus.NOT_ENROLLED
    ach_submitted_at: datetime | None = None
    authorized_numbers: tuple[str, ...] | None = None  # None: no authorization in force

    def item(self, key: str) -> ItemSnapshot | None:
        return next((item for item in self.items if item.key == key), None)

    def status(self, key: str) -> str | None:
        item = self.item(key)
        return item.status if item else None


def progress(state: OnboardingState) -> tuple[int, int]:
    """(closed items, applicable items)."""
    return sum(item.status in CLOSED_STATUSES for item in state.items), len(state.items)


# --- Ready to file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Readiness:
    """Whether the brokerage may file CAPE declarations for the client; what is missing when not."""

    ready: bool
    missing: tuple[str, ...] = ()
    importer_numbers: tuple[str, ...] = ()  # the numbers the filing authorization covers


_ACH_MISSING = {
    AchStatus.NOT_ENROLLED: "ACH refund enrollment: not enrolled yet.",
    AchStatus.SUBMITTED: "ACH refund enrollment: submitted, not active yet.",
    AchStatus.REJECTED: "ACH refund enrollment: a refund was rejected; enroll again and tell CBP.",
}


def readiness(state: OnboardingState) -> Readiness:
    """Ready to file = ACE account done + ACH active + filing authorization given.

    CBP also pays a refund without the importer's own ACH enrollment when the broker is the Form 4811 notify
    party (refunds go to the broker's enrolled account) or a paper-check waiver was granted: when either
    special case applies and is done, it stands in for "ACH active".
    """
    missing = []
    if state.status(ItemKey.ACE_ACCOUNT) != ItemStatus.DONE:
        missing.append("ACE Portal account: not done yet.")
    refund_route = state.ach_status == AchStatus.ACTIVE or any(
        state.status(key) == ItemStatus.DONE
        for key in (ItemKey.BROKER_NOTIFY_PARTY, ItemKey.PAPER_CHECK_WAIVER)
    )
    if not refund_route:
        missing.append(_ACH_MISSING.get(state.ach_status, "ACH refund enrollment: not active."))
    if not state.authorized_numbers:
        missing.append("Filing authorization: not given by a client admin.")
    return Readiness(
        ready=not missing, missing=tuple(missing), importer_numbers=state.authorized_numbers or ()
    )


# --- What to do next ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    key: str
    text: str


def next_step(state: OnboardingState) -> NextStep | None:
    """The first open item in checklist order, with the concrete thing to do about it."""
    for item in state.items:
        if item.status in CLOSED_STATUSES:
            continue
        return NextStep(item.key, _next_text(state, item))
    return None


def _next_text(state: OnboardingState, item: ItemSnapshot) -> str:
    key = item.key
    if item.status == ItemStatus.BLOCKED and key != ItemKey.ACH_ENROLLMENT:
        return f"{ItemKey(key).label} is blocked: read the notes, or ask your broker team what is needed."
    if key == ItemKey.ACE_ACCOUNT:
        if not state.ace_path:
            return (
                "Choose how you get your ACE Portal account: a new application, or recovering the account "
                "already linked to your EIN."
            )
        for step in ace_steps(state.ace_path):
            if step.key not in state.ace_steps_done:
                return f"Next ACE step: {step.text}"
        return "Mark the ACE Portal account done once you can log in."
    if key == ItemKey.FORM_5106:
        if not state.has_5106_details:
            return "Enter the company name exactly as on your CBP Form 5106 and the point of contact's email."
        window = state.window
        if window is None or window.status == WindowStatus.CANCELLED:
            return (
                "Propose a time for the 10-minute code window, when the point of contact is at their inbox."
            )
        if window.status == WindowStatus.PROPOSED:
            return "Your broker team confirms the proposed code window; you both get a calendar invitation."
        return "Mark the Form 5106 step done once the details are confirmed and the code was received."
    if key == ItemKey.SUB_ACCOUNT:
        return {
            SubAccountState.UNKNOWN: "Check in the ACE Portal whether your importer sub-account is connected.",
            SubAccountState.MISSING: "Request the importer sub-account: send CBP the signed request letter.",
            SubAccountState.REQUESTED: "Waiting on CBP to connect the importer sub-account (about two weeks).",
        }.get(state.sub_account, "Confirm the importer sub-account is connected.")
    if key == ItemKey.ACH_ENROLLMENT:
        return {
            AchStatus.NOT_ENROLLED: (
                "Enroll for ACH refunds in the ACE Portal (ACH Refund Authorization tab), then record the bank "
                "and the account's last four digits here."
            ),
            AchStatus.SUBMITTED: "Waiting on CBP to activate the ACH enrollment; check the ACH Refund Authorization tab.",
            AchStatus.REJECTED: "A refund was rejected: enroll again, email CBP's ACH Refund Support, allow 4–6 weeks.",
        }.get(state.ach_status, "Confirm the ACH enrollment is active.")
    if key == ItemKey.FILING_AUTHORIZATION:
        return "A client admin authorizes the brokerage to file CAPE declarations for your importer numbers."
    if key == ItemKey.PROTEST_AUTHORIZATION:
        return "A client admin authorizes the brokerage to file protests (CBP Form 19) for your importer numbers."
    if key == ItemKey.ACE_PROTEST_FILER:
        return (
            "Whoever files the protests sets up a protest filer account in the ACE Portal (Protest module)."
        )
    if item.status == ItemStatus.WAITING_ON_CBP:
        return f"Waiting on CBP: {ItemKey(key).label}."
    return f"Special case: {ItemKey(key).label}. Follow the steps shown for it."


# --- Stale items -------------------------------------------------------------------------------------

ACH_PENDING_DAYS = 14
BLOCKED_DAYS = 7
UNCONFIRMED_WINDOW_HOURS = 24


@dataclass(frozen=True)
class Finding:
    """A stale item: which item, which rule, who should act (client or broker) and what to tell them."""

    key: str
    rule: str
    owner: str
    message: str


def stale_findings(state: OnboardingState, *, now: datetime, today: date) -> list[Finding]:
    """The stale rules (docs/ONBOARDING.md explains each):

    - ach_pending: ACH enrollment submitted more than 14 days ago and still not active;
    - window_missed: the confirmed code window has passed and the ACE account is not done;
    - window_unconfirmed: a proposed code window starts within 24 hours (or has passed) unconfirmed;
    - overdue: an open item is past its due date;
    - blocked: an item has been blocked for more than 7 days without a change.
    """
    findings = []
    if (
        state.ach_status == AchStatus.SUBMITTED
        and state.ach_submitted_at is not None
        and now - state.ach_submitted_at > timedelta(days=ACH_PENDING_DAYS)
    ):
        days = (now - state.ach_submitted_at).days
        findings.append(
            Finding(
                ItemKey.ACH_ENROLLMENT,
                "ach_pending",
                Owner.CLIENT,
                f"ACH enrollment was submitted {days} days ago and is still not active: check the ACH Refund "
                "Authorization tab in ACE, and contact CBP's ACH Refund Support if it is stuck.",
            )
        )
    window = state.window
    if window is not None and state.status(ItemKey.ACE_ACCOUNT) not in (None, *CLOSED_STATUSES):
        if window.status == WindowStatus.CONFIRMED and window.ends_at < now:
            findings.append(
                Finding(
                    ItemKey.ACE_ACCOUNT,
                    "window_missed",
                    Owner.CLIENT,
                    "The code window has passed and the ACE Portal account is not done: if the code expired, "
                    "propose a new time.",
                )
            )
        elif window.status == WindowStatus.PROPOSED and window.starts_at - now < timedelta(
            hours=UNCONFIRMED_WINDOW_HOURS
        ):
            findings.append(
                Finding(
                    ItemKey.FORM_5106,
                    "window_unconfirmed",
                    Owner.BROKER,
                    "A proposed code window is less than a day away (or past) and nobody at the brokerage has "
                    "confirmed it.",
                )
            )
    for item in state.items:
        if item.status in CLOSED_STATUSES:
            continue
        label = ItemKey(item.key).label
        if item.due_date is not None and item.due_date < today:
            findings.append(
                Finding(item.key, "overdue", item.owner, f"{label} was due on {_day(item.due_date)}.")
            )
        if (
            item.status == ItemStatus.BLOCKED
            and item.status_changed_at is not None
            and now - item.status_changed_at > timedelta(days=BLOCKED_DAYS)
        ):
            days = (now - item.status_changed_at).days
            findings.append(
                Finding(item.key, "blocked", item.owner, f"{label} has been blocked for {days} days.")
            )
    return findings


def _day(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


# --- The code window (its calendar invitation is domain.calendar.calendar_invitation) -----------------

CODE_WINDOW_MINUTES = 15  # the code expires 10 minutes after CBP sends it; 5 more to fill in the form
REMINDER_BEFORE = timedelta(minutes=30)  # the reminder email


# --- Evidence files ----------------------------------------------------------------------------------

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
_EVIDENCE_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


def evidence_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an evidence file from its first bytes; None for anything else.

    The type comes from the content, never from the name or the browser's claim.
    """
    for signature, content_type, extension in _EVIDENCE_SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None
