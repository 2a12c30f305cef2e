"""ACE ES-003 uploads, and the entries and tariff lines they carry."""

from decimal import Decimal

from django.db import models
from django.urls import reverse

from clients.models import Client, Job, JobFields, TenantModel
from domain.vocabulary import PATH_LABELS, PROGRAM_LABELS, REMINDED_DEADLINE_KINDS


class EntryReport(Job):
    """One uploaded ES-003 file and its import, shown to the user as a job row."""

    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="reports/%Y/%m/", max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=8, blank=True)
    reprocess_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_read = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    entries_created = models.PositiveIntegerField(default=0)
    entries_updated = models.PositiveIntegerField(default=0)
    entries_unchanged = models.PositiveIntegerField(default=0)
    entries_rejected = models.PositiveIntegerField(default=0)
    # Entries the report held fewer lines of than are stored (a cut-off or partial export): kept as they
    # were and listed for review (docs/INGESTION.md, "Fewer lines"); the numbers of the first KEPT_LISTED.
    entries_kept = models.PositiveIntegerField(default=0)
    kept_entries = models.JSONField(default=list, blank=True)
    # The uploader said this report has its entries whole: an entry with fewer lines replaces the stored one.
    replaces_entries = models.BooleanField(default=False)
    has_liquidation_columns = models.BooleanField(null=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["client", "sha256"])]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse(
            "entries:report", kwargs={"client_slug": self.client.slug, "public_id": self.public_id}
        )

    KEPT_LISTED = 200

    @property
    def entries_stored(self) -> int:
        return self.entries_created + self.entries_updated + self.entries_unchanged + self.entries_kept


class RowRejection(TenantModel):
    """A row of an upload that was not imported, with the reason in words a customs clerk uses."""

    report = models.ForeignKey(EntryReport, on_delete=models.CASCADE, related_name="rejections")
    row_number = models.PositiveIntegerField()
    entry_number = models.CharField(max_length=64, blank=True)
    column = models.CharField(max_length=100, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["row_number", "id"]
        indexes = [models.Index(fields=["report", "row_number"])]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


# One source: the paths and their labels are domain.vocabulary's; these are the model's choices of them.
RefundPath = models.TextChoices(
    "RefundPath", [(path.name, (path.value, label)) for path, label in PATH_LABELS.items()]
)


class Entry(TenantModel):
    """A CBP entry summary of a client: facts from the latest report, and its classification."""

    # No index of its own: one_entry_per_client and the (client, ...) indexes all begin with client_id,
    # and every index on this table is paid for by each imported entry.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    entry_number = models.CharField(max_length=11)
    entry_type = models.CharField(max_length=2, blank=True)
    importer_number = models.CharField(max_length=20, blank=True)
    port = models.CharField(max_length=4, blank=True)
    entry_date = models.DateField(null=True, blank=True)
    entry_summary_date = models.DateField(null=True, blank=True)
    # None: the report had no Liquidation Status column, so the status is unknown (needs data).
    liquidation_status = models.CharField(max_length=20, null=True, blank=True)
    liquidation_date = models.DateField(null=True, blank=True)
    # Flags from the report's optional Y/N columns ...
    drawback = models.BooleanField(default=False)
    protest = models.BooleanField(default=False)
    reconciliation = models.BooleanField(default=False)
    # ... and the same flags set by staff in the portal (kept apart so a re-import cannot clear them).
    marked_drawback = models.BooleanField(default=False, db_default=False)
    marked_protest = models.BooleanField(default=False, db_default=False)
    marked_reconciliation = models.BooleanField(default=False, db_default=False)
    # Staff-only marks (rule set 2026.2; no report column carries them): the surety paid the IEEPA duty,
    # and the Type 09 reconciliation entry of a flagged entry has been filed.
    marked_surety_paid = models.BooleanField(default=False, db_default=False)
    marked_reconciliation_filed = models.BooleanField(default=False, db_default=False)
    flag_note = models.TextField(blank=True, db_default="")
    # Kept by the protests app: the entry is in a live protest filed through the portal (it counts as a protest
    # on file everywhere the flags do), and the court deadline after that protest was denied.
    protest_filed = models.BooleanField(default=False, db_default=False)
    court_deadline = models.DateField(null=True, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    total_duty = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    goods_value = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    ieepa_duty = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    section_122_duty = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    # Two independent order-free sums of per-row hashes: equal sums mean the report brought no change.
    content_hash_a = models.BigIntegerField(default=0)
    content_hash_b = models.BigIntegerField(default=0)
    last_report = models.ForeignKey(
        EntryReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Classification, as of classified_as_of under rule set rule_set_version.
    refund_path = models.CharField(max_length=20, choices=RefundPath.choices, blank=True)
    exclusion_reason = models.CharField(max_length=40, blank=True)
    projected_liquidation = models.DateField(null=True, blank=True)
    cape_window_closes = models.DateField(null=True, blank=True)
    protest_deadline = models.DateField(null=True, blank=True)
    next_deadline = models.DateField(null=True, blank=True)
    next_deadline_kind = models.CharField(max_length=40, blank=True)
    explanation = models.TextField(blank=True)
    rule_set_version = models.CharField(max_length=20, blank=True)
    registry_version = models.CharField(max_length=40, blank=True, db_default="")
    classified_as_of = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "entry_number"], name="one_entry_per_client")
        ]
        indexes = [
            models.Index(fields=["client", "refund_path"]),
            models.Index(fields=["client", "next_deadline"]),
            # The deadline alerts of a manager's whole caseload, nearest first: its first page reads its 100
            # entries in order, not every entry due on its first day (thousands, over every client).
            models.Index(
                fields=["next_deadline", "entry_number"],
                condition=models.Q(next_deadline_kind__in=REMINDED_DEADLINE_KINDS),
                name="entries_due_by_day",
            ),
        ]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        from domain.entry_numbers import display

        return display(self.entry_number)

    def get_absolute_url(self) -> str:
        return reverse(
            "entries:detail", kwargs={"client_slug": self.client.slug, "entry_number": self.entry_number}
        )

    @property
    def next_deadline_label(self) -> str:
        from domain.vocabulary import DEADLINE_LABELS

        return DEADLINE_LABELS.get(self.next_deadline_kind, self.next_deadline_kind)

    @property
    def is_drawback(self) -> bool:
        return self.drawback or self.marked_drawback

    @property
    def is_protest(self) -> bool:
        return self.protest or self.marked_protest or self.protest_filed

    @property
    def is_reconciliation(self) -> bool:
        return self.reconciliation or self.marked_reconciliation

    @property
    def collection_warning(self) -> str:
        """Staff's warning when a duty falls outside its program's collection period ("" when none)."""
        from domain.classification import collection_warning

        return collection_warning(
            entry_date=self.entry_date or self.entry_summary_date,
            ieepa_duty=self.ieepa_duty,
            section_122_duty=self.section_122_duty,
        )


class PathFigures(TenantModel):
    """A client's entries on one refund path: how many, and their IEEPA duty (the caseload dashboard's sums).

    Kept by entries.figures.figures_refresh, which every writer of entries calls for the client it changed
    (one grouped query over that client's entries), and refreshed for every client by the daily job.
    """

    refund_path = models.CharField(max_length=20, blank=True)
    entries = models.PositiveIntegerField(default=0)
    ieepa = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "refund_path"], name="one_path_figures_per_client")
        ]
        verbose_name_plural = "path figures"


class DeadlineFigures(TenantModel):
    """A client's entries whose next deadline of one kind (CAPE window, protest, court) falls on one day.

    How many, and their IEEPA duty. The dates are absolute, so the rows stay right as days pass; what is
    "within 30 days" or "next" (of any kind, or the nearest protest deadline) is decided when they are
    read, one index probe per client. Kept like PathFigures.
    """

    day = models.DateField()
    # The entries' next_deadline_kind: one of domain.vocabulary.REMINDED_DEADLINE_KINDS.
    kind = models.CharField(max_length=40, db_default="")
    entries = models.PositiveIntegerField(default=0)
    ieepa = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            # Also the index of "the client's nearest deadline of this kind from today on".
            models.UniqueConstraint(
                fields=["client", "kind", "day"], name="one_deadline_figures_per_client_kind_day"
            )
        ]
        indexes = [
            models.Index(fields=["day"]),
            models.Index(fields=["client", "day"], name="deadline_figures_client_day"),  # nearest of any kind
        ]
        verbose_name_plural = "deadline figures"


class BrokerageDeadlineFigures(models.Model):
    """Every client's DeadlineFigures summed per kind and day: the manager's caseload chart, totals and alerts.

    A manager's caseload is every client: summing their stored days (hundreds of thousands of rows) on each
    page took most of its time. Not tenant-owned (sums over clients, read by broker managers only). Kept
    exact without making concurrent imports wait on the same days: figures_refresh appends each change as
    BrokerageDeadlineChange rows, readers add the changes not yet folded in (entries.figures), and
    fold_brokerage_changes folds them in every few minutes; the nightly refresh rebuilds the sums whole.
    """

    kind = models.CharField(max_length=40)
    day = models.DateField()
    entries = models.IntegerField(default=0)
    ieepa = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "day"], name="one_brokerage_figures_per_kind_day")
        ]
        verbose_name_plural = "brokerage deadline figures"

    def __str__(self) -> str:
        return f"{self.kind} {self.day}: {self.entries} entries"


class BrokerageDeadlineChange(models.Model):
    """A change of one client's DeadlineFigures on one kind and day (signed), not yet in BrokerageDeadlineFigures.

    Only ever inserted by a refresh and deleted by the fold: no two transactions wait for each other on it.
    """

    kind = models.CharField(max_length=40)
    day = models.DateField()
    entries = models.IntegerField()
    ieepa = models.DecimalField(max_digits=18, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.kind} {self.day}: {self.entries:+} entries"


class LedgerFigures(TenantModel):
    """A client's CAPE ledger in the caseload dashboard's figures: filed, accepted, refunded, open rejections.

    Kept by entries.figures.figures_refresh(ledger=True), which the refunds services call when they change
    the ledger; one row per client (none before the first declaration).
    """

    filed = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    refunded = models.PositiveIntegerField(default=0)
    refunded_principal = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    open_rejections = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client"], name="one_ledger_figures_per_client")]
        verbose_name_plural = "ledger figures"


class EntryLine(TenantModel):
    """One tariff ordinal of an entry summary line (the commodity row, or a Chapter 99 row).

    No foreign-key constraints in the database (db_constraint=False): checking one costs about 4 µs a
    line, a fifth of a million-row import. Lines are written only by the import's merge, which checks
    set-based that every entry it wrote lines for is stored as the client's; the ORM's cascades delete
    an entry's or a client's lines. Migration 0005_lines_without_fk has the figures.
    """

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    entry = models.ForeignKey(
        Entry, on_delete=models.CASCADE, related_name="lines", db_index=False, db_constraint=False
    )
    row_number = models.PositiveIntegerField(default=0)
    line_number = models.PositiveIntegerField(null=True, blank=True)
    ordinal = models.PositiveIntegerField(null=True, blank=True)
    hts = models.CharField(max_length=10, blank=True)
    goods_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    duty = models.DecimalField(max_digits=18, decimal_places=2)
    country_of_origin = models.CharField(max_length=2, blank=True)
    program = models.CharField(
        max_length=20, blank=True
    )  # ieepa, section_122 or "" (registry at import time)

    class Meta:
        ordering = ["line_number", "ordinal", "id"]
        # One index serves an entry's lines (the detail page, cascades) and the composite foreign key's
        # checks; a client's lines are reached through its entries (entries_recompute_programs).
        indexes = [models.Index(fields=["entry", "client"], name="line_entry_client")]

    def __str__(self) -> str:
        return f"{self.line_number}.{self.ordinal} {self.hts}"


class EntryHistory(TenantModel):
    """A change of an entry's path, next deadline or flags, with the date it took effect."""

    class Field(models.TextChoices):
        PATH = "refund_path", "Refund path"
        DEADLINE = "next_deadline", "Next deadline"
        FLAG = "flag", "Flag"
        LINES = "lines", "Lines and duty"

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="history")
    field = models.CharField(max_length=20, choices=Field.choices)
    from_value = models.CharField(max_length=60, blank=True)
    to_value = models.CharField(max_length=60, blank=True)
    effective_on = models.DateField()
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        "clients.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_on", "-id"]
        indexes = [models.Index(fields=["client", "effective_on"])]
        verbose_name_plural = "entry history"

    def __str__(self) -> str:
        return f"{self.entry}: {self.field} {self.from_value} → {self.to_value}"


class RuleChangeNotice(TenantModel):
    """What a new rule set changed for one client: the entries whose refund path moved, told once.

    One per client and rule-set version (the unique constraint is what makes a second run send nothing).
    `changes` holds one item per entry: entry_number, from_path, to_path, reason, next_deadline (ISO or ""),
    next_deadline_kind.
    """

    rule_set_version = models.CharField(max_length=20)
    previous_versions = models.CharField(max_length=60, blank=True)
    as_of = models.DateField()
    changes = models.JSONField(default=list)
    emailed_to = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "rule_set_version"], name="one_rule_notice_per_version")
        ]

    def __str__(self) -> str:
        return f"rule set {self.rule_set_version}: {len(self.changes)} entries changed path"


class Chapter99Rule(models.Model):
    """A Chapter 99 number range that decides the program of a duty (the registry, as data).

    Not tenant data: one registry for the brokerage. Staff managers edit it in the admin; a change
    bumps the registry version and re-classifies the entries it affects.
    """

    Program = models.TextChoices(
        "Program", [(program.name, (program.value, label)) for program, label in PROGRAM_LABELS.items()]
    )

    program = models.CharField(max_length=20, choices=Program.choices)
    start = models.CharField(
        max_length=10, help_text="First HTS number of the range, digits only (e.g. 99030100)."
    )
    end = models.CharField(max_length=10, help_text="Last HTS number of the range, inclusive, digits only.")
    carries_duty = models.BooleanField(
        default=True, help_text="False for numbers that only declare an exemption."
    )
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=300)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        verbose_name = "Chapter 99 rule"

    def __str__(self) -> str:
        return f"{self.start}–{self.end} {self.get_program_display()}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from domain import chapter99

        try:  # the pure module's own checks (digits, order, dates) are the single source of truth
            chapter99.Chapter99Rule(
                program=self.program,
                start=self.start,
                end=self.end,
                carries_duty=self.carries_duty,
                effective_from=self.effective_from,
                effective_to=self.effective_to,
                source=self.source,
            )
        except (ValueError, TypeError) as error:
            raise ValidationError(str(error)) from error


class BrokerReport(JobFields):
    """A broker-wide ES-003 report a staff member uploads; its rows are routed to clients by importer number.

    Not tenant-owned: it spans the clients the uploader may see. Each client's share becomes an ordinary
    EntryReport of that client (so its import, errors and history are the client's own).
    """

    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="broker-reports/%Y/%m/", max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_unmatched = models.PositiveIntegerField(default=0)
    # One item per client: {"client_id", "slug", "name", "rows", "report": public_id of its EntryReport}.
    routed = models.JSONField(default=list, blank=True)
    unmatched_file = models.FileField(upload_to="broker-reports/%Y/%m/", max_length=255, blank=True)

    class Meta(JobFields.Meta):
        pass

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("staff:broker_report", kwargs={"public_id": self.public_id})
