"""Reads for the status page, the system page and the finance dashboard's status panels.

Each builds everything from a fixed handful of queries, whatever the number of notices, incidents
and days (the status page is what everyone opens during an outage).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from notices.grid import Function
from notices.models import Incident, IncidentState, IncidentUpdate, MaintenanceNotice, TaxSystem
from notices.status import derived
from notices.status.models import ComponentState

UPCOMING_DAYS_PAGE = 30
UPCOMING_DAYS_DASHBOARD = 14
RECENTLY_RESOLVED_DAYS = 7


def _windows(now: datetime, *, days: int, systems=None):
    """Windows (not cancelled) in progress now or starting within `days`, soonest first."""
    queryset = (
        MaintenanceNotice.objects.not_cancelled()
        .filter(window_end__gt=now, window_start__lt=now + timedelta(days=days))
        .select_related("system")
        .order_by("window_start", "pk")
    )
    if systems is not None:
        queryset = queryset.filter(system__in=systems)
    return list(queryset)


def _active_incidents(now: datetime, *, systems=None):
    latest_first = IncidentUpdate.objects.order_by("-posted_at", "-pk")
    queryset = (
        derived.active_incidents(now)
        .select_related("system")
        .prefetch_related(Prefetch("updates", queryset=latest_first, to_attr="updates_latest_first"))
        .order_by("-started_at", "-pk")
    )
    if systems is not None:
        queryset = queryset.filter(system__in=systems)
    return list(queryset)


def _split(windows, now):
    current = [n for n in windows if n.window_start <= now]
    upcoming = [n for n in windows if n.window_start > now]
    return current, upcoming


def next_change(now: datetime, windows) -> datetime:
    """When the derived status next changes by the clock alone: a window opening or closing, or midnight
    (the history bars move on a day). Caches of the status must not outlive it."""
    moments = [m for n in windows for m in (n.window_start, n.window_end) if m > now]
    local = timezone.localtime(now)
    midnight = timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), datetime.min.time()))
    return min([midnight, *moments])


def status_page(now: datetime) -> dict:
    """Everything the public status page shows: the grid by region, active incidents, windows now and
    upcoming, recently resolved incidents and a 90-day bar per system. Six queries."""
    systems = list(TaxSystem.objects.active())
    windows = _windows(now, days=UPCOMING_DAYS_PAGE)
    current, upcoming = _split(windows, now)
    incidents = _active_incidents(now)
    resolved = list(
        Incident.objects.filter(
            state=IncidentState.RESOLVED, ended_at__gte=now - timedelta(days=RECENTLY_RESOLVED_DAYS)
        )
        .select_related("system")
        .order_by("-ended_at", "-pk")[:20]
    )
    grid = derived.status_grid(systems, notices=current, incidents=incidents)
    today = derived.local_date(now)
    days = derived.history([s.pk for s in systems], today=today)
    # By region, in the order regions first appear (a region's systems need not be contiguous).
    regions: dict[str, dict] = {}
    for row in grid:
        row.history = derived.history_bar(days[row.system.pk], today=today)
        regions.setdefault(row.system.region, {"region": row.system.region, "rows": []})["rows"].append(row)
    affected = [row for row in grid if row.state != ComponentState.OPERATIONAL]
    return {
        "now": now,
        "regions": list(regions.values()),
        "grid": grid,
        "affected": affected,
        # An outage (a major or critical incident) turns the banner red, not the yellow of maintenance.
        "severe": any(row.state == ComponentState.OUTAGE for row in affected),
        "current_windows": current,
        "upcoming_windows": upcoming,
        "incidents": incidents,
        "resolved_incidents": resolved,
        "functions": Function.choices,
        "valid_until": next_change(now, windows),
    }


def system_page(system: TaxSystem, now: datetime) -> dict:
    """A system's current state per function, its windows now and upcoming, active incidents, 90-day bar."""
    windows = _windows(now, days=UPCOMING_DAYS_PAGE, systems=[system])
    current, upcoming = _split(windows, now)
    incidents = _active_incidents(now, systems=[system])
    [row] = derived.status_grid([system], notices=current, incidents=incidents)
    today = derived.local_date(now)
    row.history = derived.history_bar(derived.history([system.pk], today=today)[system.pk], today=today)
    return {
        "status": row,
        "current_windows": current,
        "upcoming_windows": upcoming,
        "incidents": incidents,
        "functions": Function.choices,
    }


def dashboard_panels(now: datetime) -> dict:
    """The finance dashboard's status panels: what is not operational now (and a compact grid),
    windows in the next 14 days, active incidents. Four queries."""
    systems = list(TaxSystem.objects.active())
    windows = _windows(now, days=UPCOMING_DAYS_DASHBOARD)
    current, upcoming = _split(windows, now)
    incidents = _active_incidents(now)
    grid = derived.status_grid(systems, notices=current, incidents=incidents)
    affected_cells = [(row, cell) for row in grid for cell in row.affected_cells]
    return {
        "now": now,
        "grid": grid,
        "functions": Function.choices,
        "affected_cells": affected_cells,
        "current_windows": current,
        "upcoming_windows": upcoming,
        "incidents": incidents,
    }


def notice_text_proposal(*, text: str, published=None):
    """What a pasted announcement says, with the catalogue system it names (None when the text names
    no region or system, or the catalogue has no such system in that region)."""
    from notices.parsing import parse_notice_text

    proposal = parse_notice_text(text, regions=list(TaxSystem.objects.regions()), published=published)
    system = None
    if proposal.region and proposal.system_name:
        system = TaxSystem.objects.filter(region=proposal.region, name=proposal.system_name, is_active=True).first()
    return proposal, system
