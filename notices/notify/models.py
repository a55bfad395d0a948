"""Subscriptions, channels and deliveries: who hears about which event, where, and what was sent.

Registered with the `notices` app (its tables keep their names); `notices.models` imports this module
so Django finds them.
"""

from __future__ import annotations

import uuid as uuid_module

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notices.events import EventKind
from outage_portal.fields import EncryptedTextField


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
