"""Derived status: each system's state per function, now and per calendar day.

Nothing here is typed by hand. A maintenance window covering a moment (unless cancelled) puts its
functions in maintenance; an incident not yet resolved puts its functions in outage (major,
critical) or degraded (minor); the worst state wins. `StatusDay` rows cache the same derivation per
Asia/Shanghai day for the 90-day history bars: `status_days_refresh` recomputes the days a notice or
incident touches (called when one changes, see notices.status.signals) and a nightly beat task recomputes
yesterday and today for every system (ongoing incidents run into new days).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notices.grid import Function
from notices.models import Incident, MaintenanceNotice, NoticeState, Severity, TaxSystem
from notices.status.models import ComponentState, StatusDay

# Worst last: the index is the severity of a state.
STATE_RANK = {state: rank for rank, state in enumerate(ComponentState.values)}
HISTORY_DAYS = 90


def worst(states: Iterable[str]) -> str:
    return max(states, key=STATE_RANK.__getitem__, default=ComponentState.OPERATIONAL)


def incident_state(severity: str) -> str:
    return ComponentState.DEGRADED if severity == Severity.MINOR else ComponentState.OUTAGE


def covering_notices(now: datetime):
    """Windows (not cancelled) that cover `now`."""
    return MaintenanceNotice.objects.not_cancelled().filter(window_start__lte=now, window_end__gt=now)


def active_incidents(now: datetime):
    """Incidents not resolved that have started and not ended by `now`."""
    return Incident.objects.active().filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now), started_at__lte=now)


@dataclass
class Cell:
    """One system × function: its state and what caused it (notices and incidents covering now)."""

    function: str
    label: str
    offered: bool
    state: str = ComponentState.OPERATIONAL
    notices: list = field(default_factory=list)
    incidents: list = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return ComponentState(self.state).label


@dataclass
class SystemStatus:
    system: TaxSystem
    cells: list[Cell]

    @property
    def state(self) -> str:
        return worst(cell.state for cell in self.cells if cell.offered)

    @property
    def state_label(self) -> str:
        return ComponentState(self.state).label

    @property
    def affected_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.offered and cell.state != ComponentState.OPERATIONAL]


def status_grid(
    systems: Iterable[TaxSystem],
    *,
    notices: Iterable[MaintenanceNotice],
    incidents: Iterable[Incident],
    functions: Iterable[str] | None = None,
) -> list[SystemStatus]:
    """Each system's cells from the notices covering now and the incidents active now (already loaded).

    Pure Python over rows the caller fetched once, so any page builds the grid in constant queries.
    """
    columns = list(functions) if functions else list(Function.values)
    labels = dict(Function.choices)
    by_system: dict[int, SystemStatus] = {}
    result = []
    for system in systems:
        offered = set(system.functions)
        row = SystemStatus(system, [Cell(f, labels[f], f in offered) for f in columns])
        by_system[system.pk] = row
        result.append(row)
    for notice in notices:
        row = by_system.get(notice.system_id)
        if row is None:
            continue
        for cell in row.cells:
            if cell.function in notice.functions:
                cell.notices.append(notice)
                cell.state = worst([cell.state, ComponentState.MAINTENANCE])
    for incident in incidents:
        row = by_system.get(incident.system_id)
        if row is None:
            continue
        for cell in row.cells:
            if cell.function in incident.functions:
                cell.incidents.append(incident)
                cell.state = worst([cell.state, incident_state(incident.severity)])
    return result


def current_status(now: datetime, *, systems=None, functions: Iterable[str] | None = None) -> list[SystemStatus]:
    """The grid now, in three queries (systems, covering windows, active incidents)."""
    systems = list(systems if systems is not None else TaxSystem.objects.active())
    ids = [s.pk for s in systems]
    return status_grid(
        systems,
        notices=covering_notices(now).filter(system_id__in=ids).order_by("window_start"),
        incidents=active_incidents(now).filter(system_id__in=ids).order_by("started_at"),
        functions=functions,
    )


# --- Daily history ------------------------------------------------------------------------------


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _union_minutes(intervals: list[tuple[datetime, datetime]]) -> int:
    total = timedelta()
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return round(total.total_seconds() / 60)


def status_days_refresh(*, system_ids: Iterable[int], first_day: date, last_day: date, now: datetime | None = None):
    """Recompute `StatusDay` rows for the systems over [first_day, last_day] (Asia/Shanghai days, inclusive).

    An incident still open counts until `now`; days after today are computed too (a scheduled
    window's future days), so the bar is right the moment a day begins.
    """
    now = now or timezone.now()
    system_ids = sorted(set(system_ids))
    if not system_ids or last_day < first_day:
        return
    range_start, _ = local_day_bounds(first_day)
    _, range_end = local_day_bounds(last_day)
    # (system, start, end, state) for everything touching the range.
    spans: dict[int, list[tuple[datetime, datetime, str]]] = {pk: [] for pk in system_ids}
    notices = (
        MaintenanceNotice.objects.filter(system_id__in=system_ids)
        .exclude(state=NoticeState.CANCELLED)
        .overlapping(range_start, range_end)
        .values_list("system_id", "window_start", "window_end")
    )
    for system_id, start, end in notices:
        spans[system_id].append((start, end, ComponentState.MAINTENANCE))
    incidents = (
        Incident.objects.filter(system_id__in=system_ids)
        .overlapping(range_start, range_end)
        .values_list("system_id", "started_at", "ended_at", "severity")
    )
    for system_id, start, end, severity in incidents:
        end = end or max(now, start)
        if end > start:
            spans[system_id].append((start, end, incident_state(severity)))

    rows = []
    day = first_day
    while day <= last_day:
        day_start, day_end = local_day_bounds(day)
        for system_id in system_ids:
            down, maintenance, states = [], [], []
            for start, end, state in spans[system_id]:
                if start < day_end and end > day_start:
                    clipped = (max(start, day_start), min(end, day_end))
                    states.append(state)
                    (maintenance if state == ComponentState.MAINTENANCE else down).append(clipped)
            rows.append(
                StatusDay(
                    system_id=system_id,
                    day=day,
                    state=worst(states),
                    minutes_down=_union_minutes(down),
                    minutes_maintenance=_union_minutes(maintenance),
                )
            )
        day += timedelta(days=1)
    with transaction.atomic():
        StatusDay.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["system", "day"],
            update_fields=["state", "minutes_down", "minutes_maintenance"],
            batch_size=1000,
        )


def status_days_refresh_span(
    *, system_id: int, start: datetime, end: datetime | None, now: datetime | None = None
) -> None:
    """Recompute the days a window or incident [start, end) touches (end None: still going on)."""
    now = now or timezone.now()
    last = end or max(now, start)
    status_days_refresh(system_ids=[system_id], first_day=local_date(start), last_day=local_date(last), now=now)


def status_days_refresh_recent(*, now: datetime | None = None, days: int = 2) -> None:
    """Nightly: recompute the last `days` days (today included) for every system."""
    now = now or timezone.now()
    today = local_date(now)
    ids = list(TaxSystem.objects.values_list("pk", flat=True))
    status_days_refresh(system_ids=ids, first_day=today - timedelta(days=days - 1), last_day=today, now=now)


def history(system_ids: Iterable[int], *, today: date, days: int = HISTORY_DAYS) -> dict[int, dict[date, StatusDay]]:
    """The last `days` StatusDay rows per system, in one query. Missing days were operational."""
    first = today - timedelta(days=days - 1)
    result: dict[int, dict[date, StatusDay]] = {pk: {} for pk in system_ids}
    for row in StatusDay.objects.filter(system_id__in=list(result), day__gte=first, day__lte=today).only(
        "system_id", "day", "state", "minutes_down", "minutes_maintenance"
    ):
        result[row.system_id][row.day] = row
    return result


# Colours match static/css/portal.css .state-*.
STATE_COLOURS = {
    ComponentState.OPERATIONAL: "#198754",
    ComponentState.MAINTENANCE: "#0d6efd",
    ComponentState.DEGRADED: "#ffc107",
    ComponentState.OUTAGE: "#dc3545",
}
DAY_WIDTH = 3  # pixels per day: a 2-pixel mark and a 1-pixel gap


@dataclass
class HistoryBar:
    """A 90-day bar as one SVG: a dashed operational background (one mark per day) and one path per
    other state holding that state's days, so a bar is at most four elements however long the history."""

    days: int
    paths: list[tuple[str, str, str]]  # (state, colour, path data) for the states other than operational
    counts: dict[str, int]
    bad_days: list[StatusDay]  # newest first

    @property
    def width(self) -> int:
        return self.days * DAY_WIDTH

    @property
    def operational_colour(self) -> str:
        return STATE_COLOURS[ComponentState.OPERATIONAL]

    @property
    def uptime_percent(self) -> str:
        minutes = self.days * 24 * 60
        down = sum(row.minutes_down for row in self.bad_days)
        return f"{100 * (minutes - down) / minutes:.2f}"


def history_bar(rows: dict[date, StatusDay], *, today: date, days: int = HISTORY_DAYS) -> HistoryBar:
    first = today - timedelta(days=days - 1)
    segments: dict[str, list[str]] = {}
    counts = dict.fromkeys(ComponentState.values, 0)
    bad = []
    for offset in range(days):
        row = rows.get(first + timedelta(days=offset))
        state = row.state if row else ComponentState.OPERATIONAL
        counts[state] += 1
        if state != ComponentState.OPERATIONAL:
            segments.setdefault(state, []).append(f"M{offset * DAY_WIDTH} 0h2v20h-2z")
            bad.append(row)
    paths = [
        (state, STATE_COLOURS[state], "".join(segments[state])) for state in ComponentState.values if state in segments
    ]
    return HistoryBar(days=days, paths=paths, counts=counts, bad_days=list(reversed(bad)))
