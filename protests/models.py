"""Protests (CBP Form 19): drafts the portal prepares, the filing, CBP's decision per entry, the court deadline.

ProtestEntry is the one place that says an entry is under a protest. The database keeps the rule that matters:
an entry is in at most one live (filed, not withdrawn) protest at a time (19 U.S.C. 1514(c)(1)).
"""

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from clients.models import Client, Job, TenantModel
from domain.protests.drafting import CATEGORY_LABELS, URGENT_DAYS
from refunds.models import DeclarationEntry


class Category(models.TextChoices):
    IEEPA = "ieepa", CATEGORY_LABELS["ieepa"]
    SECTION_122 = "section_122", CATEGORY_LABELS["section_122"]


class ProtestTemplate(models.Model):
    """The words of a category's objection, edited by staff managers (brokerage-wide, like the letters).

    Copied into each draft when it is built, so a later edit does not change a protest already prepared.
    """

    category = models.CharField(max_length=20, choices=Category.choices, unique=True)
    decision_protested = models.TextField(help_text="The decision protested (19 CFR 174.13(a)(6)).")
    objection = models.TextField(help_text="The nature of the objection (174.13(a)(7)).")
    justification = models.TextField(help_text="The reasons for the objection (174.13(a)(7)).")
    relief = models.TextField(help_text="The relief sought.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category"]

    def __str__(self) -> str:
        return self.get_category_display()

    def as_objection(self) -> dict:
        return {
            "category": self.category,
            "label": self.get_category_display(),
            "decision_protested": self.decision_protested,
            "objection": self.objection,
            "justification": self.justification,
            "relief": self.relief,
        }


class Protest(TenantModel):
    """One protest: one category, one importer number, one port of entry; a draft until its filing is recorded."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FILED = "filed", "Filed, pending"
        ALLOWED = "allowed", "Allowed"
        PARTIALLY_ALLOWED = "partially_allowed", "Partially allowed"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"
        DISCARDED = "discarded", "Discarded"

    class Filer(models.TextChoices):
        BROKER = "broker", "The brokerage (agent under power of attorney)"
        IMPORTER = "importer", "The importer itself"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    category = models.CharField(max_length=20, choices=Category.choices)
    importer_number = models.CharField(max_length=20)
    port = models.CharField("port of entry", max_length=4)
    as_of = models.DateField(help_text="The day the draft was built as of (interest is estimated up to it).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    entry_count = models.PositiveIntegerField(default=0)
    duty_total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    section_122_total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    interest_estimate = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    earliest_deadline = models.DateField(null=True, blank=True)
    # 19 CFR 174.13(a): the contents, fixed when the draft is built; staff edit the description.
    protestant_name = models.CharField(max_length=200)
    protestant_address = models.TextField(blank=True)
    protestant_importer_number = models.CharField(max_length=20)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_address = models.TextField(blank=True)
    agent_importer_number = models.CharField(max_length=40, blank=True)
    merchandise_description = models.TextField()
    objections = models.JSONField(default=list, help_text="One objection per category, distinctly.")
    drawback_declaration = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The filing, recorded after the protest was filed in ACE's Protest module (or on paper at the port).
    protest_number = models.CharField(max_length=40, blank=True)
    filed_on = models.DateField(null=True, blank=True)
    filed_by_party = models.CharField(max_length=10, choices=Filer.choices, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filed_at = models.DateTimeField(null=True, blank=True)
    accelerated_requested_on = models.DateField(null=True, blank=True)
    decided_on = models.DateField(null=True, blank=True)
    expected_refund = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Once decided: the duty of allowed entries plus the amounts allowed on partially allowed ones.",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["earliest_deadline", "-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "protest_number"],
                condition=~models.Q(protest_number=""),
                name="one_protest_per_protest_number",
            )
        ]
        indexes = [models.Index(fields=["client", "status"])]

    def __str__(self) -> str:
        if self.protest_number:
            return f"Protest {self.protest_number}"
        return f"Draft protest, port {self.port}, {self.importer_number}"

    def get_absolute_url(self) -> str:
        return reverse(
            "protests:detail", kwargs={"client_slug": self.client.slug, "public_id": self.public_id}
        )

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_PROTEST_STATUSES

    @property
    def days_left(self) -> int | None:
        if self.earliest_deadline is None:
            return None
        return (self.earliest_deadline - timezone.localdate()).days

    @property
    def urgent(self) -> bool:
        """A draft with an entry fewer than 7 days from its protest deadline (as of today)."""
        days = self.days_left
        return self.is_draft and days is not None and days < URGENT_DAYS

    @property
    def deemed_denied_on(self) -> date | None:
        from domain.protests.rules import deemed_denial_date

        if self.accelerated_requested_on is None:
            return None
        return deemed_denial_date(self.accelerated_requested_on)


LIVE_PROTEST_STATUSES = (
    Protest.Status.FILED,
    Protest.Status.ALLOWED,
    Protest.Status.PARTIALLY_ALLOWED,
    Protest.Status.DENIED,
)


RefundStatus = DeclarationEntry.RefundStatus


class ProtestEntry(TenantModel):
    """One entry in one protest, with its facts as drafted and CBP's decision on it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "In a draft"
        PENDING = "pending", "Filed, pending"
        ALLOWED = "allowed", "Allowed"
        PARTIALLY_ALLOWED = "partially_allowed", "Partially allowed"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"
        RELEASED = "released", "Released (draft discarded)"

    class Source(models.TextChoices):
        NONE = "", "—"
        STAFF = "staff", "Recorded by staff"
        REPORT = "report", "CBP's decision list"
        DEEMED = "deemed", "Deemed denied (accelerated disposition)"

    LIVE = ("pending", "allowed", "partially_allowed", "denied")
    DECIDED = ("allowed", "partially_allowed", "denied")
    REFUNDABLE = ("allowed", "partially_allowed")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    protest = models.ForeignKey(Protest, on_delete=models.CASCADE, related_name="lines", db_index=False)
    # RESTRICT: an entry that was protested keeps its protests; deleting the whole client still works.
    entry = models.ForeignKey("entries.Entry", on_delete=models.RESTRICT, related_name="protests")
    position = models.PositiveIntegerField(default=0)
    entry_number = models.CharField(max_length=11)
    entry_date = models.DateField(null=True, blank=True)
    entry_summary_date = models.DateField(null=True, blank=True)
    liquidation_date = models.DateField()
    protest_deadline = models.DateField()
    duty = models.DecimalField(max_digits=18, decimal_places=2)
    section_122_duty = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    interest_estimate = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    decided_on = models.DateField(null=True, blank=True)
    decision_source = models.CharField(max_length=10, choices=Source.choices, blank=True, default="")
    allowed_amount = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Partially allowed: the part of the protested duty CBP allowed (0 < allowed < claimed).",
    )
    court_deadline = models.DateField(
        null=True, blank=True, help_text="180 days after the denial (28 U.S.C. 2636(a))."
    )
    # The refund of an allowed entry, from CBP's ES-022 / REV-603 / REV-613 reports, as on the CAPE ledger's rows
    # (refunds.ledgers; registered in protests.apps).
    principal_refunded = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    interest_refunded = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    refunded_on = models.DateField(null=True, blank=True)
    refund_status = models.CharField(
        max_length=20, choices=RefundStatus.choices, blank=True, default="", db_default=""
    )
    refund_status_on = models.DateField(null=True, blank=True)
    refund_note = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            # The statute's promise, kept by the database whatever the code does: one live protest per entry.
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(status__in=["pending", "allowed", "partially_allowed", "denied"]),
                name="one_live_protest_per_entry",
            ),
            models.UniqueConstraint(fields=["protest", "entry"], name="entry_once_per_protest"),
        ]
        indexes = [
            models.Index(fields=["protest", "position"]),
            models.Index(fields=["client", "entry_number"]),
        ]
        verbose_name_plural = "protest entries"

    def __str__(self) -> str:
        return f"{self.entry_number} in {self.protest}"

    @property
    def claimed(self) -> Decimal:
        """The duty this entry's protest asks back (IEEPA, and Section 122 when it is a second objection)."""
        return self.duty + self.section_122_duty


def _pdf_path(instance: "ProtestDocument", filename: str) -> str:
    return f"protests/{instance.client_id}/{instance.public_id}.pdf"


class ProtestDocument(Job):
    """The Form 19-style PDF of a protest, rendered by a Celery task into this row (like the letters)."""

    protest = models.ForeignKey(Protest, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(upload_to=_pdf_path, blank=True, max_length=255)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return f"PDF of {self.protest}"


class ProtestAuthorization(TenantModel):
    """A client admin's authorization for the brokerage to file protests on the client's behalf; revocable.

    Kept apart from the CAPE filing authorization (its own words, its own checklist item): a protest is a
    legal filing in the importer's name that CAPE declarations are not. Records who, when, from which address,
    for which importer numbers, and the words they agreed to.
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

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(revoked_at=None),
                name="one_active_protest_authorization",
            )
        ]

    def __str__(self) -> str:
        return f"Protest authorization by {self.granted_by_email}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def _decision_list_path(instance: "ProtestDecisionList", filename: str) -> str:
    return f"protests/{instance.client_id}/decisions/{instance.public_id}.upload"


class ProtestDecisionList(Job):
    """CBP's decision list for one protest, uploaded by staff and applied by a Celery task on the imports queue
    (like the CBP reports): the page shows this row, its progress, and the rows that were not applied."""

    protest = models.ForeignKey(Protest, on_delete=models.CASCADE, related_name="decision_lists")
    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to=_decision_list_path, max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    # [row number or null, entry number, reason] per row not applied; a decision list is one protest's entries.
    problems = models.JSONField(default=list, blank=True)

    class Meta(Job.Meta):
        pass

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse(
            "protests:decision_list_status",
            kwargs={
                "client_slug": self.client.slug,
                "public_id": self.protest.public_id,
                "list_id": self.public_id,
            },
        )
