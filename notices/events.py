"""The one door through which anything that happens reaches subscribers.

Notices and incidents (this app) and reconciliation alerts (recovery) describe what happened as an
`Event` and call `event_publish` after their transaction commits. Subscriptions decide who hears it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    NOTICE_PUBLISHED = "notice_published", _("Notice published")
    NOTICE_CHANGED = "notice_changed", _("Notice changed (rescheduled)")
    NOTICE_CANCELLED = "notice_cancelled", _("Notice cancelled")
    WINDOW_STARTING_SOON = "window_starting_soon", _("Window starting soon")
    WINDOW_STARTED = "window_started", _("Window started")
    WINDOW_ENDED = "window_ended", _("Window ended")
    INCIDENT_OPENED = "incident_opened", _("Incident opened")
    INCIDENT_UPDATED = "incident_updated", _("Incident updated")
    INCIDENT_RESOLVED = "incident_resolved", _("Incident resolved")
    RECONCILIATION_GAPS = "reconciliation_gaps", _("Reconciliation found gaps")
    RECONCILIATION_RESOLVED = "reconciliation_resolved", _("Reconciliation gaps resolved")


@dataclass(frozen=True)
class Event:
    """Something subscribers may want to hear about.

    `key` identifies this occurrence (e.g. "notice:12:rev:3", "alert:88"): the same key is never
    delivered twice to the same target. `subject` identifies what it is about across occurrences
    ("notice:12"), so a changed or cancelled window replaces the reminders scheduled for it.
    `company_id` is set only for company-private events (reconciliation gaps, and their resolution): those reach members
    of that company only. Texts are already rendered (Chinese by default; `title_en`/`body_en` optional).
    """

    kind: EventKind
    key: str
    subject: str
    title: str
    body: str
    url: str
    regions: tuple[str, ...] = ()
    system: str = ""
    functions: tuple[str, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None
    company_id: int | None = None
    occurred_at: datetime | None = None
    extra: dict = field(default_factory=dict)


def event_publish(event: Event) -> None:
    """Hand an event to subscriptions: one delivery row per matching target, queued after commit.

    Call it inside the publisher's transaction (the deliveries then commit or roll back with the
    change) or in `transaction.on_commit`. Publishing the same `key` again adds nothing.
    """
    from notices.notify.services import event_fanout

    event_fanout(event)
