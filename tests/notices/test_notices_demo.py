"""The notices part of the demo: the Xi'an notice's windows around the load day, the Beijing outage."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from demo import foundation as foundation_demo
from demo import notices as notices_demo
from notices.conflicts import notice_warnings
from notices.models import FilingDeadline, Incident, MaintenanceNotice, TextTemplate
from notices.services import notice_state_at

pytestmark = pytest.mark.django_db


def load():
    out = io.StringIO()
    foundation_demo.load(out)
    notices_demo.load(out)


def test_demo_is_idempotent_and_tells_the_two_stories():
    load()
    counts = (MaintenanceNotice.objects.count(), Incident.objects.count(), FilingDeadline.objects.count())
    load()
    assert counts == (MaintenanceNotice.objects.count(), Incident.objects.count(), FilingDeadline.objects.count())
    assert FilingDeadline.objects.count() == 12 and FilingDeadline.objects.exclude(note="").exists()
    assert TextTemplate.objects.count() == 3

    now = timezone.now()
    xian = MaintenanceNotice.objects.filter(system__slug="shaanxi-vat-invoice").order_by("window_start")
    assert [notice_state_at(n, now) for n in xian] == ["completed", "in_progress", "scheduled"]
    assert [n.state for n in xian] == ["completed", "in_progress", "scheduled"]  # the beat's view agrees
    upcoming = xian.last()
    assert upcoming.revisions.get().window_moved
    assert "contradiction" in {w.code for w in notice_warnings(upcoming)}

    incident = Incident.objects.get(system__slug="beijing-vat-invoice")
    start, end = foundation_demo.beijing_outage_window()
    assert (incident.started_at, incident.ended_at) == (start, end)
    assert incident.functions == ["issue"] and incident.state == "resolved"
    assert [u.state for u in incident.updates.order_by("posted_at")] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    assert "数据同步" in incident.postmortem_html
