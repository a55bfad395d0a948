"""Invoice records: the company's own (`Invoice`) and what the tax system shows (`TaxRecord`)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F, Q, Value
from django.utils.translation import gettext_lazy as _

from outage_portal.fields import EncryptedTextField
from outage_portal.jobs import LeasedJob, LeaseQuerySet
from outage_portal.models import Company, CompanyScopedQuerySet


class Direction(models.TextChoices):
    ISSUED = "issued", _("Issued (sales)")
    RECEIVED = "received", _("Received (purchases)")


class InvoiceType(models.TextChoices):
    """Every kind of invoice the national e-invoice platform exports, issued and received.

    The stored values are ours; the platform's own type codes are in `PLATFORM_CODES`, and the labels
    a file may carry (the platform's, its older names, common tools') are in `invoices.invoice_types`.
    """

    SPECIAL = "special", _("Special VAT invoice")
    ORDINARY = "ordinary", _("Ordinary VAT invoice")
    E_SPECIAL = "e_special", _("E-special VAT invoice")
    E_ORDINARY = "e_ordinary", _("E-ordinary VAT invoice")
    ROLL = "roll", _("Ordinary VAT invoice (roll)")
    TOLL = "toll", _("E-ordinary VAT invoice (toll)")
    MOTOR_VEHICLE = "motor_vehicle", _("Motor vehicle sales invoice")
    USED_VEHICLE = "used_vehicle", _("Used vehicle sales invoice")
    DIGITAL_SPECIAL = "digital_special", _("Digital special invoice (数电专票)")
    DIGITAL_ORDINARY = "digital_ordinary", _("Digital ordinary invoice (数电普票)")
    DIGITAL_MOTOR_VEHICLE = "digital_vehicle", _("Digital motor vehicle sales invoice")
    DIGITAL_USED_VEHICLE = "digital_used_vehicle", _("Digital used vehicle sales invoice")
    DIGITAL_PAPER_SPECIAL = "digital_paper_special", _("Digital paper special invoice")
    DIGITAL_PAPER_ORDINARY = "digital_paper_ordinary", _("Digital paper ordinary invoice")
    RAILWAY_TICKET = "railway", _("Digital railway e-ticket")
    AIR_ITINERARY = "air_itinerary", _("Digital air e-ticket itinerary")


# The platform's type codes (发票种类代码), as its exports and verification service write them.
PLATFORM_CODES: dict[str, str] = {
    InvoiceType.SPECIAL: "01",
    InvoiceType.MOTOR_VEHICLE: "03",
    InvoiceType.ORDINARY: "04",
    InvoiceType.E_SPECIAL: "08",
    InvoiceType.E_ORDINARY: "10",
    InvoiceType.ROLL: "11",
    InvoiceType.TOLL: "14",
    InvoiceType.USED_VEHICLE: "15",
    InvoiceType.RAILWAY_TICKET: "51",
    InvoiceType.AIR_ITINERARY: "61",
    InvoiceType.DIGITAL_SPECIAL: "81",
    InvoiceType.DIGITAL_ORDINARY: "82",
    InvoiceType.DIGITAL_MOTOR_VEHICLE: "83",
    InvoiceType.DIGITAL_USED_VEHICLE: "84",
    InvoiceType.DIGITAL_PAPER_SPECIAL: "85",
    InvoiceType.DIGITAL_PAPER_ORDINARY: "86",
}
# Travel tickets name the carrier, and the platform's export may leave its taxpayer ID empty.
SELLER_ID_OPTIONAL_TYPES = frozenset({InvoiceType.RAILWAY_TICKET, InvoiceType.AIR_ITINERARY})
# An itinerary's total also carries the civil aviation development fund, which bears no VAT.
TOTAL_MAY_EXCEED_TYPES = frozenset({InvoiceType.AIR_ITINERARY})


class InvoiceStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    VOIDED = "voided", _("Voided")
    RED_LETTER = "red_letter", _("Red-letter")


class ImportKind(models.TextChoices):
    BACKUP = "backup", _("Local backup")
    TAX_EXPORT = "tax_export", _("Tax-system export")
    TAX_FETCH = "tax_fetch", _("Tax-system fetch")
    ORDERS = "orders", _("Orders and contracts")


class BatchState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    # Read to the end but nothing stored: every row was rejected, or the file held no invoice rows.
    REJECTED = "rejected", _("All rows rejected")
    EMPTY = "empty", _("No invoices in the file")
    FAILED = "failed", _("Failed")


BATCH_IN_PROGRESS_STATES = (BatchState.QUEUED, BatchState.RUNNING)


class Integrity(models.TextChoices):
    UNCHECKED = "unchecked", _("Not yet checked")
    INTACT = "intact", _("Intact")
    CHANGED = "changed", _("Changed since import")
    MISSING = "missing", _("Missing")


class ImportBatchQuerySet(LeaseQuerySet, CompanyScopedQuerySet):
    pass


class ImportBatch(LeasedJob):
    """One uploaded or fetched file, kept as it came, and what importing it did.

    A worker claims it (`outage_portal.jobs`) before importing; only that claim may finish it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="import_batches")
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.ISSUED)
    state = models.CharField(_("state"), max_length=10, choices=BatchState.choices, default=BatchState.QUEUED)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    # Where the original is kept in the "private" storage, to re-import or re-hash it.
    storage_name = models.CharField(max_length=255, blank=True)
    # Progress while a big file is parsed in the background; polled by the batch page.
    rows_processed = models.PositiveIntegerField(_("rows processed"), default=0)
    progress_percent = models.PositiveSmallIntegerField(_("progress"), default=0)
    # A backup is only worth what a restore proves: the periodic check re-hashes the kept original.
    integrity = models.CharField(
        _("original file"), max_length=10, choices=Integrity.choices, default=Integrity.UNCHECKED
    )
    integrity_checked_at = models.DateTimeField(_("original checked at"), null=True, blank=True)
    # The issue dates of the invoices this batch created or updated (empty when it wrote none): the
    # period reconciliation re-checks after it.
    issued_from = models.DateField(_("issued from"), null=True, blank=True)
    issued_to = models.DateField(_("issued to"), null=True, blank=True)
    # The file's own header for each field it had ({"invoice_type": "发票票种", ...}): the report
    # names a rejected row's column the way the file does.
    columns = models.JSONField(_("columns"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["company", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def in_progress(self) -> bool:
        """Queued or running: its page follows the progress instead of showing a report."""
        return self.state in BATCH_IN_PROGRESS_STATES

    def column_label(self, field: str) -> str:
        """A rejection's column as the file named it, else as the portal names the field."""
        if field in self.columns:
            return self.columns[field]
        if field == "invoice_number" and "digital_number" in self.columns:  # a 数电 file's only number
            return self.columns["digital_number"]
        try:
            return str(Invoice._meta.get_field(field).verbose_name)
        except FieldDoesNotExist:  # a column name stored by an older version
            return field


class InvoiceFields(models.Model):
    """Fields an invoice has wherever it is recorded. `invoice_key` is the normalised match key:
    the 20-digit 数电 number, else invoice code + number."""

    # No index of its own: every lookup by company is served by the (company, direction, invoice_key)
    # unique index or the period index, which lead with company; another would only slow big imports.
    # No database foreign key either, here or on `batch`: PostgreSQL checks one per inserted row (a
    # trigger and a row lock each), which for a million-row import costs more than reading the file.
    # Every writer takes the company from the batch or request it already holds, and deleting a
    # company or batch still cascades or nulls through Django.
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    invoice_key = models.CharField(_("invoice key"), max_length=32)
    invoice_code = models.CharField(_("invoice code"), max_length=12, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=20, blank=True)
    digital_number = models.CharField(_("数电 invoice number"), max_length=20, blank=True)
    issue_date = models.DateField(_("issue date"))
    issued_at = models.DateTimeField(_("issue time"), null=True, blank=True)
    seller_tax_id = models.CharField(_("seller tax ID"), max_length=20)
    seller_name = models.CharField(_("seller name"), max_length=200, blank=True)
    buyer_tax_id = models.CharField(_("buyer tax ID"), max_length=20, blank=True)
    buyer_name = models.CharField(_("buyer name"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=16, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    invoice_type = models.CharField(_("type"), max_length=24, choices=InvoiceType.choices)
    status = models.CharField(_("status"), max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.NORMAL)
    # The batch that last wrote the row (its source). Unindexed: nothing looks rows up by batch (the
    # batch records the span of issue dates it wrote), and an index on a value shared by a million
    # rows costs an import nearly two seconds.
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.invoice_key


def _invoice_constraints(prefix: str) -> list:
    return [
        models.UniqueConstraint(
            fields=["company", "direction", "invoice_key"],
            name=f"{prefix}_unique_key",
            violation_error_message=_("This company already has an invoice with this number."),
        ),
        # Within half a cent rather than "=": SQLite compares decimals as floats (200.10 + 26.01 is
        # not 226.11 there); with two decimal places this is exact equality on PostgreSQL.
        models.CheckConstraint(
            condition=Q(
                total__gte=F("amount") + F("tax") - Value(Decimal("0.005")),
                total__lte=F("amount") + F("tax") + Value(Decimal("0.005")),
            ),
            name=f"{prefix}_total_is_amount_plus_tax",
            violation_error_message=_("The total must equal amount plus tax."),
        ),
        models.CheckConstraint(
            condition=~Q(invoice_key=""),
            name=f"{prefix}_key_present",
            violation_error_message=_("An invoice needs a 数电 number or an invoice code and number."),
        ),
    ]


# The order invoice and tax-record lists show: newest day first, and within a day the latest number
# first. All descending, so that an ascending index serves it read backwards: imports arrive in date
# and number order and then append to such an index (dense pages), where a descending date column took
# them in the middle of the index and left its pages half full (twice the size, a dearer import).
RECORD_LIST_ORDER = ("-issue_date", "-invoice_key", "-id")


class Invoice(InvoiceFields):
    """One invoice as the company's own records hold it (from a backup import or entered by hand)."""

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = RECORD_LIST_ORDER
        constraints = _invoice_constraints("invoice")
        indexes = [
            # A period's invoices, carrying what reconciliation's possible-duplicate check groups by, so
            # that check reads this index alone. The parties and total are included, not keys: keyed by
            # them, an import's rows landed all over each day's part of the index, and that index cost a
            # million-row import 2.5 s; keyed by the date alone, rows of a day are added at its end.
            models.Index(
                fields=["company", "direction", "issue_date"],
                include=["seller_tax_id", "buyer_tax_id", "total"],
                name="invoice_period",
            ),
            # The invoice list's order within a company (RECORD_LIST_ORDER, read backwards), ending in
            # the id, so that a late page skips rows in this index alone (outage_portal.pages.DeferredPaginator).
            models.Index(fields=["company", "issue_date", "invoice_key", "id"], name="invoice_list"),
        ]


class TaxRecord(InvoiceFields):
    """One invoice as the tax system shows it, with when it was last seen there."""

    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        verbose_name = _("tax-system record")
        verbose_name_plural = _("tax-system records")
        ordering = RECORD_LIST_ORDER
        constraints = _invoice_constraints("taxrecord")
        indexes = [
            models.Index(fields=["company", "direction", "issue_date"], name="taxrecord_period"),
            models.Index(fields=["company", "seller_tax_id", "buyer_tax_id", "issue_date"], name="taxrecord_parties"),
            # The tax-record API's order, as `invoice_list` is the invoice list's.
            models.Index(fields=["company", "issue_date", "invoice_key", "id"], name="taxrecord_list"),
        ]


class RecordTallyQuerySet(models.QuerySet):
    def total(self, company_ids, *, direction: str | None = None) -> int:
        """How many records these companies hold (in one direction, or both)."""
        tallies = self.filter(company_id__in=company_ids)
        if direction:
            tallies = tallies.filter(direction=direction)
        return tallies.aggregate(records=models.Sum("records"))["records"] or 0


class RecordTally(models.Model):
    """How many records a company holds in one direction, kept by the database itself: triggers on
    the records' table add each INSERT's and DELETE's rows, grouped, once per statement (migration
    0015), so imports through raw SQL, ORM writes, cascades and TRUNCATE all keep it exact. A list
    shows "page N / M" from it instead of counting a million rows.

    A company and direction may have several rows, to be added up: a writer takes one no other
    transaction holds (or adds one), so concurrent imports into one company never wait on each
    other's count. Only as many rows as writers ever overlapped."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    records = models.BigIntegerField(_("records"), default=0)

    objects = RecordTallyQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.company_id} {self.direction}: {self.records}"


class InvoiceTally(RecordTally):
    class Meta:
        verbose_name = _("invoice tally")
        verbose_name_plural = _("invoice tallies")
        indexes = [models.Index(fields=["company", "direction"], name="invoicetally_company")]


class TaxRecordTally(RecordTally):
    class Meta:
        verbose_name = _("tax-system record tally")
        verbose_name_plural = _("tax-system record tallies")
        indexes = [models.Index(fields=["company", "direction"], name="taxrecordtally_company")]


# The tally of each kind of record.
TALLIES: dict[type[InvoiceFields], type[RecordTally]] = {Invoice: InvoiceTally, TaxRecord: TaxRecordTally}


class ImportRejection(models.Model):
    """One row of an imported file that was not stored, and why."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejections")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=40)
    reason = models.CharField(_("reason"), max_length=500)

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["batch", "row", "pk"]

    def __str__(self) -> str:
        return f"{self.row} {self.column}: {self.reason}"

    @property
    def column_label(self) -> str:
        """The column as the file's header names it (`column` holds the field)."""
        return self.batch.column_label(self.column)


# --- tax-system sources ---------------------------------------------------------------
class TaxSourceKind(models.TextChoices):
    UPLOAD = "upload", _("Uploaded platform exports")
    API = "api", _("Tax-system HTTP API")
    SIMULATOR = "simulator", _("Tax-system simulator")


class TaxSource(models.Model):
    """Where a company's tax-system records come from. Without a row, exports are uploaded by hand.

    The credential is stored to authenticate fetches and never shown again after saving.
    """

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="tax_source")
    kind = models.CharField(_("source"), max_length=12, choices=TaxSourceKind.choices, default=TaxSourceKind.UPLOAD)
    base_url = models.URLField(_("base URL"), max_length=300, blank=True)
    # Encrypted at rest (outage_portal.fields); sent only to the scheme, host and port it was entered for.
    credential = EncryptedTextField(_("access token"), max_length=500, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout (seconds)"), default=15)
    max_retries = models.PositiveSmallIntegerField(_("retries"), default=3)
    page_size = models.PositiveSmallIntegerField(_("page size"), default=200)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)
    last_fetch_at = models.DateTimeField(_("last fetch"), null=True, blank=True)
    last_fetch_error = models.TextField(_("last fetch error"), blank=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("tax-system source")
        verbose_name_plural = _("tax-system sources")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=TaxSourceKind.values),
                name="taxsource_kind_valid",
                violation_error_message=_("Unknown source."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=TaxSourceKind.API) | ~Q(base_url=""),
                name="taxsource_api_has_url",
                violation_error_message=_("An API source needs its base URL."),
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1, timeout_seconds__lte=300),
                name="taxsource_timeout_range",
                violation_error_message=_("The timeout must be between 1 and 300 seconds."),
            ),
            models.CheckConstraint(
                condition=Q(max_retries__lte=10),
                name="taxsource_retries_range",
                violation_error_message=_("At most 10 retries."),
            ),
            models.CheckConstraint(
                condition=Q(page_size__gte=10, page_size__lte=500),
                name="taxsource_page_size_range",
                violation_error_message=_("The page size must be between 10 and 500."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company.name}: {self.get_kind_display()}"

    @classmethod
    def for_company(cls, company: Company) -> TaxSource:
        """The company's source (through `company.tax_source`, so a select_related one costs no query),
        or an unsaved default, uploaded exports, when none was configured."""
        try:
            return company.tax_source
        except cls.DoesNotExist:
            return cls(company=company)

    @property
    def is_fetchable(self) -> bool:
        return self.kind in (TaxSourceKind.API, TaxSourceKind.SIMULATOR)

    @property
    def url(self) -> str:
        """Where to fetch from: a simulator source without a URL uses the portal's simulator."""
        if self.kind == TaxSourceKind.SIMULATOR and not self.base_url:
            return settings.TAX_SIMULATOR_URL
        return self.base_url

    @property
    def has_credential(self) -> bool:
        return bool(self.credential)


class InvoiceChange(models.Model):
    """What one import changed on one of our invoices: each compared field's old and new value.

    Written in bulk by the import (one row per changed invoice), so an invoice's history shows which
    backup changed what, and when.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="changes")
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(_("changed at"))
    # {"field": ["old", "new"], ...}, values as text (Decimal and dates printed as stored).
    changes = models.JSONField(_("changes"))

    class Meta:
        verbose_name = _("invoice change")
        verbose_name_plural = _("invoice changes")
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["invoice", "-changed_at"], name="invoicechange_history")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {', '.join(self.changes)}"


class TaxFetchState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


ACTIVE_FETCH_STATES = (TaxFetchState.QUEUED, TaxFetchState.RUNNING)


class TaxFetchQuerySet(LeaseQuerySet, CompanyScopedQuerySet):
    def latest_per_direction(self) -> list[TaxFetch]:
        """The newest of these fetches in each direction: one small indexed query per direction,
        however long the history."""
        newest_first = self.select_related("created_by").order_by("-created_at", "-pk")
        found = []
        for direction in Direction.values:
            latest = newest_first.filter(direction=direction).first()
            if latest is not None:
                found.append(latest)
        return found


class TaxFetch(LeasedJob):
    """One "fetch now" of a company's records in one direction, queued for the worker.

    At most one per company and direction is queued or running (a database constraint), so a second
    click while one is on its way does not start another. The result stays on the row for the page."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="tax_fetches")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    state = models.CharField(_("state"), max_length=10, choices=TaxFetchState.choices, default=TaxFetchState.QUEUED)
    # The language of the person who asked, so the worker words a failure the way they read it.
    language = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rows_received = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(_("failure reason"), blank=True)

    objects = TaxFetchQuerySet.as_manager()

    class Meta:
        verbose_name = _("tax-system fetch")
        verbose_name_plural = _("tax-system fetches")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "direction"],
                condition=Q(state__in=["queued", "running"]),
                name="taxfetch_one_active_per_company_direction",
                violation_error_message=_("A fetch of these invoices is already on its way."),
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=F("period_end")),
                name="taxfetch_period_ordered",
                violation_error_message=_("The period ends before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values),
                name="taxfetch_direction_valid",
                violation_error_message=_("Unknown direction."),
            ),
        ]
        indexes = [models.Index(fields=["company", "-created_at"], name="taxfetch_company_recent")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.direction} {self.period_start}–{self.period_end}: {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_FETCH_STATES


# --- orders and contracts ------------------------------------------------------------------------
class OrderQuerySet(CompanyScopedQuerySet):
    def in_period(self, *, direction: str, start, end):
        return self.filter(direction=direction, order_date__range=(start, end))


class Order(models.Model):
    """One order or contract line from the company's sales or purchase records.

    When an invoice is lost from both our books and the tax system, the order that should have been
    invoiced is the only trace left: reconciliation proposes the invoice it implies.
    `invoice_key` is the invoice the order says it was billed on (optional, normalised like invoices).
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    order_number = models.CharField(_("order or contract number"), max_length=60)
    order_date = models.DateField(_("order date"))
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    counterparty_tax_id = models.CharField(_("counterparty tax ID"), max_length=20, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=16, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    invoice_key = models.CharField(_("invoice number"), max_length=32, blank=True)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order or contract")
        verbose_name_plural = _("orders and contracts")
        ordering = ["-order_date", "order_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "direction", "order_number"],
                name="order_unique_number",
                violation_error_message=_("This company already has an order or contract with this number."),
            ),
            models.CheckConstraint(
                condition=Q(
                    total__gte=F("amount") + F("tax") - Value(Decimal("0.005")),
                    total__lte=F("amount") + F("tax") + Value(Decimal("0.005")),
                ),
                name="order_total_is_amount_plus_tax",
                violation_error_message=_("The total must equal amount plus tax."),
            ),
        ]
        indexes = [
            # Reconciliation reads a period of orders and looks each up among the invoices by
            # counterparty and total; this index hands it the period in one range scan.
            models.Index(fields=["company", "direction", "order_date"], name="order_period"),
        ]

    def __str__(self) -> str:
        return self.order_number
