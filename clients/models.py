"""Tenants (clients), people, access, the audit trail, and the base classes every tenant-owned model uses.

Tenancy fails closed: every tenant-owned model inherits TenantModel, whose default manager raises
ScopeError for any query made outside `django_scopes.scope(client=...)` (or an explicit
`scopes_disabled()`).

Why one module of ~770 lines, not a models/ package per concern (onboarding, letters, reminders): it is
the app's list of tables, read top to bottom in the order the tables depend on each other, and each
concern's models are a contiguous block (onboarding, then letters, then reminders) that its package's
docs point to. Splitting it would change the dotted paths the migrations recorded for the upload paths
and the user manager (clients.models._evidence_path, _letter_path, UserManager), so it would need new
migrations for no change in the tables, which this restructuring does not make. The reminder models stay
in this app for the same reason (entries/reminders/ uses them): moving them to entries changes their app
label and tables.
"""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_scopes import ScopedManager

from .letters.kinds import LetterKind
from .onboarding.checklist import (
    AcePath,
    AchStatus,
    ItemKey,
    ItemStatus,
    Owner,
    SubAccountState,
    WindowStatus,
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("staff_role", User.StaffRole.MANAGER)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: broker staff (staff_role set) or an importer's employee (memberships)."""

    class StaffRole(models.TextChoices):
        NONE = "", "Not broker staff"
        STAFF = "staff", "Staff"
        MANAGER = "staff_manager", "Staff manager"

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    staff_role = models.CharField(max_length=20, choices=StaffRole.choices, blank=True, default="")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:
        # Django admin access follows the broker staff role; there is no separate flag to forget.
        return bool(self.staff_role) and self.is_active

    @property
    def is_broker_staff(self) -> bool:
        return bool(self.staff_role)

    @property
    def is_staff_manager(self) -> bool:
        return self.staff_role == self.StaffRole.MANAGER

    def has_perm(self, perm, obj=None) -> bool:
        # Managers administer everything in the Django admin; staff may look and export, not change, and
        # only clients' records (limited to their caseload by ClientScopeMiddleware) and reference tables:
        # people, logins and second factors are the managers' (a TOTP secret must not be readable by staff).
        if self.is_active and self.is_staff_manager:
            return True
        if self.is_active and self.is_broker_staff and _staff_may_read(perm):
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.is_broker_staff:
            return True
        return super().has_module_perms(app_label)

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


ior_validator = RegexValidator(
    r"^(\d{2}-\d{7}[0-9A-Z]{2}|\d{3}-\d{2}-\d{4}[0-9A-Z]{2}|\d{6}-\d{5})$",
    "Enter an importer-of-record number as NN-NNNNNNNXX (EIN + suffix), NNN-NN-NNNNXX (SSN + suffix) "
    "or YYDDPP-NNNNN (CBP-assigned).",
)


class Client(models.Model):
    """An importer the brokerage serves: the tenant. Legal name exactly as on its CBP Form 5106."""

    slug = models.SlugField(max_length=60, unique=True)
    legal_name = models.CharField(max_length=200, help_text="Exactly as on the CBP Form 5106.")
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    letterhead_logo = models.FileField(upload_to="letterheads/", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.legal_name

    def get_absolute_url(self) -> str:
        return reverse("clients:overview", kwargs={"client_slug": self.slug})

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(
            p for p in [f"{self.city}," if self.city else "", self.state, self.postal_code] if p
        )
        return [line for line in [self.address_line1, self.address_line2, city_line] if line]


# Tables without a client that every staff member may read in the Django admin.
STAFF_READABLE_REFERENCE = {"entries.chapter99rule", "refunds.rejectionreason", "refunds.interestrate"}


def _staff_may_read(perm: str) -> bool:
    from django.apps import apps

    app_label, _, codename = perm.partition(".")
    action, _, model_name = codename.partition("_")
    if action not in ("view", "export"):
        return False
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return False
    return (
        model is Client
        or issubclass(model, TenantModel)
        or f"{app_label}.{model_name}" in STAFF_READABLE_REFERENCE
    )


class TenantModel(models.Model):
    """Base of every tenant-owned row: a direct client foreign key and a manager that fails closed."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(client="client")

    class Meta:
        abstract = True


class ImporterNumber(TenantModel):
    """An importer-of-record number (IOR) of a client; ACE report rows are matched to clients by it.

    A number a client adds is *pending* until broker staff verify it against the client's CBP Form 5106 or
    ACE account: anyone can type any number, so broker-wide reports route entries only to verified
    numbers. Several clients may claim the same number while pending (so that adding one reveals nothing
    about other clients); only one client can hold it verified.
    """

    class Evidence(models.TextChoices):
        FORM_5106 = "form_5106", "CBP Form 5106"
        ACE_ACCOUNT = "ace_account", "ACE account"
        STAFF_ENTERED = "staff_entered", "Entered by broker staff"
        BEFORE_VERIFICATION = "before_verification", "Registered before numbers needed verification"

    number = models.CharField(max_length=20, validators=[ior_validator])
    label = models.CharField(max_length=100, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verification_evidence = models.CharField(max_length=30, choices=Evidence.choices, blank=True)
    verification_note = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["client", "number"], name="one_importer_number_per_client"),
            models.UniqueConstraint(
                fields=["number"],
                condition=models.Q(verified_at__isnull=False),
                name="one_verified_owner_per_importer_number",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class Membership(TenantModel):
    """A client user's role in one client; a person may belong to several clients (sister companies)."""

    class Role(models.TextChoices):
        ADMIN = "client_admin", "Client admin"
        MEMBER = "client_member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "user"], name="one_membership_per_client")]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"


class StaffAssignment(models.Model):
    """A client on a staff member's caseload (managers see every client without one).

    Not tenant-scoped: it is the staff side's record of who may enter which client's scope.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="staff_assignments")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "staff"], name="one_assignment_per_staff")]

    def __str__(self) -> str:
        return f"{self.staff} → {self.client}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(TenantModel):
    """An invitation for a person to join a client; only the token's hash is stored."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, _token_hash(token)

    @staticmethod
    def hash_token(token: str) -> str:
        return _token_hash(token)

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditEvent(TenantModel):
    """Append-only record of a change, written by services in the change's own transaction."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(
        max_length=100, db_index=True, help_text="Dotted name, e.g. client.member_invited"
    )
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    subject_repr = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or 'system'}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise RuntimeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only")


class JobFields(models.Model):
    """Base for long work a page shows as a row: status, progress with counts, message, timestamps.

    A view creates the row and enqueues a task with its id (on commit); the task moves it through
    running -> succeeded/failed via clients.jobs; the page polls the row, never Celery. Tenant-owned
    jobs use Job below; the few staff-side jobs that span clients use this directly.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    total_count = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class Job(TenantModel, JobFields):
    """A tenant-owned job row (see JobFields)."""

    class Meta(JobFields.Meta):
        abstract = True


class AuditExport(Job):
    """A CSV of a client's audit trail, built in the background (the first user of the Job pattern)."""

    file = models.FileField(upload_to="exports/audit/", blank=True)

    def __str__(self) -> str:
        return f"Audit trail export {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse(
            "clients:audit_export", kwargs={"client_slug": self.client.slug, "public_id": self.public_id}
        )


# --- Onboarding (issue 5): the checklist, its evidence, the code window, the filing authorization ------


class OnboardingProfile(TenantModel):
    """A client's onboarding facts: the ACE path, Form 5106 details, sub-account, ACH and special cases.

    One per client, created by the first change. The portal never holds a full bank account number: only
    its last four digits, enforced here by a database constraint as well as by the form and the service.
    """

    ace_path = models.CharField(max_length=20, choices=AcePath.choices, blank=True)
    ace_steps_done = models.JSONField(default=list, blank=True)
    company_name_5106 = models.CharField("company name on the Form 5106", max_length=200, blank=True)
    poc_name = models.CharField("point of contact", max_length=150, blank=True)
    poc_email = models.EmailField("point of contact's email", blank=True)
    sub_account = models.CharField(
        max_length=20, choices=SubAccountState.choices, default=SubAccountState.UNKNOWN
    )
    bank_name = models.CharField(max_length=100, blank=True)
    routing_number = models.CharField(max_length=9, blank=True)
    account_last_four = models.CharField(max_length=4, blank=True)
    ach_status = models.CharField(max_length=20, choices=AchStatus.choices, default=AchStatus.NOT_ENROLLED)
    ach_submitted_at = models.DateTimeField(null=True, blank=True)
    account_inactive = models.BooleanField(default=False)
    account_voided = models.BooleanField(default=False)
    foreign_importer = models.BooleanField(default=False)
    paper_check_waiver = models.BooleanField(default=False)
    broker_notify_party = models.BooleanField(default=False)
    # Entries need protests (issue 16): the protest authorization and the ACE protest filer account join the list.
    files_protests = models.BooleanField(default=False, db_default=False)
    updated_at = models.DateTimeField(auto_now=True)

    SPECIAL_CASE_FIELDS = {
        ItemKey.INACTIVE_ACCOUNT: "account_inactive",
        ItemKey.VOIDED_ACCOUNT: "account_voided",
        ItemKey.FOREIGN_IMPORTER: "foreign_importer",
        ItemKey.PAPER_CHECK_WAIVER: "paper_check_waiver",
        ItemKey.BROKER_NOTIFY_PARTY: "broker_notify_party",
        ItemKey.PROTEST_AUTHORIZATION: "files_protests",
        ItemKey.ACE_PROTEST_FILER: "files_protests",
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client"], name="one_onboarding_profile_per_client"),
            models.CheckConstraint(
                condition=models.Q(account_last_four="") | models.Q(account_last_four__regex=r"^[0-9]{4}$"),
                name="account_last_four_only",
            ),
            models.CheckConstraint(
                condition=models.Q(routing_number="") | models.Q(routing_number__regex=r"^[0-9]{9}$"),
                name="routing_number_nine_digits",
            ),
        ]

    def __str__(self) -> str:
        return "Onboarding profile"

    @property
    def special_cases(self) -> frozenset[str]:
        return frozenset(key for key, name in self.SPECIAL_CASE_FIELDS.items() if getattr(self, name))

    @property
    def has_5106_details(self) -> bool:
        return bool(self.company_name_5106 and self.poc_email)


class ChecklistItem(TenantModel):
    """One step of a client's onboarding checklist: status, owner, due date, notes and the staff check."""

    key = models.CharField(max_length=30, choices=ItemKey.choices)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.NOT_STARTED)
    owner = models.CharField(max_length=10, choices=Owner.choices, default=Owner.CLIENT)
    due_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, help_text="Staff's note from the last verify or reopen.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="one_checklist_item_per_key")]

    def __str__(self) -> str:
        return ItemKey(self.key).label

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


def _evidence_path(instance: "ChecklistEvidence", filename: str) -> str:
    # The stored name never carries the uploaded name (kept in original_name): no user text on disk.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"onboarding/{instance.client_id}/{instance.public_id}.{extension[:5]}"


class ChecklistEvidence(TenantModel):
    """A file attached to a checklist item (a screenshot, a letter); served only through the client's pages."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=_evidence_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse(
            "clients:onboarding_evidence",
            kwargs={"client_slug": self.client.slug, "public_id": self.public_id},
        )


class CodeWindow(TenantModel):
    """A time the Form 5106 point of contact watches their inbox for CBP's 10-minute ACE sign-up code.

    The client proposes it, staff confirm it (both get a calendar invitation), a task reminds them shortly
    before. A new proposal cancels the previous one.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=WindowStatus.choices, default=WindowStatus.PROPOSED)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    poc_name = models.CharField(max_length=150, blank=True)
    poc_email = models.EmailField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveSmallIntegerField(default=0, help_text="iCalendar SEQUENCE of the invitation.")
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["status", "starts_at"])]

    def __str__(self) -> str:
        return f"Code window {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class FilingAuthorization(TenantModel):
    """A client admin's authorization for the brokerage to file CAPE declarations; revocable.

    Records who, when, from which address, for which importer numbers, and the words they agreed to.
    """

    importer_numbers = models.JSONField(default=list)
    statement = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    granted_by_email = models.EmailField()
    granted_at = models.DateTimeField(default=timezone.now)
    granted_from_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_from_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=models.Q(revoked_at=None), name="one_active_filing_authorization"
            )
        ]

    def __str__(self) -> str:
        return f"Filing authorization by {self.granted_by_email}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class OnboardingDigest(models.Model):
    """One stale-items digest email to one person on one day: the row makes the daily task idempotent.

    Not tenant-scoped: a digest covers every client the recipient follows (admins of several clients, staff).
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    findings = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "day"], name="one_digest_per_day")]

    def __str__(self) -> str:
        return f"Onboarding digest to {self.recipient} on {self.day}"


# --- Request letters (issue 7): PDFs on the client's letterhead, rendered in the background -------------


class LetterBatch(JobFields):
    """One letter kind for many clients at once, chosen by a staff manager: a staff-side job row."""

    kind = models.CharField(max_length=30, choices=LetterKind.choices)
    client_ids = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {len(self.client_ids)} clients"

    def get_absolute_url(self) -> str:
        return reverse("staff:letter_batch", kwargs={"public_id": self.public_id})


def _letter_path(instance: "Letter", filename: str) -> str:
    return f"letters/{instance.client_id}/{instance.public_id}.pdf"


class Letter(Job):
    """One version of one letter: its merge data and, once the task has rendered it, the PDF.

    Regenerating creates the next version; earlier versions stay (what was sent to CBP is kept).
    """

    kind = models.CharField(max_length=30, choices=LetterKind.choices)
    version = models.PositiveIntegerField()
    data = models.JSONField(default=dict, help_text="The merge data the letter was rendered with.")
    file = models.FileField(upload_to=_letter_path, blank=True, max_length=255)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    batch = models.ForeignKey(
        LetterBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="letters"
    )

    class Meta(Job.Meta):
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["client", "kind", "version"], name="one_letter_version"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse(
            "clients:letter", kwargs={"client_slug": self.client.slug, "public_id": self.public_id}
        )

    @property
    def filename(self) -> str:
        return f"{self.kind.replace('_', '-')}-v{self.version}.pdf"


# --- Deadline reminders and calendar feeds (issue 7) ----------------------------------------------------


class ReminderPreference(models.Model):
    """What a person wants to hear about. Critical reminders (7 and 2 days before) have no switch."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preference"
    )
    early_reminders = models.BooleanField("Early reminders (30 and 14 days before a deadline)", default=True)
    path_changes = models.BooleanField("When an entry's refund path changes", default=True)
    fileable_notices = models.BooleanField("When entries become fileable through CAPE", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reminder preferences of {self.user}"


class CalendarFeed(models.Model):
    """A person's private ICS feed of their deadlines. Only the token's SHA-256 is stored; revocable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @staticmethod
    def hash_token(token: str) -> str:
        return _token_hash(token)


class ReminderDigest(models.Model):
    """One reminder email to one person on one day (unique): the row makes the daily job idempotent.

    Not tenant-scoped: a digest covers every client the recipient follows.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="one_reminder_digest_per_day")
        ]

    def __str__(self) -> str:
        return f"Reminder digest to {self.recipient} on {self.day}"


class SentReminder(TenantModel):
    """One item of a sent digest: which reminder about which entry went to whom. Never sent twice."""

    class Reason(models.TextChoices):
        DEADLINE = "deadline", "Deadline reminder"
        ESCALATION = "escalation", "Escalation to staff"
        PATH_CHANGE = "path_change", "Path changed"
        FILEABLE = "fileable", "Now fileable"

    digest = models.ForeignKey(ReminderDigest, on_delete=models.CASCADE, related_name="items")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    entry_number = models.CharField(max_length=11)
    # What the reminder was about: the deadline and threshold, or the EntryHistory row of a change.
    deadline = models.DateField(null=True, blank=True)
    deadline_kind = models.CharField(max_length=40, blank=True)
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    history_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "client", "entry_number", "reason", "deadline", "threshold"],
                condition=models.Q(history_id__isnull=True),
                name="one_deadline_reminder",
            ),
            models.UniqueConstraint(
                fields=["recipient", "history_id"],
                condition=models.Q(history_id__isnull=False),
                name="one_change_reminder",
            ),
        ]
        indexes = [models.Index(fields=["client", "deadline"])]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.entry_number} to {self.recipient}"
