"""Which outage or maintenance windows cover a time and place (for attributing invoice gaps).

recovery uses this to attribute each gap to the incident or notice whose region, system and time
cover the invoice's issue time. Implemented by the notices module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OutageWindow:
    kind: str  # "incident" or "notice"
    id: int
    region: str
    system: str
    title: str
    start: datetime
    end: datetime | None  # None: still going on
    url: str
    functions: tuple[str, ...] = ()  # affected functions (notices.grid.Function values); empty: all


def outage_windows(*, regions: list[str] | None = None, start: datetime, end: datetime) -> list[OutageWindow]:
    """Incidents and maintenance windows (not cancelled) overlapping [start, end) in the regions.

    An incident also covers the regions named in its impact scope; it is then reported under the
    asked region. Incidents come first: an unplanned outage explains a gap better than maintenance
    at the same hour. Two queries whatever the number of windows.
    """
    from notices.models import Incident, MaintenanceNotice
    from notices.regions import resolve_region

    # A city asks for its bureau's region (西安 → 陕西), as rows store it.
    wanted = {resolve_region(r) or r for r in regions} if regions is not None else None
    found: list[OutageWindow] = []
    for incident in Incident.objects.overlapping(start, end).select_related("system").order_by("started_at", "pk"):
        covered = [incident.system.region, *incident.impact_regions]
        matched = covered if wanted is None else [r for r in covered if r in wanted]
        if matched:
            found.append(
                OutageWindow(
                    kind="incident",
                    id=incident.pk,
                    region=matched[0],
                    system=incident.system.slug,
                    title=incident.title,
                    start=incident.started_at,
                    end=incident.ended_at,
                    url=incident.get_absolute_url(),
                )
            )
    notices = MaintenanceNotice.objects.not_cancelled().overlapping(start, end).select_related("system")
    if wanted is not None:
        notices = notices.filter(system__region__in=wanted)
    for notice in notices.order_by("window_start", "pk"):
        found.append(
            OutageWindow(
                kind="notice",
                id=notice.pk,
                region=notice.system.region,
                system=notice.system.slug,
                title=notice.title,
                start=notice.window_start,
                end=notice.window_end,
                url=notice.get_absolute_url(),
            )
        )
    return found
