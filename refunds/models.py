"""CAPE declarations, the ledger of which entry went into which declaration, and CBP's reports back.

The ledger (DeclarationEntry) is the one place that says an entry was declared. The database enforces the
rule that matters most: an entry is in at most one pending or accepted declaration at a time.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse

from clients.models import Client, Job, TenantModel


class DeclarationBatch(TenantModel):
    """One build: the entries eligible on a day (optionally for one importer number), cut into files."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    importer_number = models.CharField(max_length=20, blank=True, help_text="Blank: every importer number.")
    as_of = models.DateField()
    entry_count = models.PositiveIntegerField(default=0)
    ieepa_total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    interest_estimate = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "declaration batches"

    def __str__(self) -> str:
        return f"CAPE batch of {self.as_of:%Y-%m-%d} ({self.importer_number or 'all importers'})"

    def get_absolute_url(self) -> str:
        return reverse("refunds:batch", kwargs={"client_slug": self.client.slug, "public_id": self.public_id})


class Declaration(TenantModel):
    """One CAPE declaration: one file of at most 9,999 entry numbers, filed once in the ACE Portal."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FILED = "filed", "Filed"
        ACCEPTED = "accepted", "Accepted"
        PARTIALLY_REJECTED = (
            "partially_rejected",
            "Accepted with Error(s)",
        )  # CBP's claim status: some entries rejected
        REJECTED = "rejected", "Rejected"
        DISCARDED = "discarded", "Discarded"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    batch = models.ForeignKey(DeclarationBatch, on_delete=models.CASCADE, related_name="declarations")
    sequence = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=120)
    # The exact bytes offered for download, kept in the row so they commit or roll back with the ledger.
    content = models.BinaryField(editable=False)
    sha256 = models.CharField(max_length=64)
    entry_count = models.PositiveIntegerField(default=0)
    ieepa_total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    interest_estimate = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    phase2_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    claim_number = models.CharField("CAPE claim number", max_length=40, blank=True)
    filed_on = models.DateField(null=True, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filed_at = models.DateTimeField(null=True, blank=True)
    readiness_override = models.TextField(
        blank=True,
        help_text="A staff manager's reason for recording the filing of a client not ready to file.",
    )
    accepted_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    discarded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "sequence"], name="one_declaration_per_batch_sequence"),
            models.UniqueConstraint(
                fields=["client", "claim_number"],
                condition=~models.Q(claim_number=""),
                name="one_declaration_per_claim_number",
            ),
        ]

    def __str__(self) -> str:
        return self.claim_number or self.filename

    def get_absolute_url(self) -> str:
        return reverse(
            "refunds:declaration", kwargs={"client_slug": self.client.slug, "public_id": self.public_id}
        )

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def pending_count(self) -> int:
        if self.status in (self.Status.DRAFT, self.Status.DISCARDED):
            return 0
        return self.entry_count - self.accepted_count - self.rejected_count


class RejectionReason(models.Model):
    """What to do about an entry CBP rejected, by the words of CBP's reason (data, edited by managers).

    Not tenant data: one table for the brokerage, like the Chapter 99 registry.
    """

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    match_phrases = models.TextField(
        help_text="One phrase per line; a CBP reason containing any of them (any case) gets this next action."
    )
    next_action = models.TextField()
    allows_refile = models.BooleanField(
        default=False,
        help_text="Whether the entry may go into a new declaration right away. Otherwise staff allow it "
        "on the declaration page once the next action is done.",
    )
    position = models.PositiveSmallIntegerField(default=100, help_text="Lower positions are tried first.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def phrases(self) -> list[str]:
        return [p.strip().lower() for p in self.match_phrases.splitlines() if p.strip()]


class InterestRate(models.Model):
    """One calendar quarter's IRS overpayment rates (26 U.S.C. 6621), which CBP pays on refunds (19 U.S.C.
    1505(c)). Data, not code: seeded with spec §7a's figures, extended by staff managers each quarter (admin;
    each change is in the admin's history with who and when). Not tenant data: one table for the brokerage.
    """

    quarter_start = models.DateField(
        unique=True, help_text="The quarter's first day: January, April, July or October 1."
    )
    noncorporate_rate = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="Annual rate as a fraction: 0.07 for 7%."
    )
    corporate_rate = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="Annual rate as a fraction (one point less): 0.06 for 6%."
    )
    source = models.CharField(
        max_length=200, help_text="Where the figure comes from, e.g. Rev. Rul. 2026-10."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["quarter_start"]

    def __str__(self) -> str:
        from domain.interest import percent, quarter_name

        return (
            f"{quarter_name(self.quarter_start)}: {percent(self.noncorporate_rate)} non-corporate, "
            f"{percent(self.corporate_rate)} corporate"
        )

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.quarter_start and (
            self.quarter_start.day != 1 or self.quarter_start.month not in (1, 4, 7, 10)
        ):
            errors["quarter_start"] = "A quarter starts on January, April, July or October 1."
        for name in ("noncorporate_rate", "corporate_rate"):
            rate = getattr(self, name)
            if rate is not None and not (Decimal("0") <= rate <= Decimal("0.25")):
                errors[name] = "Enter the annual rate as a fraction between 0 and 0.25 (0.07 for 7%)."
        if errors:
            raise ValidationError(errors)


class CbpReport(Job):
    """An uploaded CBP file (validation results, ES-022, REV-603 or REV-613) and its reconciliation."""

    class Kind(models.TextChoices):
        RESULTS = "results", "CAPE validation results"
        ES022 = "es022", "ES-022 refunds (declaration, entry, principal, interest)"
        REV603 = "rev603", "REV-603 refund status"
        REV613 = "rev613", "REV-613 ACH-rejected refunds"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    declaration = models.ForeignKey(
        Declaration, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="cbp-reports/%Y/%m/", max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_matched = models.PositiveIntegerField(default=0)
    rows_unmatched = models.PositiveIntegerField(default=0)
    entries_updated = models.PositiveIntegerField(default=0)
    ach_returns = models.PositiveIntegerField(default=0)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse(
            "refunds:report", kwargs={"client_slug": self.client.slug, "public_id": self.public_id}
        )


class DeclarationEntry(TenantModel):
    """One entry in one declaration: the ledger row, with CBP's result and the refund once paid."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        RELEASED = "released", "Released (draft discarded)"

    class RefundStatus(models.TextChoices):
        NONE = "", "—"
        SENT = "sent", "Sent"
        ISSUED = "issued", "Issued"
        DIVERTED = "diverted", "Funds diverted"
        ACH_RETURNED = "ach_returned", "ACH returned"

    LIVE = (Status.PENDING, Status.ACCEPTED)

    # A build writes one row per entry (100,000 for a large client) within the 2 s the issue allows, so the
    # table keeps only the indexes its reads need (the composite ones below lead with client and
    # declaration; the FKs' own are left out), and only the foreign keys that carry the ledger's meaning,
    # declaration and entry, are checked by the database, which runs each check once per written row at
    # commit. client is the declaration's client (tenancy's direct key, written with it); reason and
    # result report are empty when a row is written, and Django applies their SET_NULL itself.
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="ledger", db_index=False
    )
    # RESTRICT: an entry that was declared keeps its ledger; deleting the whole client still works.
    # Lookups by entry use the one-live-row index (it leads with entry) or (client, entry_number).
    entry = models.ForeignKey(
        "entries.Entry", on_delete=models.RESTRICT, related_name="declarations", db_index=False
    )
    entry_number = models.CharField(max_length=11)
    importer_number = models.CharField(max_length=20, blank=True, db_default="")
    refund_path = models.CharField(max_length=20)
    ieepa_duty = models.DecimalField(max_digits=18, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, db_default=Status.PENDING)
    result_on = models.DateField(null=True, blank=True)
    cbp_reason = models.TextField(blank=True, db_default="")
    reason = models.ForeignKey(
        RejectionReason, null=True, blank=True, on_delete=models.SET_NULL, db_index=False, db_constraint=False
    )
    refile_allowed = models.BooleanField(default=False, db_default=False)
    result_report = models.ForeignKey(
        CbpReport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    principal_refunded = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    interest_refunded = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    refunded_on = models.DateField(null=True, blank=True)
    refund_status = models.CharField(
        max_length=20, choices=RefundStatus.choices, blank=True, db_default=RefundStatus.NONE
    )
    refund_status_on = models.DateField(null=True, blank=True)
    refund_note = models.CharField(max_length=200, blank=True, db_default="")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["entry_number"]
        constraints = [
            # The ledger's promise, kept by the database whatever the code does: one live row per entry.
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(status__in=["pending", "accepted"]),
                name="one_live_declaration_per_entry",
            ),
            models.UniqueConstraint(fields=["declaration", "entry"], name="entry_once_per_declaration"),
        ]
        indexes = [models.Index(fields=["client", "entry_number"])]
        verbose_name_plural = "declaration entries"

    def __str__(self) -> str:
        return f"{self.entry_number} in {self.declaration}"

    @property
    def next_action(self) -> str:
        if self.status != self.Status.REJECTED:
            return ""
        if self.reason is not None:
            return self.reason.next_action
        return UNKNOWN_REASON_ACTION


UNKNOWN_REASON_ACTION = (
    "CBP's reason is not in the rejection table: review the entry and CBP's message, then allow re-filing "
    "once it is fixed (a manager can add the reason to the table)."
)


class CbpReportProblem(TenantModel):
    """A row of a CBP report that could not be matched to the ledger (or read), with the reason."""

    # A report can have many unmatched rows: one composite index serves the report page and its CSV.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    report = models.ForeignKey(CbpReport, on_delete=models.CASCADE, related_name="problems", db_index=False)
    row_number = models.PositiveIntegerField()
    entry_number = models.CharField(max_length=64, blank=True)
    claim_number = models.CharField(max_length=64, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["row_number", "id"]
        indexes = [models.Index(fields=["report", "row_number"])]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"
