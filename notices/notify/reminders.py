""" "Window starting soon": one event per notice, window start and lead time, for the subscribers
whose lead time has come.

Keyed `reminder:notice:<pk>:<window start>:<lead>`, so a rescheduled window gets fresh reminders, a
cancelled notice none (it is skipped; its cancellation is an event of its own), and running the beat
again adds nothing (deliveries are unique per event key and target). When several of one
subscriber's lead times are due at once (a beat outage, a notice posted late), only the nearest is
sent. A lead time that fell before the notice was even published is skipped: the notice itself
told them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notices.events import Event, EventKind
from notices.models import MaintenanceNotice, NoticeState
from notices.notify.models import Subscription
from outage_portal.timefmt import local_text

from .services import candidate_subscriptions, event_fanout, subscription_matches


def _lead_label(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return _("%(n)s day(s)") % {"n": days}
    if minutes % 60 == 0:
        return _("%(n)s hour(s)") % {"n": minutes // 60}
    return _("%(n)s minute(s)") % {"n": minutes}


def reminder_event(notice: MaintenanceNotice, lead_minutes: int) -> Event:
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Starts in %(lead)s: %(title)s") % {"lead": _lead_label(lead_minutes), "title": notice.title}
        body = _("%(system)s maintenance starts at %(start)s.") % {
            "system": notice.system,
            "start": local_text(notice.window_start),
        }
    return Event(
        kind=EventKind.WINDOW_STARTING_SOON,
        key=f"reminder:notice:{notice.pk}:{notice.window_start.astimezone(UTC):%Y%m%dT%H%M%SZ}:{lead_minutes}",
        subject=f"notice:{notice.pk}",
        title=title,
        body=body,
        url=notice.get_absolute_url(),
        regions=(notice.system.region,),
        system=notice.system.slug,
        functions=tuple(notice.functions),
        window_start=notice.window_start,
        window_end=notice.window_end,
        occurred_at=timezone.now(),
        extra={"lead_minutes": lead_minutes, "notice_id": notice.pk},
    )


def due_lead(subscription: Subscription, notice: MaintenanceNotice, now: datetime) -> int | None:
    """The nearest of the subscriber's lead times that has come for this window, or None."""
    due = [
        lead
        for lead in subscription.lead_minutes
        if notice.published_at <= notice.window_start - timedelta(minutes=lead) <= now
    ]
    return min(due) if due else None


def reminders_send(*, now: datetime | None = None) -> int:
    """Beat entry: fan out every reminder that has come. Returns how many deliveries were written."""
    now = now or timezone.now()
    kind = str(EventKind.WINDOW_STARTING_SOON)
    subscriptions = [s for s in candidate_subscriptions() if kind in s.kinds and s.lead_minutes]
    if not subscriptions:
        return 0
    horizon = max(max(s.lead_minutes) for s in subscriptions)
    notices = (
        MaintenanceNotice.objects.exclude(state__in=[NoticeState.CANCELLED, NoticeState.COMPLETED])
        .filter(window_start__gt=now, window_start__lte=now + timedelta(minutes=horizon))
        .select_related("system")
    )
    written = 0
    for notice in notices:
        by_lead: dict[int, list[Subscription]] = defaultdict(list)
        probe = reminder_event(notice, 0)
        for subscription in subscriptions:
            lead = due_lead(subscription, notice, now)
            if lead is not None and subscription_matches(subscription, _with_lead(probe, lead), company_members=set()):
                by_lead[lead].append(subscription)
        for lead, matched in by_lead.items():
            written += event_fanout(reminder_event(notice, lead), subscriptions=matched)
    return written


def _with_lead(event: Event, lead: int) -> Event:
    return replace(event, extra={**event.extra, "lead_minutes": lead})
