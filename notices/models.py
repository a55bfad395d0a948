"""Tax-system catalogue, maintenance notices, incidents; subscriptions and deliveries.

Status is never stored by hand: a system's state per function is derived from the notices and
incidents that cover "now" (see `notices.status.derived`). `StatusDay` rows (`notices.status.models`)
are a precomputed cache of that derivation per calendar day (Asia/Shanghai), so the 90-day history
bars cost one query.
"""

from __future__ import annotations

import uuid as uuid_module

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notices.events import EventKind
from notices.grid import validate_functions
from outage_portal.fields import EncryptedTextField

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
        return reverse("system-detail", args=[self.slug])

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
        return reverse("notice-detail", args=[self.pk])

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
        return reverse("incident-detail", args=[self.pk])


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


# --- Subscriptions, channels, deliveries --------------------------------------------------------


def validate_http_url(value: str) -> None:
    """Robot and webhook addresses: http or https only (no file:, ftp:, javascript: …)."""
    from urllib.parse import urlsplit

    from django.core.exceptions import ValidationError

    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(_("Enter an http:// or https:// address."), code="url_scheme")


class ChannelKind(models.TextChoices):
    """Where a notification goes. Email is a delivery target, not a stored channel."""

    EMAIL = "email", _("Email")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    WEBHOOK = "webhook", _("Signed JSON webhook")


CHANNEL_KINDS_STORED = [ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.WEBHOOK]


class ChannelQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)


class Channel(models.Model):
    """A group robot or webhook a user owns. The secret is write-only: forms and API never show it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_channels")
    # Its own context: a third-party catalogue (django-celery-beat's) translates a bare "name" as 任务名.
    name = models.CharField(pgettext_lazy("channel", "name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=[(k.value, k.label) for k in CHANNEL_KINDS_STORED])
    url = models.URLField(_("address"), max_length=500, validators=[validate_http_url])
    # DingTalk: the robot's optional signing secret (SEC…). Webhook: the HMAC key the receiver verifies with.
    secret = EncryptedTextField(_("secret"), max_length=200, blank=True)  # encrypted at rest
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        ordering = ["owner", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in CHANNEL_KINDS_STORED]),
                name="channel_kind_valid",
                violation_error_message=_("Unknown channel kind."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=ChannelKind.WEBHOOK) | ~Q(secret=""),
                name="channel_webhook_has_secret",
                violation_error_message=_("A webhook needs a signing secret so receivers can verify it."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_failing(self) -> bool:
        return self.failing_since is not None


class SubscriptionQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def confirmed(self):
        return self.filter(confirmed_at__isnull=False)


DEFAULT_LEAD_MINUTES = [24 * 60, 60]


def default_lead_minutes() -> list[int]:
    return list(DEFAULT_LEAD_MINUTES)


class Subscription(models.Model):
    """Who follows which cells of the region × function grid, and which kinds of event.

    The target is the owner's account email, a visitor's confirmed email (no owner), or one of the
    owner's channels. Empty `regions`, `systems` or `functions` mean "all".
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_subscriptions", null=True, blank=True
    )
    email = models.EmailField(_("email"), blank=True, help_text=_("Visitors only; members use their account email."))
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        null=True,
        blank=True,
        verbose_name=_("channel"),
    )
    regions = models.JSONField(_("regions"), default=list, blank=True)
    systems = models.JSONField(_("systems"), default=list, blank=True)
    functions = models.JSONField(_("functions"), default=list, blank=True)
    kinds = models.JSONField(_("event kinds"), default=list)
    lead_minutes = models.JSONField(_("reminder lead times (minutes)"), default=default_lead_minutes, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False) | ~Q(email=""),
                name="subscription_has_target",
                violation_error_message=_("A subscription needs an owner or an email address."),
            ),
            models.CheckConstraint(
                condition=Q(channel__isnull=True) | (Q(owner__isnull=False) & Q(email="")),
                name="subscription_channel_owned",
                violation_error_message=_("A channel subscription belongs to the channel's owner."),
            ),
        ]

    def __str__(self) -> str:
        return f"subscription:{self.pk} → {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.channel_id:
            return str(self.channel)
        return self.email or (self.owner.email if self.owner_id else "")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for its (next) attempt
    SENDING = "sending", _("Sending")  # claimed by a worker until lease_until
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")  # gave up after the last attempt
    SKIPPED = "skipped", _("Skipped (superseded)")  # a reminder whose window was cancelled or moved meanwhile


# Events private to one company: their deliveries stay with its members.
COMPANY_EVENT_KINDS = (EventKind.RECONCILIATION_GAPS,)


class DeliveryQuerySet(models.QuerySet):
    def for_user(self, user):
        """What went to the user's own email and channels; notice admins also see the deliveries of
        public events (notices, incidents) to anyone. A company's gap alerts and other people's
        channel tests stay with their owners: a notice admin runs public notices, not companies."""
        if not user.is_authenticated:
            return self.none()
        own = Q(channel__owner=user) | Q(subscription__owner=user)
        if user.email:
            own |= Q(channel_kind=ChannelKind.EMAIL, email__iexact=user.email)
        if user.is_notice_admin:
            own |= ~Q(event_kind__in=COMPANY_EVENT_KINDS) & Q(is_test=False)
        return self.filter(own)


class Delivery(models.Model):
    """One event to one target. (event_key, target) is unique: an event reaches a target at most once.

    A worker claims the row (state sending, lease_until) before sending and marks it delivered after;
    a row whose lease expired (worker killed mid-send) is retried by the sweeper. `uuid` is the
    idempotency id receivers get in a header.
    """

    uuid = models.UUIDField(_("idempotency id"), unique=True, editable=False, default=uuid_module.uuid4)
    event_key = models.CharField(_("event key"), max_length=200)
    event_kind = models.CharField(_("event kind"), max_length=40)
    title = models.CharField(_("title"), max_length=300)
    target = models.CharField(_("target"), max_length=300)  # "email:<address>" or "channel:<id>"
    channel_kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, related_name="deliveries", null=True, blank=True, verbose_name=_("channel")
    )
    email = models.EmailField(_("email"), blank=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, related_name="deliveries", null=True, blank=True
    )
    payload = models.JSONField(_("payload"), default=dict)
    is_test = models.BooleanField(_("test message"), default=False)
    state = models.CharField(_("state"), max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["state", "lease_until"], name="delivery_lease_idx"),
            models.Index(fields=["created_at"], name="delivery_created_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "target"],
                name="delivery_once_per_target",
                violation_error_message=_("This event was already handed to this target."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values),
                name="delivery_state_valid",
                violation_error_message=_("Unknown delivery state."),
            ),
            models.CheckConstraint(
                condition=~Q(state=DeliveryState.DELIVERED) | Q(delivered_at__isnull=False),
                name="delivery_delivered_has_time",
                violation_error_message=_("A delivered row records when."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_key} → {self.target} ({self.state})"

    def is_addressed_to(self, user) -> bool:
        """Went to the user's own channel, subscription or email (load channel and subscription along)."""
        if self.channel is not None and self.channel.owner_id == user.pk:
            return True
        if self.subscription is not None and self.subscription.owner_id == user.pk:
            return True
        return bool(self.email and user.email and self.email.lower() == user.email.lower())

    def email_for(self, user) -> str:
        """The address as `user` may see it: whole on their own deliveries, else only its domain
        (a notice admin looking into failures needs the mail host, not the subscriber)."""
        if not self.email or self.is_addressed_to(user):
            return self.email
        local, _at, domain = self.email.partition("@")
        return f"{local[:1]}***@{domain}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: what the receiver said, or why it failed."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    ok = models.BooleanField(_("succeeded"), default=False)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="deliveryattempt_unique_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number} {'ok' if self.ok else 'failed'}"


# The status page's models live in its package, registered with this app. Imported after this
# module's own models so the app lists those first; code imports them from the package, never from here.
from notices.status import models as status_models  # noqa: E402, F401
