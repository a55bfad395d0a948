"""A company's own response to an outage (the playbook as a checklist, the scope, a pause on
invoicing) and its requests to customers and suppliers for copies of lost invoices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction, ImportBatch, Invoice
from notices.models import Incident, MaintenanceNotice
from outage_portal.models import Company, CompanyScopedQuerySet
from recovery.models import Gap


class Step(models.TextChoices):
    """The playbook, in the order a company works through it."""

    CONFIRM_SCOPE = "confirm_scope", _("Confirm the scope: invoice types, customers, departments, hours")
    RECORD_START = "record_start", _("Record when the fault started and what it touched")
    PAUSE_INVOICING = "pause_invoicing", _("Pause invoice operations until the scope is clear")
    CHECK_BACKUPS = "check_backups", _("Check the local backups")
    COMPARE = "compare", _("Compare our records with the tax system")
    DUPLICATES = "duplicates", _("Look for duplicates and anomalies")
    REBUILD_FROM_ORDERS = "rebuild_from_orders", _("Rebuild missing invoices from orders and contracts")
    ASK_COUNTERPARTIES = "ask_counterparties", _("Ask customers and suppliers for copies")
    APPLY_REISSUE = "apply_reissue", _("Apply for reissue or hand-issued invoices")
    APPLY_DEFERRED = "apply_deferred", _("Apply for deferred filing if a deadline is at risk")
    REVIEW_BACKUPS = "review_backups", _("Afterwards: review the backup routine")


class ResponseState(models.TextChoices):
    OPEN = "open", _("In progress")
    CLOSED = "closed", _("Closed")


class ResponseQuerySet(CompanyScopedQuerySet):
    pass


class IncidentResponse(models.Model):
    """One company's response to one incident or maintenance window that touches it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("incident")
    )
    notice = models.ForeignKey(
        MaintenanceNotice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("maintenance notice"),
    )
    title = models.CharField(_("title"), max_length=200)
    state = models.CharField(_("state"), max_length=10, choices=ResponseState.choices, default=ResponseState.OPEN)
    fault_started_at = models.DateTimeField(_("fault started"), null=True, blank=True)
    impact = models.TextField(_("what it touched"), blank=True)
    scope_invoice_types = models.JSONField(_("invoice types"), default=list, blank=True)
    scope_customers = models.TextField(_("customers and suppliers"), blank=True)
    scope_departments = models.TextField(_("departments"), blank=True)
    scope_from = models.DateTimeField(_("hours from"), null=True, blank=True)
    scope_to = models.DateTimeField(_("hours to"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident response")
        verbose_name_plural = _("incident responses")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(incident__isnull=False, notice__isnull=True)
                | Q(incident__isnull=True, notice__isnull=False),
                name="response_one_window",
                violation_error_message=_("A response answers exactly one incident or maintenance window."),
            ),
            models.UniqueConstraint(
                fields=["company", "incident"],
                condition=Q(incident__isnull=False),
                name="response_unique_incident",
                violation_error_message=_("This company already responds to this incident."),
            ),
            models.UniqueConstraint(
                fields=["company", "notice"],
                condition=Q(notice__isnull=False),
                name="response_unique_notice",
                violation_error_message=_("This company already responds to this maintenance window."),
            ),
            models.CheckConstraint(
                condition=Q(scope_to__isnull=True)
                | Q(scope_from__isnull=True)
                | Q(scope_to__gte=models.F("scope_from")),
                name="response_scope_hours_order",
                violation_error_message=_("The hours must end after they start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} · {self.title}"

    @property
    def window(self):
        return self.incident or self.notice


class ResponseStep(models.Model):
    """One step of a response's checklist: who ticked it, when, and their note."""

    response = models.ForeignKey(IncidentResponse, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=24, choices=Step.choices)
    position = models.PositiveSmallIntegerField()
    done = models.BooleanField(_("done"), default=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("response step")
        verbose_name_plural = _("response steps")
        ordering = ["response", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "step"],
                name="response_step_once",
                violation_error_message=_("This step is already on the checklist."),
            ),
        ]

    def __str__(self) -> str:
        return self.get_step_display()


class EventKind(models.TextChoices):
    OPENED = "opened", _("Response opened")
    STEP_DONE = "step_done", _("Step done")
    STEP_REOPENED = "step_reopened", _("Step reopened")
    SCOPE = "scope", _("Scope recorded")
    PAUSED = "paused", _("Invoicing paused")
    RESUMED = "resumed", _("Invoicing resumed")
    CLOSED = "closed", _("Response closed")
    REQUEST = "request", _("Counterparty request")


class ResponseEvent(models.Model):
    """The response's timeline: what was done, by whom, when (written with each change)."""

    response = models.ForeignKey(IncidentResponse, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what"), max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("details"), blank=True)

    class Meta:
        verbose_name = _("response event")
        verbose_name_plural = _("response events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class InvoicingPause(models.Model):
    """A company-wide "invoicing paused" state; every member sees it until someone lifts it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    response = models.ForeignKey(
        IncidentResponse, null=True, blank=True, on_delete=models.SET_NULL, related_name="pauses"
    )
    reason = models.TextField(_("reason"))
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    paused_at = models.DateTimeField(_("paused at"))
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.TextField(_("why it was lifted"), blank=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoicing pause")
        verbose_name_plural = _("invoicing pauses")
        ordering = ["-paused_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(lifted_at__isnull=True),
                name="pause_one_active_per_company",
                violation_error_message=_("Invoicing is already paused for this company."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.paused_at:%Y-%m-%d %H:%M}"


# --- Requests to customers and suppliers -----------------------------------------------------------
class RequestState(models.TextChoices):
    DRAFT = "draft", _("Prepared")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    RECEIVED = "received", _("Copies received")
    CLOSED = "closed", _("Closed")


class CounterpartyRequest(models.Model):
    """A letter asking one customer or supplier for copies or e-files of invoices we lost."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    response = models.ForeignKey(
        IncidentResponse, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    counterparty_name = models.CharField(_("customer / supplier"), max_length=200)
    counterparty_tax_id = models.CharField(_("counterparty tax ID"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=RequestState.choices, default=RequestState.DRAFT)
    letter = models.TextField(_("letter"))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("prepared"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    received_at = models.DateTimeField(_("copies received"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("counterparty request")
        verbose_name_plural = _("counterparty requests")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.counterparty_name} ({self.get_state_display()})"

    @property
    def number(self) -> str:
        return f"CR-{self.pk:05d}" if self.pk else ""


class CounterpartyRequestItem(models.Model):
    """One invoice the letter asks for (from a gap, or the invoice an order implies)."""

    request = models.ForeignKey(CounterpartyRequest, on_delete=models.CASCADE, related_name="items")
    gap = models.ForeignKey(
        Gap, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    invoice_key = models.CharField(_("invoice number"), max_length=32, blank=True)
    order_number = models.CharField(_("order or contract number"), max_length=60, blank=True)
    issue_date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=16, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2)
    received_invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        verbose_name = _("requested invoice")
        verbose_name_plural = _("requested invoices")
        ordering = ["request", "issue_date", "id"]

    def __str__(self) -> str:
        return self.invoice_key or self.order_number


class CounterpartyCopy(models.Model):
    """A copy or e-invoice file the counterparty sent back, kept as evidence (and imported when it
    is an e-invoice file)."""

    request = models.ForeignKey(CounterpartyRequest, on_delete=models.CASCADE, related_name="copies")
    original_name = models.CharField(_("file name"), max_length=200)
    storage_name = models.CharField(max_length=300, unique=True)
    file_type = models.CharField(_("file type"), max_length=8)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("received copy")
        verbose_name_plural = _("received copies")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
