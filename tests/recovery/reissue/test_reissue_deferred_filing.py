"""Deferred-filing applications (延期申报): the same review workflow, the incident timeline as
evidence, and the dashboard reminder while a deadline approaches during an outage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from notices.models import FilingDeadline, Incident, IncidentUpdate, MaintenanceNotice, TaxSystem
from outage_portal.timefmt import local_text
from recovery.deferred import services as deferred_services
from recovery.deferred.models import DeferredFiling
from recovery.deferred.reminders import deferred_filing_reminders
from recovery.reissue.models import ReviewState
from recovery.reissue.services import InvalidTransition

pytestmark = pytest.mark.usefixtures("messages_in_english")


@pytest.fixture
def bj_system(db):
    return TaxSystem.objects.filter(region="北京").first() or TaxSystem.objects.create(
        region="北京", name="电子税务局", slug="bj-etax-test"
    )


@pytest.fixture
def outage(bj_system):
    incident = Incident.objects.create(
        system=bj_system, title="北京电子税务局无法申报", started_at=timezone.now() - timedelta(hours=3)
    )
    IncidentUpdate.objects.create(incident=incident, state="identified", body_markdown="申报功能不可用")
    return incident


@pytest.fixture
def deadline(db):
    today = timezone.localdate()
    return FilingDeadline.objects.create(
        region="北京",
        period=(today.replace(day=1) - timedelta(days=1)).replace(day=1),
        tax_type="增值税",
        deadline=today + timedelta(days=2),
    )


def create(company, user, deadline, incident=None, **kw):
    return deferred_services.deferred_filing_create(
        company=company,
        user=user,
        period=deadline.period,
        tax_type=deadline.tax_type,
        deadline=deadline.deadline,
        reason="系统故障，无法申报",
        incident=incident,
        filing_deadline=deadline,
        **kw,
    )


def test_workflow_snapshots_the_incident_timeline_at_submission(beijing, alice, bob, outage, deadline):
    application = create(beijing, alice, deadline, outage)
    deferred_services.deferred_filing_submit(application=application, user=alice)
    application.refresh_from_db()
    assert [row["text"] for row in application.timeline_snapshot] == ["北京电子税务局无法申报", "申报功能不可用"]
    deferred_services.deferred_filing_return(application=application, user=bob, comment="请写明故障时间")
    deferred_services.deferred_filing_update(application=application, user=alice, reason="系统故障（3小时），无法申报")
    deferred_services.deferred_filing_submit(application=application, user=alice)
    deferred_services.deferred_filing_approve(application=application, user=bob)
    deferred_services.deferred_filing_close(application=application, user=alice, comment="已提交税务局")
    application.refresh_from_db()
    assert application.state == ReviewState.CLOSED
    assert list(application.transitions.values_list("to_state", flat=True)) == [
        "draft",
        "submitted",
        "returned",
        "submitted",
        "approved",
        "closed",
    ]


def test_same_rules_as_reissue_requests(beijing, alice, bob, erin, fiona, charlie, deadline):
    with pytest.raises(PermissionDenied):
        create(beijing, bob, deadline)
    application = create(beijing, erin, deadline)
    with pytest.raises(PermissionDenied):
        deferred_services.deferred_filing_submit(application=application, user=fiona)
    deferred_services.deferred_filing_submit(application=application, user=erin)
    with pytest.raises(PermissionDenied, match="own"):
        deferred_services.deferred_filing_approve(application=application, user=erin)
    with pytest.raises(ValidationError):
        deferred_services.deferred_filing_return(application=application, user=bob, comment="")
    with pytest.raises(InvalidTransition):
        deferred_services.deferred_filing_close(application=application, user=erin)


def test_requested_deadline_must_be_later(beijing, alice, deadline):
    with pytest.raises(ValidationError, match="after"):
        create(beijing, alice, deadline, requested_deadline=deadline.deadline)


def test_pages_and_api_follow_the_rules(client_for, api_for, beijing, alice, bob, charlie, deadline, outage):
    response = client_for(alice).post(
        reverse("recovery:deferred-filing-new"),
        {
            "company": beijing.pk,
            "incident": outage.pk,
            "period": deadline.period.isoformat(),
            "tax_type": "增值税",
            "deadline": deadline.deadline.isoformat(),
            "reason": "系统故障",
            "intent": "submit",
        },
    )
    assert response.status_code == 302
    application = DeferredFiling.objects.get()
    assert application.state == ReviewState.SUBMITTED
    url = reverse("recovery:deferred-filing-transition", args=[application.pk, "approve"])
    assert client_for(alice).post(url).status_code == 403
    assert client_for(charlie).post(url).status_code == 404
    assert api_for(charlie).post(f"/api/deferred-filings/{application.pk}/approve/").status_code == 404
    assert api_for(alice).post(f"/api/deferred-filings/{application.pk}/approve/").status_code == 403
    response = api_for(bob).post(f"/api/deferred-filings/{application.pk}/return/", {"comment": "补充"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "returned"
    assert client_for(charlie).get(reverse("recovery:deferred-filing-detail", args=[application.pk])).status_code == 404


def test_edit_page_changes_a_returned_application_and_turns_away_a_submitted_one(
    client_for, beijing, alice, bob, charlie, deadline
):
    application = create(beijing, alice, deadline)
    url = reverse("recovery:deferred-filing-edit", args=[application.pk])
    assert "系统故障，无法申报" in client_for(alice).get(url).content.decode()
    assert client_for(charlie).get(url).status_code == 404
    deferred_services.deferred_filing_submit(application=application, user=alice)
    response = client_for(alice).get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("recovery:deferred-filing-detail", args=[application.pk])
    assert f"{application.number} can no longer be changed." in response.content.decode()
    deferred_services.deferred_filing_return(application=application, user=bob, comment="写明影响的天数")
    body = {
        "period": deadline.period.isoformat(),
        "tax_type": "增值税",
        "deadline": deadline.deadline.isoformat(),
        "requested_deadline": (deadline.deadline + timedelta(days=10)).isoformat(),
        "reason": "系统故障三天，无法申报",
        "intent": "submit",
    }
    assert client_for(alice).post(url, body).status_code == 302
    application.refresh_from_db()
    assert application.state == ReviewState.SUBMITTED
    assert application.reason == "系统故障三天，无法申报"
    assert application.requested_deadline == deadline.deadline + timedelta(days=10)


def test_new_form_is_prefilled_from_the_reminder(client_for, beijing, alice, deadline, outage):
    url = reverse("recovery:deferred-filing-new") + f"?company={beijing.pk}&deadline={deadline.pk}&incident={outage.pk}"
    html = client_for(alice).get(url).content.decode()
    assert deadline.deadline.isoformat() in html and "北京电子税务局无法申报" in html


def test_incident_choices_read_in_beijing_time_with_the_zone(client_for, alice, outage):
    html = client_for(alice).get(reverse("recovery:deferred-filing-new")).content.decode()
    assert f"北京电子税务局无法申报 ({local_text(outage.started_at)})" in html
    assert local_text(outage.started_at).endswith(" CST")


def test_dashboard_reminds_accountants_while_a_deadline_approaches_during_an_outage(
    client_for, beijing, alice, fiona, deadline, outage, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        reminders = deferred_filing_reminders(user=alice)
    assert [(r.company, r.deadline, r.incident_id) for r in reminders] == [(beijing, deadline, outage.pk)]
    html = client_for(alice).get(reverse("portal:home")).content.decode()
    assert 'id="filing-reminders"' in html and f"deadline={deadline.pk}" in html
    assert deferred_filing_reminders(user=fiona) == []  # finance staff do not file
    application = create(beijing, alice, deadline, outage)
    (reminder,) = deferred_filing_reminders(user=alice)
    assert reminder.application == application


def test_no_reminder_without_an_outage_or_when_the_deadline_is_far(beijing, alice, deadline, outage, settings):
    settings.DEFERRED_FILING_REMIND_DAYS = 1
    assert deferred_filing_reminders(user=alice) == []
    settings.DEFERRED_FILING_REMIND_DAYS = 5
    outage.state = "resolved"
    outage.ended_at = timezone.now()
    outage.save()
    assert deferred_filing_reminders(user=alice) == []


def test_a_maintenance_window_covering_the_deadline_also_reminds(beijing, alice, deadline, bj_system):
    start = timezone.now() + timedelta(hours=1)
    MaintenanceNotice.objects.create(
        system=bj_system, title="电子税务局升级", window_start=start, window_end=start + timedelta(days=3)
    )
    (reminder,) = deferred_filing_reminders(user=alice)
    assert reminder.window_title == "电子税务局升级" and reminder.incident_id is None


def test_incident_timeline_reads_in_beijing_time_with_named_states(db):
    from datetime import UTC, datetime

    from notices.models import Incident, IncidentState, IncidentUpdate, TaxSystem
    from recovery.reissue.services import incident_timeline

    system = TaxSystem.objects.get(region="北京", name="增值税发票管理系统")
    incident = Incident.objects.create(
        system=system,
        title="北京开票中断",
        functions=["issue"],
        started_at=datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
        ended_at=datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
        state=IncidentState.RESOLVED,
    )
    IncidentUpdate.objects.create(
        incident=incident, state=IncidentState.IDENTIFIED, body_markdown="原因已定位", posted_at=incident.started_at
    )
    rows = incident_timeline(incident)
    assert [row["shown"] for row in rows] == ["2026-11-20 09:30 CST", "2026-11-20 09:30 CST", "2026-11-21 16:00 CST"]
    assert [row["label"] for row in rows] == ["Started", "Identified", "Ended"]
    assert rows[0]["at"] == "2026-11-20T09:30:00+08:00"
