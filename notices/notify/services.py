"""Writes for subscriptions and notifications.

Delivery guarantee: `event_fanout` writes one `Delivery` per (event key, target) — a unique
constraint, so publishing the same event again adds nothing — in the publisher's transaction, and
queues one task per new row after commit. `delivery_attempt` claims a row (state `sending` plus a
lease) with one conditional UPDATE before sending and marks it delivered after. A worker killed
mid-send leaves the row `sending`; once the lease expires the row may be claimed again (by the
re-delivered task or the sweeper). Receivers see the same idempotency id on every attempt.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notices.events import Event, EventKind
from notices.grid import Function
from notices.models import MaintenanceNotice, NoticeState, TaxSystem
from notices.notify import channels
from notices.notify.models import (
    CHANNEL_KINDS_STORED,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from notices.notify.tokens import confirm_payload, confirm_token, unsubscribe_subscription_id
from notices.regions import resolve_region
from outage_portal import outbound
from outage_portal.models import Membership

log = logging.getLogger(__name__)

MAX_LEAD_MINUTES = 7 * 24 * 60
MIN_LEAD_MINUTES = 5
MAX_LEAD_TIMES = 5
# Kinds only members of a company can follow (their own company's events).
COMPANY_KINDS = {EventKind.RECONCILIATION_GAPS, EventKind.RECONCILIATION_RESOLVED}
# Who follows an event kind also hears how it ends: gap alerts are followed by their resolution.
FOLLOWED_BY = {EventKind.RECONCILIATION_RESOLVED: EventKind.RECONCILIATION_GAPS}


# --- Fan-out ----------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def absolute_url(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def event_payload(event: Event) -> dict:
    """The event as stored on each delivery and sent to webhooks (times ISO 8601 with offset)."""
    return {
        "kind": str(event.kind),
        "key": event.key,
        "subject": event.subject,
        "title": event.title,
        "body": event.body,
        "url": absolute_url(event.url),
        "regions": list(event.regions),
        "system": event.system,
        "functions": list(event.functions),
        "window_start": _iso(event.window_start),
        "window_end": _iso(event.window_end),
        "occurred_at": _iso(event.occurred_at or timezone.now()),
        "extra": event.extra,
    }


def subscription_matches(subscription: Subscription, event: Event, *, company_members: set[int]) -> bool:
    """Does this subscription want this event? Company events reach members of that company only."""
    followed = FOLLOWED_BY.get(event.kind)
    if str(event.kind) not in subscription.kinds and (followed is None or str(followed) not in subscription.kinds):
        return False
    if event.company_id is not None:
        # Private to the company: never a visitor, never a member of another company.
        return subscription.owner_id is not None and subscription.owner_id in company_members
    if subscription.regions and not set(subscription.regions) & set(event.regions):
        return False
    if subscription.systems and event.system not in subscription.systems:
        return False
    if subscription.functions and event.functions and not set(subscription.functions) & set(event.functions):
        return False
    lead = event.extra.get("lead_minutes") if event.kind == EventKind.WINDOW_STARTING_SOON else None
    return lead is None or lead in subscription.lead_minutes


def _target(subscription: Subscription) -> tuple[str, str, Channel | None, str] | None:
    """(target key, channel kind, channel, email) — one person's address is one target across subscriptions."""
    if subscription.channel_id:
        return f"channel:{subscription.channel_id}", subscription.channel.kind, subscription.channel, ""
    email = subscription.email or (subscription.owner.email if subscription.owner_id else "")
    if not email:
        return None
    return f"email:{email.strip().lower()}", ChannelKind.EMAIL, None, email.strip()


def candidate_subscriptions():
    return Subscription.objects.confirmed().select_related("owner", "channel")


def event_fanout(event: Event, *, subscriptions: list[Subscription] | None = None) -> int:
    """Write a delivery per matching target (at most one per target, ever) and queue them after commit.

    Called by `notices.events.event_publish`, inside or outside the publisher's transaction.
    Returns how many new deliveries were written.
    """
    if subscriptions is None:
        subscriptions = list(candidate_subscriptions())
    members: set[int] = set()
    if event.company_id is not None:
        members = set(Membership.objects.filter(company_id=event.company_id).values_list("user_id", flat=True))
    payload = event_payload(event)
    rows: dict[str, Delivery] = {}
    for subscription in subscriptions:
        if not subscription_matches(subscription, event, company_members=members):
            continue
        target = _target(subscription)
        if target is None or target[0] in rows:
            continue
        key, kind, channel, email = target
        rows[key] = Delivery(
            event_key=event.key[:200],
            event_kind=str(event.kind),
            title=event.title[:300],
            target=key[:300],
            channel_kind=kind,
            channel=channel,
            email=email,
            subscription=subscription,
            payload=payload,
        )
    if not rows:
        return 0
    with transaction.atomic():
        existing = set(
            Delivery.objects.filter(event_key=event.key[:200], target__in=list(rows)).values_list("target", flat=True)
        )
        new = [row for key, row in rows.items() if key not in existing]
        # ignore_conflicts: a concurrent publisher of the same event may have inserted some meanwhile.
        Delivery.objects.bulk_create(new, ignore_conflicts=True)
    event_key = event.key[:200]
    transaction.on_commit(lambda: _enqueue_pending(event_key))
    return len(new)


def _enqueue_pending(event_key: str) -> None:
    for pk in Delivery.objects.filter(event_key=event_key, state=DeliveryState.PENDING, attempts=0).values_list(
        "pk", flat=True
    ):
        delivery_enqueue(pk)


def delivery_enqueue(delivery_id: int, *, countdown: float | None = None) -> None:
    from notices.notify.tasks import delivery_send_task

    options = {"queue": settings.NOTIFY_QUEUE} if settings.NOTIFY_QUEUE else {}
    if countdown:
        options["countdown"] = countdown
    delivery_send_task.apply_async((delivery_id,), **options)


# --- Sending one delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    """What happened to one call: the row's state now, and when to look again (seconds), if ever."""

    state: str
    retry_in: float | None = None
    claimed: bool = False


def backoff_seconds(attempts: int) -> float:
    """Exponential: base, 2×base, 4×base … capped at an hour."""
    return min(settings.NOTIFY_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0)), 3600)


def delivery_attempt(*, delivery_id: int) -> AttemptOutcome:
    """Claim the delivery if it is due (or its lease expired), send it once, record the outcome."""
    now = timezone.now()
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    claimed = (
        Delivery.objects.filter(pk=delivery_id)
        .filter(
            Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
            | Q(state=DeliveryState.SENDING, lease_until__lt=now)
        )
        .update(state=DeliveryState.SENDING, lease_until=now + lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        row = Delivery.objects.filter(pk=delivery_id).values("state", "next_attempt_at", "lease_until").first()
        if row is None or row["state"] in (DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.SKIPPED):
            return AttemptOutcome(state=row["state"] if row else "missing")
        due = row["lease_until"] if row["state"] == DeliveryState.SENDING else row["next_attempt_at"]
        return AttemptOutcome(state=row["state"], retry_in=max((due - now).total_seconds(), 0) + 1)

    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    if _superseded(delivery):
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.SENDING).update(
            state=DeliveryState.SKIPPED,
            lease_until=None,
            last_error=_("Not sent: the window was cancelled or moved before this reminder went out."),
        )
        return AttemptOutcome(state=DeliveryState.SKIPPED, claimed=True)
    started = timezone.now()
    clock = time.monotonic()
    status_code: int | None = None
    error = ""
    permanent = False
    try:
        status_code = channels.send(delivery)
    except channels.SendError as exc:
        error, status_code, permanent = exc.message, exc.status_code, exc.permanent
    except Exception:  # a bug in rendering must not leave the row claimed until the lease ends
        log.exception("delivery %s failed unexpectedly", delivery_id)
        error = _("The send failed unexpectedly; the error is in the worker's log.")
    duration_ms = int((time.monotonic() - clock) * 1000)
    return _record(
        delivery, started=started, duration_ms=duration_ms, status_code=status_code, error=error, permanent=permanent
    )


def _superseded(delivery: Delivery) -> bool:
    """A reminder still waiting (e.g. retrying) when its window was cancelled or rescheduled must not go out."""
    if delivery.event_kind != EventKind.WINDOW_STARTING_SOON:
        return False
    notice = MaintenanceNotice.objects.filter(pk=delivery.payload.get("extra", {}).get("notice_id")).first()
    if notice is None or notice.state == NoticeState.CANCELLED:
        return True
    announced = delivery.payload.get("window_start")
    return announced is None or datetime.fromisoformat(announced) != notice.window_start


@transaction.atomic
def _record(
    delivery: Delivery, *, started, duration_ms: int, status_code: int | None, error: str, permanent: bool = False
) -> AttemptOutcome:
    now = timezone.now()
    ok = not error
    DeliveryAttempt.objects.get_or_create(
        delivery=delivery,
        number=delivery.attempts,
        defaults={
            "started_at": started,
            "duration_ms": duration_ms,
            "ok": ok,
            "status_code": status_code,
            "error": error[:2000],
        },
    )
    rows = Delivery.objects.filter(pk=delivery.pk)
    if ok:
        # Success wins even over a newer claim: the receiver has it (and dedupes by idempotency id).
        rows.exclude(state=DeliveryState.DELIVERED).update(
            state=DeliveryState.DELIVERED, delivered_at=now, lease_until=None, last_error=""
        )
        if delivery.channel_id:
            Channel.objects.filter(pk=delivery.channel_id).update(
                consecutive_failures=0, failing_since=None, last_error=""
            )
        return AttemptOutcome(state=DeliveryState.DELIVERED, claimed=True)

    if delivery.channel_id:
        Channel.objects.filter(pk=delivery.channel_id).update(
            consecutive_failures=F("consecutive_failures") + 1, last_error=error[:2000]
        )
        Channel.objects.filter(
            pk=delivery.channel_id,
            failing_since__isnull=True,
            consecutive_failures__gte=settings.NOTIFY_CHANNEL_FAILURE_THRESHOLD,
        ).update(failing_since=now)
    if permanent or delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS or delivery.is_test:
        state, retry_in = DeliveryState.FAILED, None
    else:
        state, retry_in = DeliveryState.PENDING, backoff_seconds(delivery.attempts)
    # Only the claim that made this attempt may record its failure (a stale worker must not undo a newer one).
    rows.filter(state=DeliveryState.SENDING, attempts=delivery.attempts).update(
        state=state,
        last_error=error[:2000],
        lease_until=None,
        next_attempt_at=now + timedelta(seconds=retry_in or 0),
    )
    return AttemptOutcome(state=state, retry_in=retry_in, claimed=True)


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Re-queue deliveries nobody is working on: leases that expired (a worker died mid-send) and due
    rows whose queued task was lost. Safe to overlap with live tasks: claiming decides who sends."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NOTIFY_SWEEP_GRACE_SECONDS)
    ids = list(
        Delivery.objects.filter(
            Q(state=DeliveryState.SENDING, lease_until__lt=now)
            | Q(state=DeliveryState.PENDING, next_attempt_at__lt=now - grace)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:1000]
    )
    for pk in ids:
        delivery_enqueue(pk)
    return len(ids)


# --- Channels ---------------------------------------------------------------------------------------


def _check_channel(channel: Channel) -> None:
    if channel.kind not in [k.value for k in CHANNEL_KINDS_STORED]:
        raise ValidationError({"kind": _("Choose WeCom, DingTalk or webhook.")})
    if channel.kind == ChannelKind.WEBHOOK and len(channel.secret) < 16:
        raise ValidationError({"secret": _("A webhook secret needs at least 16 characters.")})
    if channel.kind == ChannelKind.WECOM and channel.secret:
        raise ValidationError({"secret": _("WeCom robots have no signing secret; leave it empty.")})
    try:
        # Robots only at their official hosts; nothing at a private address. Checked again on every send.
        outbound.check_url(channel.url, official_hosts=channels.ROBOT_HOSTS.get(channel.kind, ()))
    except outbound.Refused as exc:
        raise ValidationError({"url": _("This address cannot be used: %(reason)s") % {"reason": exc.reason}})
    channel.full_clean()


@transaction.atomic
def channel_create(*, owner, name: str, kind: str, url: str, secret: str = "") -> Channel:
    channel = Channel(owner=owner, name=name.strip(), kind=kind, url=url.strip(), secret=secret.strip())
    _check_channel(channel)
    channel.save()
    return channel


@transaction.atomic
def channel_update(*, channel: Channel, name: str, url: str, secret: str | None = None) -> Channel:
    """`secret=None` (or empty) keeps the stored one: forms and API never show it back."""
    channel.name = name.strip()
    channel.url = url.strip()
    if secret:
        channel.secret = secret.strip()
    _check_channel(channel)
    channel.failing_since = None  # a fixed address deserves a fresh start
    channel.consecutive_failures = 0
    channel.save()
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel) -> None:
    channel.delete()


@transaction.atomic
def channel_send_test(*, channel: Channel, user) -> Delivery:
    """Queue a test message to one channel (a delivery of its own, never retried)."""
    now = timezone.now()
    event = Event(
        kind=EventKind.NOTICE_PUBLISHED,
        key=f"test:{channel.pk}:{uuid.uuid4().hex}",
        subject=f"test:{channel.pk}",
        title=_("Test message from the tax outage portal"),
        body=_("If you can read this, %(channel)s receives the portal's notifications.") % {"channel": channel.name},
        url="/subscriptions/",
        occurred_at=now,
        extra={"test": True, "requested_by": user.get_username()},
    )
    delivery = Delivery.objects.create(
        event_key=event.key,
        event_kind=str(event.kind),
        title=event.title,
        target=f"channel:{channel.pk}",
        channel_kind=channel.kind,
        channel=channel,
        payload=event_payload(event),
        is_test=True,
    )
    transaction.on_commit(lambda: delivery_enqueue(delivery.pk))
    return delivery


# --- Subscriptions ----------------------------------------------------------------------------------


def _check_subscription(subscription: Subscription) -> None:
    errors: dict[str, str] = {}
    kinds = subscription.kinds
    if not isinstance(kinds, list) or not kinds:
        errors["kinds"] = _("Choose at least one kind of event.")
    elif set(kinds) - set(EventKind.values) or len(set(kinds)) != len(kinds):
        errors["kinds"] = _("Unknown or repeated event kind.")
    elif subscription.owner_id is None and set(kinds) & {str(k) for k in COMPANY_KINDS}:
        errors["kinds"] = _("Reconciliation gaps go to members of the company only.")
    if not isinstance(subscription.functions, list) or set(subscription.functions) - set(Function.values):
        errors["functions"] = _("Unknown function.")
    known_regions = TaxSystem.objects.active().regions()
    if not isinstance(subscription.regions, list) or set(subscription.regions) - set(known_regions):
        errors["regions"] = _("Unknown region.")
    if not isinstance(subscription.systems, list) or (
        subscription.systems
        and TaxSystem.objects.filter(slug__in=subscription.systems).count() != len(set(subscription.systems))
    ):
        errors["systems"] = _("Unknown tax system.")
    leads = subscription.lead_minutes
    if (
        not isinstance(leads, list)
        or len(leads) > MAX_LEAD_TIMES
        or any(
            not isinstance(m, int) or isinstance(m, bool) or not MIN_LEAD_MINUTES <= m <= MAX_LEAD_MINUTES
            for m in leads
        )
    ):
        errors["lead_minutes"] = _("Up to %(n)s lead times, each between %(min)s minutes and 7 days.") % {
            "n": MAX_LEAD_TIMES,
            "min": MIN_LEAD_MINUTES,
        }
    else:
        subscription.lead_minutes = sorted(set(leads), reverse=True)
    if subscription.channel_id and subscription.channel.owner_id != subscription.owner_id:
        errors["channel"] = _("Choose one of your own channels.")
    if errors:
        raise ValidationError(errors)
    subscription.full_clean()


def _apply(subscription: Subscription, **fields) -> None:
    if fields.get("regions") is not None:  # a city follows its bureau: 西安 → 陕西
        fields["regions"] = list(dict.fromkeys(resolve_region(r) or r for r in fields["regions"]))
    for name in ("regions", "systems", "functions", "kinds", "lead_minutes"):
        if fields.get(name) is not None:
            setattr(subscription, name, list(fields[name]))


@transaction.atomic
def subscription_create(
    *,
    owner,
    kinds: list[str],
    regions: list[str] = (),
    systems: list[str] = (),
    functions: list[str] = (),
    lead_minutes: list[int] | None = None,
    channel: Channel | None = None,
) -> Subscription:
    """A member's subscription, delivered to their account email or to one of their channels."""
    if channel is None and not owner.email:
        raise ValidationError({"channel": _("Your account has no email address; choose a channel.")})
    subscription = Subscription(owner=owner, channel=channel, confirmed_at=timezone.now())
    _apply(subscription, kinds=kinds, regions=regions, systems=systems, functions=functions, lead_minutes=lead_minutes)
    _check_subscription(subscription)
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(
    *, subscription: Subscription, channel: Channel | bool | None = False, **fields
) -> Subscription:
    """Change what a subscription follows. `channel=False` keeps the current target."""
    _apply(subscription, **fields)
    if channel is not False:
        subscription.channel = channel
    _check_subscription(subscription)
    subscription.save()
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: Subscription) -> None:
    subscription.delete()


# --- Visitors: double opt-in, unsubscribe -----------------------------------------------------------


class RateLimited(Exception):
    """Too many confirmation emails asked for recently (per address or per client address)."""


def _bump(key: str, limit: int) -> bool:
    """Count one request in this hour's bucket; False once the limit is passed."""
    bucket = f"notify:optin:{key}:{int(time.time() // 3600)}"
    cache.add(bucket, 0, timeout=3700)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=3700)
        count = 1
    return count <= limit


def visitor_subscribe(
    *,
    email: str,
    kinds: list[str],
    regions: list[str] = (),
    systems: list[str] = (),
    functions: list[str] = (),
    lead_minutes: list[int] | None = None,
    client_ip: str = "",
) -> Subscription:
    """Record an unconfirmed subscription and mail its confirmation link (rate-limited)."""
    email = (email or "").strip()
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    if not _bump(f"email:{digest}", settings.NOTIFY_OPTIN_PER_EMAIL_PER_HOUR) or (
        client_ip and not _bump(f"ip:{client_ip}", settings.NOTIFY_OPTIN_PER_IP_PER_HOUR)
    ):
        raise RateLimited
    with transaction.atomic():
        # A newer request replaces an unconfirmed one for the same address.
        Subscription.objects.filter(owner__isnull=True, email__iexact=email, confirmed_at__isnull=True).delete()
        subscription = Subscription(email=email)
        _apply(
            subscription, kinds=kinds, regions=regions, systems=systems, functions=functions, lead_minutes=lead_minutes
        )
        _check_subscription(subscription)
        subscription.save()
    _send_confirmation(subscription)
    return subscription


def _send_confirmation(subscription: Subscription) -> None:
    url = settings.SITE_URL + reverse(
        "notices:notify-confirm", args=[confirm_token(subscription.pk, subscription.email)]
    )
    text = _(
        "Someone (hopefully you) asked to receive tax-system notices at this address.\n\n"
        "Confirm within three days: %(url)s\n\nIf it was not you, ignore this email; nothing will be sent."
    ) % {"url": url}
    message = EmailMultiAlternatives(
        subject=_("[Tax outage portal] Confirm your subscription"),
        body=text,
        to=[subscription.email],
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    try:
        message.send()
    except OSError as exc:
        subscription.delete()
        raise ValidationError(_("The confirmation email could not be sent: %(reason)s") % {"reason": exc})


def subscription_confirm(*, token: str) -> Subscription | None:
    """Confirm a visitor's subscription from the emailed link; None if the link is invalid or expired."""
    found = confirm_payload(token)
    if found is None:
        return None
    pk, email = found
    subscription = Subscription.objects.filter(pk=pk, owner__isnull=True, email__iexact=email).first()
    if subscription is not None and subscription.confirmed_at is None:
        subscription.confirmed_at = timezone.now()
        subscription.save(update_fields=["confirmed_at"])
    return subscription


def subscription_unsubscribe(*, token: str) -> bool | None:
    """Delete the subscription a signed unsubscribe link names. None: bad link; False: already gone."""
    pk = unsubscribe_subscription_id(token)
    if pk is None:
        return None
    deleted, _detail = Subscription.objects.filter(pk=pk).delete()
    return bool(deleted)
