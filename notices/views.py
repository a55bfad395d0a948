"""Public pages of the catalogue: a page per system, per notice and per incident (no login needed)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from notices import selectors
from notices.conflicts import notice_warnings
from notices.models import Incident, MaintenanceNotice, TaxSystem


def system_detail(request, slug: str):
    system = get_object_or_404(TaxSystem, slug=slug)
    context = selectors.system_page(system, timezone.now())
    context.update(
        system=system,
        status_groups=[{"region": "", "rows": [context["status"]]}],
        notices=system.notices.not_cancelled().order_by("-window_start")[:20],
        incidents_recent=system.incidents.order_by("-started_at")[:20],
    )
    return render(request, "notices/system_detail.html", context)


def notice_detail(request, pk: int):
    notice = get_object_or_404(MaintenanceNotice.objects.select_related("system"), pk=pk)
    revisions = notice.revisions.select_related("changed_by").order_by("-number")
    return render(
        request,
        "notices/notice_detail.html",
        {"notice": notice, "revisions": revisions, "warnings": notice_warnings(notice)},
    )


def incident_detail(request, pk: int):
    incident = get_object_or_404(Incident.objects.select_related("system"), pk=pk)
    updates = incident.updates.order_by("-posted_at", "-pk")
    return render(request, "notices/incident_detail.html", {"incident": incident, "updates": updates})
