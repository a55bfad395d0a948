"""Dashboard reminder: a filing deadline approaches while an outage (or a maintenance window) covers it.

Read-only; a handful of queries whatever the number of companies, deadlines and windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from outage_portal.models import Company

from ..reissue.models import ReviewState
from ..reissue.services import DRAFTERS
from .models import DeferredFiling


@dataclass(frozen=True)
class FilingReminder:
    company: Company
    deadline: object  # notices.models.FilingDeadline
    window_title: str
    window_url: str
    incident_id: int | None
    application: DeferredFiling | None

    @property
    def days_left(self) -> int:
        return (self.deadline.deadline - timezone.localdate()).days


def deferred_filing_reminders(*, user, now: datetime | None = None) -> list[FilingReminder]:
    """For the user's companies where they are an accountant: deadlines within
    `DEFERRED_FILING_REMIND_DAYS` that an active incident or a maintenance window in the company's
    region overlaps, with the application already prepared for it (if any)."""
    from notices.models import FilingDeadline, Incident, MaintenanceNotice

    now = now or timezone.now()
    companies = list(Company.objects.for_user(user, roles=DRAFTERS))
    if not companies:
        return []
    today = timezone.localdate(now)
    horizon = today + timedelta(days=settings.DEFERRED_FILING_REMIND_DAYS)
    regions = {c.region for c in companies}
    deadlines = list(
        FilingDeadline.objects.filter(deadline__gte=today, deadline__lte=horizon).filter(
            Q(region__in=regions) | Q(region="")
        )
    )
    if not deadlines:
        return []
    tz = timezone.get_current_timezone()
    last_end = datetime.combine(max(d.deadline for d in deadlines) + timedelta(days=1), time.min, tzinfo=tz)
    incidents = list(Incident.objects.active().filter(started_at__lte=now).select_related("system"))
    notices = list(MaintenanceNotice.objects.not_cancelled().overlapping(now, last_end).select_related("system"))
    existing = {
        (a.company_id, a.period, a.tax_type): a
        for a in DeferredFiling.objects.filter(company__in=companies, deadline__gte=today).exclude(
            state=ReviewState.CLOSED
        )
    }
    found: list[FilingReminder] = []
    for company in companies:
        for deadline in deadlines:
            if deadline.region and deadline.region != company.region:
                continue
            end_of_deadline = datetime.combine(deadline.deadline + timedelta(days=1), time.min, tzinfo=tz)
            window = next(
                (
                    (i.title, i.get_absolute_url(), i.pk)
                    for i in incidents
                    if company.region in {i.system.region, *(i.impact_regions or [])}
                ),
                None,
            ) or next(
                (
                    (n.title, n.get_absolute_url(), None)
                    for n in notices
                    if n.system.region == company.region and n.window_start < end_of_deadline and n.window_end > now
                ),
                None,
            )
            if window is None:
                continue
            found.append(
                FilingReminder(
                    company=company,
                    deadline=deadline,
                    window_title=window[0],
                    window_url=window[1],
                    incident_id=window[2],
                    application=existing.get((company.pk, deadline.period, deadline.tax_type)),
                )
            )
    return found
