"""Reads for pages that look across companies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from notices.models import Incident

from .models import FailureKind, ReconciliationRun, RunState


@dataclass(frozen=True)
class IncidentSuggestion:
    region: str
    companies: int
    since: datetime
    last_reason: str


def incident_suggestions(*, now: datetime) -> list[IncidentSuggestion]:
    """Regions where companies' tax-system sources are failing right now and no incident is open.

    A company counts when its latest run failed because of the source (or implausible data) within
    the last SOURCE_FAILURE_HOURS; a later successful run clears it. Notice admins see these on the
    dashboard with a link that opens an incident for the region. Three queries whatever the size.
    """
    since = now - timedelta(hours=settings.SOURCE_FAILURE_HOURS)
    failing = (
        ReconciliationRun.objects.latest_per_company()
        .filter(
            state=RunState.FAILED,
            failure_kind__in=[FailureKind.SOURCE, FailureKind.IMPLAUSIBLE],
            finished_at__gte=since,
        )
        .select_related("company")
        .order_by("finished_at")
    )
    by_region: dict[str, list[ReconciliationRun]] = {}
    for run in failing:
        by_region.setdefault(run.company.region, []).append(run)
    if not by_region:
        return []
    covered = set()
    for system_region, impact_regions in (
        Incident.objects.active()
        .filter(Q(system__region__in=list(by_region)) | ~Q(impact_regions=[]))
        .values_list("system__region", "impact_regions")
    ):
        covered.add(system_region)
        covered.update(impact_regions or [])
    return [
        IncidentSuggestion(
            region=region,
            companies=len({run.company_id for run in runs}),
            since=runs[0].finished_at,
            last_reason=runs[-1].failure_reason,
        )
        for region, runs in sorted(by_region.items())
        if region not in covered
    ]
