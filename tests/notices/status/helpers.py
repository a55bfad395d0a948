"""Rows for the status tests, created straight through the ORM (the write services belong to notices)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from notices.models import Incident, IncidentUpdate, MaintenanceNotice, TaxSystem

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2026-10-10 08:00' in Asia/Shanghai."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def system(slug: str = "shaanxi-vat-invoice") -> TaxSystem:
    """A catalogue system as the seed migration makes it (re-created if a transactional test flushed it)."""
    from notices.regions import REGIONS, SYSTEMS

    if not TaxSystem.objects.filter(slug=slug).exists():
        for order, region in enumerate(REGIONS):
            for suffix, name, functions, description in SYSTEMS:
                TaxSystem.objects.get_or_create(
                    slug=f"{region.slug}-{suffix}",
                    defaults={
                        "region": region.name,
                        "name": name,
                        "functions": functions,
                        "description": description,
                        "sort_order": order,
                    },
                )
    return TaxSystem.objects.get(slug=slug)


def make_notice(sys=None, *, start, end, functions=("issue", "query"), title="西安增值税发票管理系统停机维护", **extra):
    return MaintenanceNotice.objects.create(
        system=sys or system(),
        title=title,
        window_start=start,
        window_end=end,
        functions=list(functions),
        body_html=extra.pop("body_html", "<p>维护期间暂停开具、查询。</p>"),
        **extra,
    )


def make_incident(
    sys=None, *, start, end=None, severity="major", functions=("issue",), title="北京发票数据同步故障", **extra
):
    return Incident.objects.create(
        system=sys or system("beijing-vat-invoice"),
        title=title,
        started_at=start,
        ended_at=end,
        severity=severity,
        functions=list(functions),
        state=extra.pop("state", "resolved" if end else "investigating"),
        **extra,
    )


def make_update(incident, *, body="<p>已定位故障原因，正在修复。</p>", state="identified", posted_at=None):
    return IncidentUpdate.objects.create(
        incident=incident,
        state=state,
        body_markdown=body,
        body_html=body,
        posted_at=posted_at or incident.started_at + timedelta(minutes=30),
    )


def bulk_history(*, systems: int, notices: int, incidents: int, now: datetime) -> None:
    """Demo-sized history: windows and incidents spread over the last 120 days and the next 30."""
    system()  # the catalogue is there even after a transactional test flushed it
    rows = list(TaxSystem.objects.order_by("pk")[:systems])
    MaintenanceNotice.objects.bulk_create(
        MaintenanceNotice(
            system=rows[i % len(rows)],
            title=f"维护通知 {i}",
            window_start=now - timedelta(days=120) + timedelta(hours=7 * i),
            window_end=now - timedelta(days=120) + timedelta(hours=7 * i + 4),
            functions=["issue", "query"],
            body_html="<p>维护</p>",
        )
        for i in range(notices)
    )
    Incident.objects.bulk_create(
        Incident(
            system=rows[i % len(rows)],
            title=f"故障 {i}",
            started_at=now - timedelta(days=120) + timedelta(hours=13 * i),
            ended_at=now - timedelta(days=120) + timedelta(hours=13 * i + 2),
            severity=["minor", "major", "critical"][i % 3],
            functions=["issue"],
            state="resolved",
        )
        for i in range(incidents)
    )
