"""Tax-system catalogue, maintenance notices, incidents, the filing calendar and text templates.

Status is never stored by hand: a system's state per function is derived from the notices and
incidents that cover "now" (see `notices.status.derived`). `StatusDay` rows (`notices.status.models`)
are a precomputed cache of that derivation per calendar day (Asia/Shanghai), so the 90-day history
bars cost one query. Subscriptions, channels and deliveries are in `notices.notify.models`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notices.grid import validate_functions

# --- Catalogue, notices, incidents --------------------------------------------------------------


class TaxSystemQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def regions(self):
        """The region names these systems are in, each once, in name order."""
        return self.order_by("region").values_list("region", flat=True).distinct()


class TaxSystem(models.Model):
    """One regional tax system (北京 · 增值税发票管理系统) and the functions it offers."""

    region = models.CharField(
        _("region"), max_length=50, db_index=True, help_text=_("A provincial-level tax bureau, e.g. 北京, 陕西, 深圳")
    )
    name = models.CharField(_("system"), max_length=100, help_text=_("e.g. 增值税发票管理系统"))
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("Used in URLs and feeds."))
    functions = models.JSONField(
        _("functions"), default=list, validators=[validate_functions], help_text=_("What taxpayers can do in it.")
    )
    description = models.TextField(_("description"), blank=True)
    url = models.URLField(_("website"), blank=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = TaxSystemQuerySet.as_manager()

    class Meta:
        verbose_name = _("tax system")
        verbose_name_plural = _("tax systems")
        ordering = ["sort_order", "region", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "name"],
                name="taxsystem_unique_region_name",
                violation_error_message=_("This region already has a system with this name."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("notices:system-detail", args=[self.slug])

    @property
    def spoken_name(self) -> str:
        """As a bureau's notice writes it, region and system run together: 西安增值税发票管理系统."""
        return f"{self.region}{self.name}"


class NoticeState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    EXTENDED = "extended", _("Extended")  # in progress past the window first announced
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class NoticeQuerySet(models.QuerySet):
    def not_cancelled(self):
        return self.exclude(state=NoticeState.CANCELLED)

    def overlapping(self, start, end):
        """Windows overlapping [start, end)."""
        return self.filter(window_start__lt=end, window_end__gt=start)


WINDOW_ORDER_MESSAGE = _("The window must end after it starts.")


class MaintenanceNotice(models.Model):
    """A scheduled maintenance window the tax authority announced, for one system."""

    system = models.ForeignKey(TaxSystem, on_delete=models.PROTECT, related_name="notices", verbose_name=_("system"))
    title = models.CharField(_("title"), max_length=200)
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    # The end first announced; an extension moves window_end and marks the notice extended.
    announced_end = models.DateTimeField(_("announced end"), null=True, blank=True)
    functions = models.JSONField(_("affected functions"), default=list, validators=[validate_functions])
    body_markdown = models.TextField(_("body (Markdown)"), blank=True)
    body_html = models.TextField(editable=False, blank=True)  # sanitised when saved, never on render
    alternatives = models.TextField(
        _("alternatives"), blank=True, help_text=_("Service halls, terminals, other platforms.")
    )
    contacts = models.TextField(_("contact channels"), blank=True)
    preparation_checklist = models.TextField(_("preparation checklist"), blank=True, help_text=_("One item per line."))
    recovery_checklist = models.TextField(_("post-recovery checklist"), blank=True, help_text=_("One item per line."))
    issuing_bureau = models.CharField(_("issuing bureau"), max_length=200, blank=True)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    source_url = models.URLField(_("source URL"), max_length=500, blank=True)
    original_text = models.TextField(_("original text"), blank=True, help_text=_("Archived copy of the announcement."))
    state = models.CharField(_("state"), max_length=20, choices=NoticeState.choices, default=NoticeState.SCHEDULED)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("maintenance notice")
        verbose_name_plural = _("maintenance notices")
        ordering = ["-window_start", "-pk"]
        indexes = [
            models.Index(fields=["window_start", "window_end"], name="notice_window_idx"),
            models.Index(fields=["state", "window_start"], name="notice_state_idx"),
            models.Index(fields=["system", "window_start"], name="notice_system_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")),
                name="notice_window_end_after_start",
                violation_error_message=WINDOW_ORDER_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(state__in=NoticeState.values),
                name="notice_state_valid",
                violation_error_message=_("Unknown notice state."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("notices:notice-detail", args=[self.pk])

    def clean(self) -> None:
        # The constraint keeps the table right; this puts its message beside the field for forms and the API.
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            raise ValidationError({"window_end": WINDOW_ORDER_MESSAGE})


class NoticeRevision(models.Model):
    """One edit of a published notice: who, when, what changed, and the window before and after."""

    notice = models.ForeignKey(MaintenanceNotice, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    # {"field": [old, new], ...} with values as shown to people (times ISO with offset).
    changes = models.JSONField(_("changes"), default=dict)
    old_window_start = models.DateTimeField(null=True, blank=True)
    old_window_end = models.DateTimeField(null=True, blank=True)
    new_window_start = models.DateTimeField(null=True, blank=True)
    new_window_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice revision")
        verbose_name_plural = _("notice revisions")
        ordering = ["notice", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "number"], name="noticerevision_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} r{self.number}"

    @property
    def changed_field_names(self) -> list[str]:
        """The changed fields as people call them (their verbose names, translated)."""
        names = []
        for name in self.changes:
            try:
                names.append(str(MaintenanceNotice._meta.get_field(name).verbose_name))
            except FieldDoesNotExist:  # a field renamed since this revision was kept: show its old name
                names.append(name)
        return names

    @property
    def window_moved(self) -> bool:
        return (self.old_window_start, self.old_window_end) != (self.new_window_start, self.new_window_end)


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")  # degraded
    MAJOR = "major", _("Major")  # some functions down
    CRITICAL = "critical", _("Critical")  # system down


class IncidentState(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


class IncidentQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(state=IncidentState.RESOLVED)

    def overlapping(self, start, end):
        """Incidents whose [started_at, ended_at or now) overlaps [start, end)."""
        return self.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start), started_at__lt=end)


class Incident(models.Model):
    """An unplanned outage or degradation of a tax system."""

    system = models.ForeignKey(TaxSystem, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("system"))
    title = models.CharField(_("title"), max_length=200)
    functions = models.JSONField(_("affected functions"), default=list, validators=[validate_functions])
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices, default=Severity.MAJOR)
    state = models.CharField(
        _("state"), max_length=20, choices=IncidentState.choices, default=IncidentState.INVESTIGATING
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # Impact scope: which invoice types, which regions (beyond the system's own), which hours.
    impact_invoice_types = models.JSONField(_("affected invoice types"), default=list, blank=True)
    impact_regions = models.JSONField(_("affected regions"), default=list, blank=True)
    impact_summary = models.TextField(_("impact"), blank=True)
    # Closing post-mortem.
    postmortem_cause = models.TextField(_("cause"), blank=True)
    postmortem_lost = models.TextField(_("what was lost"), blank=True)
    postmortem_actions = models.TextField(_("what was done"), blank=True)
    postmortem_html = models.TextField(editable=False, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["started_at", "ended_at"], name="incident_window_idx"),
            models.Index(fields=["state", "started_at"], name="incident_state_idx"),
            models.Index(fields=["system", "started_at"], name="incident_system_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=F("started_at")),
                name="incident_end_after_start",
                violation_error_message=_("An incident must end after it started."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=IncidentState.values),
                name="incident_state_valid",
                violation_error_message=_("Unknown incident state."),
            ),
            models.CheckConstraint(
                condition=~Q(state=IncidentState.RESOLVED) | Q(ended_at__isnull=False),
                name="incident_resolved_has_end",
                violation_error_message=_("A resolved incident needs an end time."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("notices:incident-detail", args=[self.pk])


class IncidentUpdate(models.Model):
    """A timestamped public update on an incident, with the state it moved to."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    state = models.CharField(_("state"), max_length=20, choices=IncidentState.choices)
    body_markdown = models.TextField(_("update (Markdown)"))
    body_html = models.TextField(editable=False, blank=True)
    posted_at = models.DateTimeField(_("posted"), default=timezone.now)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")
        ordering = ["incident", "posted_at", "pk"]
        indexes = [models.Index(fields=["incident", "posted_at"], name="incidentupdate_posted_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.state} · {self.posted_at:%Y-%m-%d %H:%M}"


class FilingDeadline(models.Model):
    """The tax calendar: the last day of a monthly filing period per region (holiday extensions included)."""

    region = models.CharField(_("region"), max_length=50, help_text=_("Empty: applies to every region."), blank=True)
    period = models.DateField(_("period"), help_text=_("First day of the month being filed."))
    tax_type = models.CharField(_("tax type"), max_length=50, default="增值税")
    deadline = models.DateField(_("deadline"), help_text=_("Last day to file (inclusive), after any extension."))
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("e.g. extended for the National Day holiday")
    )

    class Meta:
        verbose_name = _("filing deadline")
        verbose_name_plural = _("filing deadlines")
        ordering = ["deadline", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "period", "tax_type"],
                name="filingdeadline_unique_period",
                violation_error_message=_("This region already has a deadline for this period and tax type."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region or '*'} {self.period:%Y-%m} {self.tax_type} → {self.deadline}"


class TextTemplateKind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    INCIDENT = "incident", _("Incident")
    INCIDENT_UPDATE = "incident_update", _("Incident update")


class TextTemplate(models.Model):
    """Reusable text for recurring notices and incident updates."""

    kind = models.CharField(_("kind"), max_length=20, choices=TextTemplateKind.choices)
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=200, blank=True)
    body_markdown = models.TextField(_("body (Markdown)"), blank=True)
    alternatives = models.TextField(_("alternatives"), blank=True)
    contacts = models.TextField(_("contact channels"), blank=True)
    preparation_checklist = models.TextField(_("preparation checklist"), blank=True)
    recovery_checklist = models.TextField(_("post-recovery checklist"), blank=True)

    class Meta:
        verbose_name = _("text template")
        verbose_name_plural = _("text templates")
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="texttemplate_unique_name")]

    def __str__(self) -> str:
        return self.name


# The notifications' and the status page's models live in their packages, registered with this app.
# Imported after this module's own models so the app lists those first, as it always has; code
# imports them from their packages, never from here.
from notices.notify import models as notify_models  # noqa: E402, F401
from notices.status import models as status_models  # noqa: E402, F401
