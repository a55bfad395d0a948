"""Reissue requests, the review workflow they share with deferred-filing applications (states, transition
log, participants), evidence and hand-issued invoices. Deferred filings are in recovery/deferred/."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.utils.translation import gettext_lazy as _

from invoices.models import Direction, Invoice
from outage_portal.models import Company, CompanyScopedQuerySet


class ReviewState(models.TextChoices):
    """Where a request stands. Reissue requests use all of them; deferred filings skip `reissued`."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    APPROVED = "approved", _("Approved")
    REISSUED = "reissued", _("Reissued")
    CLOSED = "closed", _("Closed")
    # Left the workflow without a reissue: by its accountant, or by the portal once the tax system
    # showed every original invoice (reissuing would duplicate them).
    WITHDRAWN = "withdrawn", _("Withdrawn")


EDITABLE_STATES = (ReviewState.DRAFT, ReviewState.RETURNED)


class ReissueReason(models.TextChoices):
    OUTAGE = "outage", _("Tax-system outage")
    DATA_LOSS = "data_loss", _("Data loss")
    ERROR = "error", _("Error on the invoice")
    OTHER = "other", _("Other")


class RequestedAction(models.TextChoices):
    REISSUE = "reissue", _("Reissue (补开)")
    HAND_ISSUE = "hand_issue", _("Hand-issue (手工开票)")
    RED_LETTER_REISSUE = "red_letter_reissue", _("Red-letter and reissue (红冲后重开)")


class EvidenceKind(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    ORDER = "order", _("Order")
    DELIVERY_NOTE = "delivery_note", _("Delivery note")
    SCREENSHOT = "screenshot", _("Screenshot")
    OTHER = "other", _("Other")


def _state_constraints(prefix: str) -> list:
    reviewed = [ReviewState.APPROVED, ReviewState.REISSUED, ReviewState.CLOSED]
    return [
        models.CheckConstraint(
            condition=Q(state__in=ReviewState.values),
            name=f"{prefix}_state_valid",
            violation_error_message=_("Unknown state."),
        ),
        models.CheckConstraint(
            condition=~Q(state__in=reviewed) | Q(approved_by__isnull=False, approved_at__isnull=False),
            name=f"{prefix}_approved_has_reviewer",
            violation_error_message=_("An approved request records who approved it and when."),
        ),
        # Nobody approves their own request: the database refuses it even if a service forgot.
        models.CheckConstraint(
            condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
            name=f"{prefix}_not_self_approved",
            violation_error_message=_("Nobody may approve their own request."),
        ),
        models.CheckConstraint(
            condition=Q(state__in=[ReviewState.DRAFT, ReviewState.WITHDRAWN]) | Q(submitted_at__isnull=False),
            name=f"{prefix}_submitted_has_time",
            violation_error_message=_("A request past draft records when it was submitted."),
        ),
        models.CheckConstraint(
            condition=~Q(state=ReviewState.CLOSED) | Q(closed_at__isnull=False),
            name=f"{prefix}_closed_has_time",
            violation_error_message=_("A closed request records when it was closed."),
        ),
    ]


def _total_is_amount_plus_tax(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(
            total__gte=F("amount") + F("tax") - Value(Decimal("0.005")),
            total__lte=F("amount") + F("tax") + Value(Decimal("0.005")),
        ),
        name=f"{prefix}_total_is_amount_plus_tax",
        violation_error_message=_("The total must equal amount plus tax."),
    )


class ReviewedApplication(models.Model):
    """What a reissue request and a deferred-filing application share: the company, the review
    workflow's state and who moved it. Every transition is also a `ReviewTransition` row."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    state = models.CharField(_("state"), max_length=12, choices=ReviewState.choices, default=ReviewState.DRAFT)
    incident = models.ForeignKey(
        "notices.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("incident"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = CompanyScopedQuerySet.as_manager()

    # The reference people quote ("RR-00042", "DF-00007"); set by each concrete model.
    number_prefix = ""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.number_prefix}-{self.pk:05d}" if self.pk else f"{self.number_prefix}-new"

    @property
    def number(self) -> str:
        return str(self)

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES


class ReissueRequest(ReviewedApplication):
    """An accountant's request to the tax bureau to reissue or hand-issue invoices lost to an outage."""

    reason = models.CharField(_("reason"), max_length=12, choices=ReissueReason.choices, default=ReissueReason.OUTAGE)
    reason_detail = models.TextField(_("what happened"), blank=True)
    action = models.CharField(
        _("requested action"), max_length=20, choices=RequestedAction.choices, default=RequestedAction.REISSUE
    )
    counterparty_name = models.CharField(_("customer / supplier"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    reissued_at = models.DateTimeField(_("reissued"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    # Someone confirmed that the invoices the tax system now shows are still to be reissued (the
    # warning blocks "record reissued" on an approved request until then).
    duplicates_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reissue confirmed by"),
    )
    duplicates_confirmed_at = models.DateTimeField(_("reissue confirmed"), null=True, blank=True)

    number_prefix = "RR"

    class Meta:
        verbose_name = _("reissue request")
        verbose_name_plural = _("reissue requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "state"], name="reissue_company_state")]
        constraints = [
            *_state_constraints("reissue"),
            models.CheckConstraint(
                condition=~Q(state__in=[ReviewState.REISSUED, ReviewState.CLOSED]) | Q(reissued_at__isnull=False),
                name="reissue_reissued_has_time",
                violation_error_message=_("A reissued request records when the new invoices were recorded."),
            ),
            models.CheckConstraint(
                condition=~Q(state=ReviewState.WITHDRAWN) | Q(withdrawn_at__isnull=False),
                name="reissue_withdrawn_has_time",
                violation_error_message=_("A withdrawn request records when it was withdrawn."),
            ),
        ]

    @property
    def is_open(self) -> bool:
        return self.state in (ReviewState.DRAFT, ReviewState.SUBMITTED, ReviewState.RETURNED, ReviewState.APPROVED)


class InvoiceCopy(models.Model):
    """The invoice facts a reissue item and a hand-issued invoice both keep, with the same column
    definitions. The number and the counterparty's name are declared by each model: an item entered
    from a gap may lack them, a hand-issued invoice may not."""

    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.ISSUED)
    invoice_key = models.CharField(_("invoice key"), max_length=32)
    invoice_code = models.CharField(_("invoice code"), max_length=12, blank=True)
    issue_date = models.DateField(_("issue date"))
    counterparty_tax_id = models.CharField(_("counterparty tax ID"), max_length=20, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=16, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2)

    class Meta:
        abstract = True


class ItemQuerySet(CompanyScopedQuerySet):
    company_path = "request__company"


class ReissueItem(InvoiceCopy):
    """One invoice a reissue request covers: a gap from reconciliation, or one entered by hand.
    The new invoice's key is recorded when it is reissued; `seen_at` when the tax system shows it."""

    request = models.ForeignKey(ReissueRequest, on_delete=models.CASCADE, related_name="items")
    gap = models.ForeignKey(
        "recovery.Gap", null=True, blank=True, on_delete=models.SET_NULL, related_name="reissue_items"
    )
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invoice_number = models.CharField(_("invoice number"), max_length=20, blank=True)
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    new_invoice_key = models.CharField(_("new invoice number"), max_length=32, blank=True)
    seen_at = models.DateTimeField(_("seen in the tax system"), null=True, blank=True)
    # When a reconciliation found the original invoice in the tax system after all: reissuing it
    # would duplicate it.
    original_seen_at = models.DateTimeField(_("original seen in the tax system"), null=True, blank=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice in a reissue request")
        verbose_name_plural = _("invoices in a reissue request")
        ordering = ["request", "issue_date", "invoice_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "invoice_key"],
                name="reissueitem_unique_key",
                violation_error_message=_("This invoice is already in the request."),
            ),
            models.CheckConstraint(
                condition=~Q(invoice_key=""),
                name="reissueitem_key_present",
                violation_error_message=_("Each invoice needs a number."),
            ),
            _total_is_amount_plus_tax("reissueitem"),
        ]

    def __str__(self) -> str:
        return self.invoice_key


class ReviewTransition(models.Model):
    """One move of a reissue request or deferred-filing application: who, when, from, to and why."""

    reissue_request = models.ForeignKey(
        ReissueRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="transitions"
    )
    deferred_filing = models.ForeignKey(
        "recovery.DeferredFiling", null=True, blank=True, on_delete=models.CASCADE, related_name="transitions"
    )
    from_state = models.CharField(_("from"), max_length=12, choices=ReviewState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=12, choices=ReviewState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the portal moved it (closed after reconciliation)."),
    )
    at = models.DateTimeField(_("when"))
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reissue_request__isnull=False, deferred_filing__isnull=True)
                | Q(reissue_request__isnull=True, deferred_filing__isnull=False),
                name="reviewtransition_one_subject",
                violation_error_message=_("A transition belongs to exactly one request."),
            ),
            models.CheckConstraint(
                condition=~Q(to_state=ReviewState.RETURNED) | ~Q(comment=""),
                name="reviewtransition_return_has_comment",
                violation_error_message=_("Returning a request needs a comment."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state}"


class ParticipantRole(models.TextChoices):
    CREATED = "created", _("Prepared")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submitted", _("Submitted")


class ReviewParticipant(models.Model):
    """Someone who prepared, edited (fields, invoices, evidence) or submitted a request or application.

    Four eyes: none of them may approve it. Services refuse it, and database triggers (see the
    migration `four_eyes_participants`) refuse an approver who is a participant, and a participant
    added after approval by the approver, whatever wrote the row.
    """

    reissue_request = models.ForeignKey(
        ReissueRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="participants"
    )
    deferred_filing = models.ForeignKey(
        "recovery.DeferredFiling", null=True, blank=True, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("part"), max_length=10, choices=ParticipantRole.choices)
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.CheckConstraint(
                condition=Q(reissue_request__isnull=False, deferred_filing__isnull=True)
                | Q(reissue_request__isnull=True, deferred_filing__isnull=False),
                name="reviewparticipant_one_subject",
                violation_error_message=_("A participant belongs to exactly one request."),
            ),
            models.UniqueConstraint(
                fields=["reissue_request", "user", "role"],
                condition=Q(reissue_request__isnull=False),
                name="reviewparticipant_unique_reissue",
            ),
            models.UniqueConstraint(
                fields=["deferred_filing", "user", "role"],
                condition=Q(deferred_filing__isnull=False),
                name="reviewparticipant_unique_deferred",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role}"


class EvidenceQuerySet(CompanyScopedQuerySet):
    company_path = "request__company"


class ReissueEvidence(models.Model):
    """A supporting document (contract, order, delivery note, screenshot) kept in private storage."""

    request = models.ForeignKey(ReissueRequest, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=20, choices=EvidenceKind.choices, default=EvidenceKind.OTHER)
    original_name = models.CharField(_("file name"), max_length=200)
    storage_name = models.CharField(max_length=300, unique=True)
    file_type = models.CharField(_("file type"), max_length=8)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["request", "uploaded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(file_type__in=["pdf", "png", "jpeg", "ofd", "xlsx", "docx"]),
                name="reissueevidence_known_type",
                violation_error_message=_("Unknown evidence file type."),
            ),
        ]

    def __str__(self) -> str:
        return self.original_name


class HandIssuedInvoice(InvoiceCopy):
    """An invoice written by hand during an outage, tracked until the electronic system shows it
    (a `TaxRecord` with its key: `entered_at`) and our books have it (an `Invoice`: `booked_at`)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    incident = models.ForeignKey(
        "notices.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("outage")
    )
    invoice_number = models.CharField(_("invoice number"), max_length=20)
    counterparty_name = models.CharField(_("counterparty"), max_length=200)
    scan_name = models.CharField(_("photo / scan"), max_length=200, blank=True)
    scan_storage_name = models.CharField(max_length=300, blank=True)
    scan_type = models.CharField(max_length=8, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    entered_at = models.DateTimeField(_("seen in the tax system"), null=True, blank=True)
    booked_at = models.DateTimeField(_("seen in our books"), null=True, blank=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("hand-issued invoice")
        verbose_name_plural = _("hand-issued invoices")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "direction", "invoice_key"],
                name="handissued_unique_key",
                violation_error_message=_("This hand-issued invoice is already recorded."),
            ),
            models.CheckConstraint(
                condition=~Q(invoice_key=""),
                name="handissued_key_present",
                violation_error_message=_("A hand-issued invoice needs a number."),
            ),
            _total_is_amount_plus_tax("handissued"),
        ]
        indexes = [models.Index(fields=["company", "entered_at"], name="handissued_pending")]

    def __str__(self) -> str:
        return self.invoice_key

    def is_overdue(self, today=None) -> bool:
        """Not yet in the tax system `HAND_ISSUED_ENTRY_DAYS` after it was written."""
        from datetime import timedelta

        from django.utils import timezone

        if self.entered_at is not None:
            return False
        today = today or timezone.localdate()
        return self.issue_date + timedelta(days=settings.HAND_ISSUED_ENTRY_DAYS) < today
