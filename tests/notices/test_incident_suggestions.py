"""A tax-system source failing for a region's companies suggests an incident to notice admins."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoices import sources
from invoices.models import Direction
from notices.models import Incident, IncidentState, TaxSystem
from outage_portal import services as company_services
from recovery import services
from recovery.models import FailureKind, RunState


def _run(company):
    run = services.reconciliation_run_create(
        company=company,
        direction=Direction.ISSUED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        enqueue=False,
    )
    return services.reconciliation_run_execute(run_id=run.pk)


@pytest.fixture
def source_down(monkeypatch):
    def broken(**kwargs):
        raise sources.SourceError("HTTP 503 from the tax system")

    monkeypatch.setattr(sources, "refresh_tax_records", broken)


@pytest.fixture
def second_beijing_company(db):
    return company_services.company_create(name="北京第二家公司", credit_code="91350100M000100Y43", region="北京")


def _suggestions(client, user):
    body = client(user).get(reverse("portal:home")).content.decode()
    return body


def test_failing_sources_in_a_region_suggest_an_incident(
    client_for, nora, fiona, beijing, second_beijing_company, source_down
):
    assert _run(beijing).failure_kind == FailureKind.SOURCE
    _run(second_beijing_company)
    body = _suggestions(client_for, nora)
    assert 'data-region="北京"' in body
    assert "HTTP 503 from the tax system" in body
    assert reverse("notices:manage-incident-new") + "?region=%E5%8C%97%E4%BA%AC" in body
    # Finance staff see their company's failed run, not the site-wide suggestion.
    assert "incident-suggestion" not in _suggestions(client_for, fiona)


def test_an_open_incident_or_a_later_success_clears_the_suggestion(client_for, nora, beijing, source_down, monkeypatch):
    _run(beijing)
    system = TaxSystem.objects.get(region="北京", name="增值税发票管理系统")
    incident = Incident.objects.create(
        system=system, title="北京开票中断", functions=["issue"], started_at=timezone.now() - timedelta(hours=1)
    )
    assert "incident-suggestion" not in _suggestions(client_for, nora)
    incident.state = IncidentState.RESOLVED
    incident.ended_at = timezone.now()
    incident.save()
    assert "incident-suggestion" in _suggestions(client_for, nora)
    monkeypatch.setattr(sources, "refresh_tax_records", lambda **kwargs: None)
    # The source answers again; the period holds no invoice, so the run has nothing to compare.
    assert _run(beijing).state in (RunState.SUCCEEDED, RunState.PARTIAL, RunState.NOTHING)
    assert "incident-suggestion" not in _suggestions(client_for, nora)


def test_old_failures_do_not_suggest(client_for, nora, beijing, source_down, settings):
    run = _run(beijing)
    type(run).objects.filter(pk=run.pk).update(
        finished_at=timezone.now() - timedelta(hours=settings.SOURCE_FAILURE_HOURS + 1)
    )
    assert "incident-suggestion" not in _suggestions(client_for, nora)


def test_the_incident_page_leads_members_to_their_gaps_and_a_deferred_filing(client_for, alice, db):
    system = TaxSystem.objects.get(region="北京", name="增值税发票管理系统")
    incident = Incident.objects.create(
        system=system, title="北京开票中断", functions=["issue"], started_at=timezone.now() - timedelta(hours=1)
    )
    body = client_for(alice).get(incident.get_absolute_url()).content.decode()
    assert f"{reverse('recovery:recovery-gap-list')}?incident_kind=incident&amp;incident_id={incident.pk}" in body
    assert f"{reverse('recovery:deferred-filing-new')}?incident={incident.pk}" in body
    anonymous = Client().get(incident.get_absolute_url()).content.decode()
    assert 'id="incident-actions"' not in anonymous
    gaps = client_for(alice).get(
        reverse("recovery:recovery-gap-list"), {"incident_kind": "incident", "incident_id": incident.pk}
    )
    assert gaps.status_code == 200


def test_the_suggestion_opens_an_incident_form_filled_for_the_region(client_for, nora, db):
    system = TaxSystem.objects.get(region="北京", name="增值税发票管理系统")
    response = client_for(nora).get(
        reverse("notices:manage-incident-new"), {"region": "北京", "since": "2026-11-20T01:30:00+00:00"}
    )
    form = response.context["form"]
    assert form.initial["system"] == system.pk
    assert 'name="started_at" value="2026-11-20 09:30"' in response.content.decode()  # Beijing time
    assert form.initial["functions"] == ["issue", "query"]
    assert f'<option value="{system.pk}" selected>' in response.content.decode()


@pytest.mark.parametrize(
    ("since", "shown"),
    [
        ("2026-11-20T09:30", 'name="started_at" value="2026-11-20 09:30"'),  # no offset: Beijing time
        ("2026-13-45T10:00", 'name="started_at"'),  # impossible: no start proposed, the form still opens
        ("yesterday", 'name="started_at"'),
        ("9999-12-31T23:59+00:00", 'name="started_at"'),  # in Beijing time a year past Python's last
    ],
)
def test_a_hand_edited_since_still_opens_the_form(client_for, nora, db, since, shown):
    response = client_for(nora).get(reverse("notices:manage-incident-new"), {"region": "北京", "since": since})
    assert response.status_code == 200
    assert shown in response.content.decode()


def test_a_region_no_system_could_have_proposes_nothing(client_for, nora, db):
    response = client_for(nora).get(reverse("notices:manage-incident-new"), {"region": "北\x00京"})
    assert response.status_code == 200 and "system" not in response.context["form"].initial
