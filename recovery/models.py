"""Reconciliation of a company's own invoices against the tax system, and what people do about gaps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from invoices.models import Direction, Invoice, Order, TaxRecord
from outage_portal.jobs import LeasedJob, LeaseQuerySet
from outage_portal.models import Company, CompanyScopedQuerySet

# --- Reconciliation ---


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    PARTIAL = "partial", _("Partial")
    # The period held no invoice on either side: nothing was compared, so "no gaps" would mislead.
    NOTHING = "nothing", _("Nothing to compare")


class FailureKind(models.TextChoices):
    SOURCE = "source", _("Tax-system source failed")
    IMPLAUSIBLE = "implausible", _("Tax-system data implausible")
    ERROR = "error", _("Error")


class RunTrigger(models.TextChoices):
    IMPORT = "import", _("After an import")
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("By hand")
    COMMAND = "command", _("Command line")


class GapKind(models.TextChoices):
    ONLY_IN_BOOKS = "only_in_books", _("Only in our books")
    ONLY_IN_TAX_SYSTEM = "only_in_tax_system", _("Only in the tax system")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
    STATUS_MISMATCH = "status_mismatch", _("Status mismatch")
    COUNTERPARTY_MISMATCH = "counterparty_mismatch", _("Counterparty mismatch")
    POSSIBLE_DUPLICATE = "possible_duplicate", _("Possible duplicate")
    # An order or contract in an outage window that no invoice on either side covers: lost from both.
    ONLY_IN_ORDERS = "only_in_orders", _("Only in orders (invoice missing on both sides)")


class GapStatus(models.TextChoices):
    # Named as people say a gap's state (待处理, not the verb "open"): a context of their own.
    OPEN = "open", pgettext_lazy("gap status", "Open")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("gap status", "Acknowledged")
    DISMISSED = "dismissed", pgettext_lazy("gap status", "Dismissed")
    RESOLVED = "resolved", pgettext_lazy("gap status", "Resolved")


# A gap still waiting for something to happen: what "open gaps" counts everywhere.
OPEN_GAP_STATES = (GapStatus.OPEN, GapStatus.ACKNOWLEDGED)


class Decision(models.TextChoices):
    """What a person decided about a gap; it survives every later run."""

    NONE = "", _("None")
    ACCEPTED_SUGGESTION = "accepted_suggestion", _("Suggestion accepted")
    IGNORED = "ignored", _("Ignored with a reason")
    LINKED = "linked", _("Linked by hand")


class MatchRule(models.Model):
    """One row of the ordered matching rule table (data, not code).

    `method` is exact (raw code+number / 数电 number), normalised or fuzzy (same
    seller, buyer and total within `RECONCILE_FUZZY_DAYS`): a fuzzy match only suggests a pair.
    """

    class Method(models.TextChoices):
        EXACT = "exact", _("Exact number")
        NORMALISED = "normalised", _("Normalised key")
        FUZZY = "fuzzy", _("Fuzzy (suggestion only)")

    position = models.PositiveSmallIntegerField(_("position"), unique=True)
    method = models.CharField(_("method"), max_length=12, choices=Method.choices, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    suggests_only = models.BooleanField(_("suggests only"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("matching rule")
        verbose_name_plural = _("matching rules")
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_method_display()}"


class RunQuerySet(LeaseQuerySet, CompanyScopedQuerySet):
    def latest_per_company(self):
        """Each company's newest run among these (one query, the newest found by a subquery)."""
        return self.filter(pk__in=self.values("company").annotate(last=Max("id")).values("last"))


class ReconciliationRun(LeasedJob):
    """One comparison of a company's invoices with the tax system, for one direction and period."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="reconciliation_runs")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    state = models.CharField(_("state"), max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    trigger = models.CharField(_("trigger"), max_length=10, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    # Why a run failed, for people (the reason) and for the dashboard (source failures across many
    # companies of one region suggest an incident to notice admins).
    failure_kind = models.CharField(_("failure kind"), max_length=12, choices=FailureKind.choices, blank=True)
    counts = models.JSONField(_("counts per gap kind"), default=dict, blank=True)
    # How many records of each side lay in the compared period (what "0 gaps" is out of).
    invoices_compared = models.PositiveIntegerField(_("our invoices compared"), default=0)
    tax_records_compared = models.PositiveIntegerField(_("tax-system records compared"), default=0)
    # True when nobody named a period and the run took the span of the company's records.
    period_from_records = models.BooleanField(_("period taken from the records"), default=False)
    new_gaps = models.PositiveIntegerField(_("new gaps"), default=0)
    resolved_gaps = models.PositiveIntegerField(_("resolved gaps"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    objects = RunQuerySet.as_manager()

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "direction", "-created_at"], name="recon_run_company")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="recon_run_period_order",
                violation_error_message=_("The period must end on or after its start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.direction} {self.period_start}–{self.period_end} ({self.state})"

    def clean(self) -> None:
        """A period people can ask for: inside the portal's years and at most the maximum span."""
        from django.core.exceptions import ValidationError

        from outage_portal.validators import moment_allowed, moment_out_of_range

        for name in ("period_start", "period_end"):
            value = getattr(self, name)
            if value is not None and not moment_allowed(value):
                raise ValidationError({name: moment_out_of_range()})
        if self.period_start and self.period_end:
            days = (self.period_end - self.period_start).days + 1
            if days > settings.RECONCILIATION_MAX_SPAN_DAYS:
                raise ValidationError(
                    {
                        "period_end": _(
                            "A run covers at most %(max)s days; this period has %(days)s. "
                            "Reconcile it in several runs (for example one per month)."
                        )
                        % {"max": settings.RECONCILIATION_MAX_SPAN_DAYS, "days": days}
                    }
                )

    @property
    def is_finished(self) -> bool:
        return self.state not in (RunState.QUEUED, RunState.RUNNING)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


def _engine_link(model):
    """An optional link the engine writes in bulk: no database foreign key and no index (see below)."""
    return models.ForeignKey(
        model, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False, db_constraint=False
    )


class GapQuerySet(CompanyScopedQuerySet):
    def in_run_period(self, run: ReconciliationRun):
        """The gaps of the run's company, direction and period, through the `gap_period` index: every gap
        the run found or resolved is among them (filter those by `last_seen_run`, `first_seen_run` or
        `resolved_by_run`, which have no index of their own)."""
        return self.filter(
            company_id=run.company_id,
            direction=run.direction,
            issue_date__gte=run.period_start,
            issue_date__lte=run.period_end,
        )


# The gap list's order (pages, API): the gaps still there first (open, acknowledged, dismissed), newest
# found first; then the resolved ones, most recently resolved first. What ordering by "last seen" showed
# (every gap still there was last seen by its period's latest run), on columns a rerun leaves as they are.
GAP_LIST_ORDER = (models.F("resolved_at").desc(nulls_first=True), models.F("id").desc())


class Gap(models.Model):
    """One gap between our books and the tax system; stable across runs (same `gap_key` = same row)."""

    # Every gap is written by reconciliation in bulk, so each index costs on every run: the composite
    # indexes below lead with company_id and assignee_id, and the rarely followed links (suggestions,
    # decisions, runs that saw or resolved a gap) go without one.
    # A rerun writes `last_seen_*` on every gap it finds again, so no index holds them: then the new row
    # version stays on its page with no new index entry (a HOT update, given the room the table's
    # fillfactor keeps, see migration gap_found_again_in_place). A run's gaps are found through
    # `gap_period` (`in_run_period`).
    # The links the engine writes carry no database foreign key (db_constraint=False): PostgreSQL checks
    # a foreign key row by row at commit, and for the ~25,000 gaps of a million-invoice period those
    # checks cost as much as the whole comparison (the company's alone about 0.08 s per 25,000 gaps).
    # The engine only writes ids it read in the same transaction, under the run's row lock, and the
    # company of the run, whose own foreign key holds it; Django still applies on_delete (CASCADE /
    # SET NULL) when companies, runs, invoices or tax records are deleted through the ORM. The links
    # people set (decided_by, assignee) keep their foreign keys.
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="gaps", db_index=False, db_constraint=False
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=24, choices=GapKind.choices)
    gap_key = models.CharField(_("gap key"), max_length=80)
    invoice_key = models.CharField(_("invoice key"), max_length=32)
    invoice = _engine_link(Invoice)
    tax_record = _engine_link(TaxRecord)
    suggested_tax_record = _engine_link(TaxRecord)
    suggested_invoice = _engine_link(Invoice)
    # For a gap only orders reveal: the order whose invoice should exist (the proposal is read from it).
    order = _engine_link(Order)
    issue_date = models.DateField(_("issue date"))
    issued_at = models.DateTimeField(_("issue time"), null=True, blank=True)
    amount_at_risk = models.DecimalField(_("amount at risk"), max_digits=16, decimal_places=2, default=0)
    rule = models.CharField(_("rule that failed"), max_length=12, blank=True)
    explanation = models.TextField(_("explanation"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=GapStatus.choices, default=GapStatus.OPEN)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True, default="")
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    incident_kind = models.CharField(_("window kind"), max_length=12, blank=True)
    incident_id = models.PositiveIntegerField(_("window id"), null=True, blank=True)
    incident_title = models.CharField(_("window"), max_length=200, blank=True)
    incident_url = models.CharField(max_length=300, blank=True)
    first_seen_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    last_seen_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    resolved_by_run = models.ForeignKey(
        ReconciliationRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    objects = GapQuerySet.as_manager()

    class Meta:
        verbose_name = _("gap")
        verbose_name_plural = _("gaps")
        ordering = GAP_LIST_ORDER
        constraints = [
            models.UniqueConstraint(
                fields=["company", "direction", "kind", "gap_key"],
                name="discrepancy_unique_gap",
                violation_error_message=_("This gap is already recorded."),
            ),
        ]
        indexes = [
            models.Index(fields=["company", "status", "kind"], name="gap_status_kind"),
            models.Index(fields=["company", "direction", "issue_date"], name="gap_period"),
            # The gap list's and the API's order within a company (GAP_LIST_ORDER): a page is read off
            # the index, not sorted out of the company's every gap. PostgreSQL puts NULLs first in a
            # descending index: the gaps not resolved lead.
            models.Index(fields=["company", "-resolved_at", "-id"], name="gap_list"),
            # Partial: a gap is written without a window, an assignee and (on one side) an invoice or a
            # tax record, so these stay out of the bulk insert; lookups by a value still use them.
            models.Index(
                fields=["company", "incident_kind", "incident_id"],
                condition=Q(incident_id__isnull=False),
                name="gap_incident",
            ),
            models.Index(fields=["assignee", "status"], condition=Q(assignee__isnull=False), name="gap_assignee"),
            models.Index(fields=["invoice"], condition=Q(invoice__isnull=False), name="gap_invoice"),
            models.Index(fields=["tax_record"], condition=Q(tax_record__isnull=False), name="gap_tax_record"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice_key}"

    @property
    def outcome(self) -> str:
        """What happened to a resolved gap, in the reader's language ("" while it is not resolved)."""
        from django.utils.translation import gettext

        from outage_portal.timefmt import local_text

        if self.status != GapStatus.RESOLVED or self.resolved_at is None:
            return ""
        when = local_text(self.resolved_at)
        if self.decision == Decision.LINKED and self.decision_reason:
            return gettext("Resolved on %(when)s: %(reason)s") % {"when": when, "reason": gettext(self.decision_reason)}
        if self.kind == GapKind.ONLY_IN_BOOKS:
            text = gettext("The tax system now shows this invoice; the gap was resolved on %(when)s.")
        elif self.kind == GapKind.ONLY_IN_TAX_SYSTEM:
            text = gettext("Our books now hold this invoice; the gap was resolved on %(when)s.")
        else:
            text = gettext("Our books and the tax system now agree; the gap was resolved on %(when)s.")
        return text % {"when": when}


class GapSummary(models.Model):
    """How many gaps, and how much at risk, share one company, direction, kind, window, day found, day
    closed and openness: what the dashboard reads instead of the gaps themselves.

    Kept by the database, not by code: triggers on `recovery_gap` (migration `0017_gap_summary`) add and subtract
    every insert, delete, truncate and change of a column summarised here, whoever writes (the
    engine's set-based SQL, services, cascades, the benchmark's loader). A row whose count reaches
    zero is deleted. Days are local (settings.TIME_ZONE) as the dashboard shows them. A gap dismissed
    without a decision time was never open as far as the figures go and is left out.
    """

    # No database foreign key, as on the gap: a company's summary rows go when its gaps are deleted.
    company = models.ForeignKey(
        Company, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    is_open = models.BooleanField()  # open or acknowledged now
    # The local day the gap closed (resolved, or dismissed, whichever came first); date.max while it
    # has not, so that "still open at the end of day D" reads closed_on > D either way.
    closed_on = models.DateField()
    found_on = models.DateField()  # the local day of first_seen_at
    direction = models.CharField(max_length=10, choices=Direction.choices)
    kind = models.CharField(max_length=24, choices=GapKind.choices)
    incident_kind = models.CharField(max_length=12)
    incident_id = models.PositiveIntegerField()  # 0 for a gap no window explains (ids start at 1)
    incident_title = models.CharField(max_length=200)
    incident_url = models.CharField(max_length=300)
    gaps = models.IntegerField()
    amount_at_risk = models.DecimalField(max_digits=20, decimal_places=2)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("gap summary")
        verbose_name_plural = _("gap summaries")
        constraints = [
            # The triggers' upsert target. Its order serves the reads: a company's open rows, and its
            # rows closed since a day, are each one range of it.
            models.UniqueConstraint(
                fields=[
                    "company",
                    "is_open",
                    "closed_on",
                    "found_on",
                    "direction",
                    "kind",
                    "incident_kind",
                    "incident_id",
                    "incident_title",
                    "incident_url",
                ],
                name="gap_summary_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_id} {self.kind} {self.found_on}–{self.closed_on}: {self.gaps}"


class GapComment(models.Model):
    """A note someone left on a gap."""

    gap = models.ForeignKey(Gap, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.body[:50]


class Alert(models.Model):
    """One alert per company per run that found new gaps (`alert:<id>` is the delivery key)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="reconciliation_alerts")
    run = models.OneToOneField(ReconciliationRun, on_delete=models.CASCADE, related_name="alert")
    counts = models.JSONField(_("new gaps per kind"), default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"alert:{self.pk}"


# Imported only so that Django registers the sub-areas' models with this app; import them from there.
from .deferred import models as _deferred_models  # noqa: E402, F401
from .reissue import models as _reissue_models  # noqa: E402, F401
