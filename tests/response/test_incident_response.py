"""A company's response to an outage: the playbook as a checklist, the scope prefilled from the
incident and its gaps, a company-wide invoicing pause every member sees, and the response in the
evidence pack and the deferred-filing application."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from invoices.models import Direction
from notices import services as notices
from recovery.deferred import pack as deferred_pack
from recovery.deferred import services as deferred
from recovery.models import Gap, GapKind
from recovery.reissue import pack
from recovery.reissue import services as reissue
from response import services
from response.models import EventKind, IncidentResponse, InvoicingPause, Step
from tests.notices.fixtures import make_notice
from tests.recovery.helpers import book, run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture(autouse=True)
def _fresh_pause_cache():
    """The paused companies' ids are cached across requests; a rolled-back test must not leave its own."""
    cache.set(services.PAUSED_CACHE_KEY, [])
    yield
    cache.set(services.PAUSED_CACHE_KEY, [])


@pytest.fixture(autouse=True)
def _no_alerts(monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda event: None)


@pytest.fixture
def incident(beijing_vat):
    return notices.incident_open(
        system=beijing_vat,
        title="北京增值税发票系统数据同步故障",
        functions=["issue", "query"],
        started_at=timezone.now() - timedelta(hours=30),
        message="数据同步异常，部分发票在系统中查询不到",
        impact_invoice_types=["digital_special"],
        impact_summary="发票数据未同步至税务系统",
    )


def test_an_accountant_starts_a_response_with_the_playbook_and_a_prefilled_scope(beijing, alice, incident):
    book(
        beijing,
        number="1",
        issue_date=timezone.localdate() - timedelta(days=1),
        issued_at=timezone.now() - timedelta(hours=20),
        buyer_name="上海明远贸易有限公司",
        invoice_type="e_ordinary",
    )
    from recovery import services as recovery

    r = recovery.reconciliation_run_create(
        company=beijing, direction=Direction.ISSUED, enqueue=False, period_start=date.today() - timedelta(days=5)
    )
    recovery.reconciliation_run_execute(run_id=r.pk)
    assert Gap.objects.filter(incident_id=incident.pk).exists()
    response = services.incident_response_open(company=beijing, user=alice, incident=incident)
    assert [s.step for s in response.steps.all()] == Step.values
    assert response.scope_invoice_types == ["digital_special", "e_ordinary"]  # incident's, then the gaps'
    assert "上海明远贸易有限公司" in response.scope_customers
    assert response.scope_from == incident.started_at and response.fault_started_at == incident.started_at
    assert response.impact == "发票数据未同步至税务系统"
    assert list(response.events.values_list("kind", flat=True)) == [EventKind.OPENED]
    again = services.incident_response_open(company=beijing, user=alice, incident=incident)
    assert again.pk == response.pk


def test_steps_record_who_ticked_them_when_and_why(beijing, alice, incident):
    response = services.incident_response_open(company=beijing, user=alice, incident=incident)
    step = response.steps.get(step=Step.CHECK_BACKUPS)
    services.response_step_set(step=step, user=alice, done=True, note="本地备份截至 11-08 完整")
    step.refresh_from_db()
    assert step.done and step.done_by == alice and step.done_at is not None and "11-08" in step.note
    services.response_step_set(step=step, user=alice, done=False)
    step.refresh_from_db()
    assert not step.done and step.done_by is None
    assert list(response.events.values_list("kind", flat=True)) == [
        EventKind.OPENED,
        EventKind.STEP_DONE,
        EventKind.STEP_REOPENED,
    ]


def test_only_accountants_and_admins_act_and_outsiders_see_nothing(beijing, alice, fiona, charlie, incident, api_for):
    with pytest.raises(PermissionDenied):
        services.incident_response_open(company=beijing, user=fiona, incident=incident)
    response = services.incident_response_open(company=beijing, user=alice, incident=incident)
    with pytest.raises(PermissionDenied):
        services.invoicing_pause(company=beijing, user=fiona, reason="x")
    assert api_for(charlie).get("/api/incident-responses/").json()["count"] == 0
    assert api_for(charlie).get(f"/response/{response.pk}/").status_code in (302, 404)
    assert api_for(fiona).get("/api/incident-responses/").json()["count"] == 1


def test_a_pause_shows_in_every_members_header_until_lifted_with_a_reason(
    beijing, xian, alice, fiona, charlie, incident, client_for
):
    response = services.incident_response_open(company=beijing, user=alice, incident=incident)
    services.invoicing_pause(company=beijing, user=alice, reason="等待税务局确认故障范围", response=response)
    assert response.steps.get(step=Step.PAUSE_INVOICING).done  # the step ticks itself
    page = client_for(fiona).get(reverse("invoices:invoice-list")).content.decode()
    assert 'id="invoicing-paused"' in page and "等待税务局确认故障范围" in page
    assert 'id="invoicing-paused"' not in client_for(charlie).get(reverse("invoices:invoice-list")).content.decode()
    with pytest.raises(ValidationError):
        services.invoicing_pause(company=beijing, user=alice, reason="again")
    with pytest.raises(ValidationError):
        services.invoicing_resume(company=beijing, user=alice, reason="  ")
    services.invoicing_resume(company=beijing, user=alice, reason="税务局确认数据已恢复")
    assert 'id="invoicing-paused"' not in client_for(fiona).get(reverse("invoices:invoice-list")).content.decode()
    pause = InvoicingPause.objects.get()
    assert pause.lifted_by == alice and pause.lift_reason == "税务局确认数据已恢复"
    kinds = list(response.events.values_list("kind", flat=True))
    assert EventKind.PAUSED in kinds and EventKind.RESUMED in kinds


def test_no_pause_costs_no_query_in_the_header(beijing, fiona, client_for, django_assert_max_num_queries):
    client = client_for(fiona)
    client.get(reverse("response:response-list"))
    with django_assert_max_num_queries(12):
        client.get(reverse("response:response-order-list"))


def test_the_response_page_lists_windows_waiting_for_a_response_and_works_in_both_languages(
    beijing, alice, incident, client_for, xian_vat
):
    make_notice(xian_vat, start=timezone.now() + timedelta(days=1))  # another region: not listed
    client = client_for(alice)
    listing = client.get(reverse("response:response-list")).content.decode()
    assert incident.title in listing and "西安" not in listing
    started = client.post(
        reverse("response:response-start"),
        {"company": beijing.pk, "kind": "incident", "window": incident.pk},
        follow=True,
    )
    body = started.content.decode()
    assert 'id="checklist"' in body and "Check the local backups" in body
    client.post(reverse("set_language"), {"language": "zh-hans"})
    zh = client.get(reverse("response:response-detail", args=[IncidentResponse.objects.get().pk])).content.decode()
    assert "检查本地备份" in zh and "暂停开票" in zh


def test_the_scope_is_saved_from_the_page_and_timed_on_the_timeline(beijing, alice, incident, client_for):
    response = services.incident_response_open(company=beijing, user=alice, incident=incident)
    client_for(alice).post(
        reverse("response:response-scope", args=[response.pk]),
        {
            "scope_invoice_types": ["digital_special", "special"],
            "scope_customers": "上海明远贸易有限公司\n天津滨海物流有限公司",
            "scope_departments": "销售一部、华北区",
            "scope_from": "2026-11-09 00:00",
            "scope_to": "2026-11-12 24:00".replace("24:00", "23:59"),
            "impact": "数电专票开具后未同步",
        },
    )
    response.refresh_from_db()
    assert response.scope_invoice_types == ["digital_special", "special"]
    assert response.scope_departments == "销售一部、华北区"
    assert response.events.filter(kind=EventKind.SCOPE).exists()


def test_the_api_opens_ticks_pauses_and_resumes(beijing, alice, incident, api_for, django_assert_max_num_queries):
    api = api_for(alice)
    created = api.post("/api/incident-responses/", {"company": beijing.pk, "incident": incident.pk}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    ticked = api.post(
        f"/api/incident-responses/{pk}/step/", {"step": "confirm_scope", "done": True, "note": "已确认"}, format="json"
    ).json()
    assert next(s for s in ticked["steps"] if s["step"] == "confirm_scope")["done"] is True
    paused = api.post(f"/api/incident-responses/{pk}/pause/", {"reason": "暂停"}, format="json").json()
    assert paused["invoicing_paused"] is True
    refused = api.post(f"/api/incident-responses/{pk}/resume/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid"
    resumed = api.post(f"/api/incident-responses/{pk}/resume/", {"reason": "恢复"}, format="json").json()
    assert resumed["invoicing_paused"] is False
    patched = api.patch(f"/api/incident-responses/{pk}/", {"scope_departments": "财务部"}, format="json")
    assert patched.status_code == 200 and patched.json()["scope_departments"] == "财务部"
    with django_assert_max_num_queries(8):
        assert api.get("/api/incident-responses/").json()["count"] == 1


def test_the_response_goes_into_the_evidence_pack_and_the_deferred_filing_application(beijing, alice, incident):
    response = services.incident_response_open(company=beijing, user=alice, incident=incident)
    services.response_step_set(step=response.steps.get(step=Step.CHECK_BACKUPS), user=alice, done=True, note="备份完整")
    services.incident_response_update(response=response, user=alice, scope_departments="销售一部")
    application = deferred.deferred_filing_create(
        company=beijing,
        user=alice,
        period=date(2026, 11, 1),
        tax_type="增值税",
        deadline=date(2026, 12, 15),
        reason="系统故障",
        incident=incident,
    )
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(deferred_pack.deferred_filing_pdf(application))).pages
    )
    assert "销售一部" in text and "备份完整" in text
    gap_request = reissue.reissue_request_create(company=beijing, user=alice, incident=incident)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pack.request_pdf(gap_request))).pages)
    assert "销售一部" in text


def test_windows_touching_the_company_open_responses_by_themselves(beijing, alice, incident):
    assert services.incident_responses_open_for_windows() == 1
    assert services.incident_responses_open_for_windows() == 0
    assert IncidentResponse.objects.get().created_by is None


def test_gaps_kinds_offered_for_requests_include_orders(beijing):
    assert GapKind.ONLY_IN_ORDERS in [k for k, _ in GapKind.choices]
    assert run  # the reconciliation helpers are shared with the engine tests


def test_the_demo_beijing_company_has_a_response_in_progress(demo_with_simulator, client_for):
    from django.core.management import call_command

    from invoices.models import Invoice
    from outage_portal.models import Company, User
    from response.models import CounterpartyRequest, RequestState

    beijing = Company.objects.get(credit_code="91110108MA01B2C3D0")
    response = IncidentResponse.objects.get(company=beijing)
    assert response.state == "open" and response.steps.filter(done=True).count() >= 4
    assert InvoicingPause.objects.filter(company=beijing, lifted_at__isnull=True).exists()
    lost = Gap.objects.filter(company=beijing, kind=GapKind.ONLY_IN_ORDERS)
    assert lost.count() == 3
    request = CounterpartyRequest.objects.get(company=beijing)
    assert request.state == RequestState.RECEIVED and request.copies.get().file_type == "xml"
    received = request.items.exclude(received_invoice=None).get()
    assert Invoice.objects.filter(pk=received.received_invoice_id, company=beijing).exists()
    cache.set(services.PAUSED_CACHE_KEY, [])  # as the periodic refresh finds it
    services.paused_companies_refresh()
    page = client_for(User.objects.get(username="bj_finance")).get(
        reverse("response:response-detail", args=[response.pk])
    )
    assert 'id="invoicing-paused"' in page.content.decode()
    call_command("load_demo", force=True)  # again: nothing added
    assert IncidentResponse.objects.count() == 1 and CounterpartyRequest.objects.count() == 1
