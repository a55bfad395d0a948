"""Which outage or maintenance windows cover a time and place (for attributing invoice gaps).

recovery uses this to attribute each gap to the incident or notice whose region, system and time
cover the invoice's issue time. Implemented by the notices module (issue 3).
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
    """Incidents and maintenance windows (not cancelled) overlapping [start, end) in the regions."""
    return []
