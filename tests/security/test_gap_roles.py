"""Roles on gaps and runs: finance staff and reviewers read; deciding about gaps (acknowledge, assign,
dismiss, link, accept a suggestion) and starting runs need an accountant or a company admin — in the
service, the pages and the API. Run periods are bounded."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from invoices.models import Direction
from recovery import services
from recovery.models import Decision, Gap, GapStatus, ReconciliationRun, RunState
from tests.recovery.helpers import book, run, tax


@pytest.fixture(autouse=True)
def messages_in_english(settings):
    """The refusals are read in English, the msgid language."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def gap(beijing, published):
    """An invoice our books hold and the tax system lacks, with a fuzzy suggestion beside it."""
    book(beijing, number="1", amount="500.00", seller="S", buyer="B")
    tax(beijing, number="2", amount="500.00", seller="S", buyer="B")
    run(beijing)
    return Gap.objects.get(company=beijing, invoice_key__endswith="1", kind="only_in_books")


def unchanged(gap):
    fresh = Gap.objects.get(pk=gap.pk)
    return fresh.status == GapStatus.OPEN and fresh.decision == Decision.NONE and fresh.assignee_id is None


@pytest.mark.parametrize("who", ["fiona", "bob"])
@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("dismiss", {"reason": "paper invoice"}),
        ("accept-suggestion", {}),
        ("link", {"reason": "same one"}),
        ("assign", {"assignee": "self"}),
        ("acknowledge", {}),
    ],
)
def test_finance_and_reviewers_cannot_decide_about_gaps_in_the_api(request, api_for, gap, who, action, data):
    user = request.getfixturevalue(who)
    if action == "link":
        data = {**data, "tax_record": gap.suggested_tax_record_id}
    if data.get("assignee") == "self":
        data = {"assignee": user.pk}
    response = api_for(user).post(f"/api/gaps/{gap.pk}/{action}/", data)
    assert response.status_code == 403, response.content
    assert "accountants and company admins" in response.json()["error"]["message"]
    assert unchanged(gap)


@pytest.mark.parametrize("who", ["fiona", "bob"])
def test_the_services_refuse_finance_and_reviewers(request, gap, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.gap_dismiss(gap=gap, reason="paper invoice", user=user)
    with pytest.raises(PermissionDenied):
        services.gap_accept_suggestion(gap=gap, user=user)
    with pytest.raises(PermissionDenied):
        services.gap_assign(gap=gap, assignee=user, user=user)
    assert unchanged(gap)


@pytest.mark.parametrize("action", ["dismiss", "acknowledge", "assign_me"])
def test_finance_gets_403_on_the_bulk_page_and_sees_no_bulk_actions(client_for, gap, fiona, action):
    client = client_for(fiona)
    response = client.post(reverse("recovery:recovery-gap-bulk"), {"action": action, "ids": [gap.pk], "reason": "x"})
    assert response.status_code == 403
    assert unchanged(gap)
    assert 'id="bulk-actions"' not in client.get(reverse("recovery:recovery-gap-list")).content.decode()


@pytest.mark.parametrize("who", ["fiona", "bob"])
def test_finance_and_reviewers_cannot_start_runs(request, api_for, client_for, beijing, who):
    user = request.getfixturevalue(who)
    response = api_for(user).post("/api/reconciliation-runs/", {"company": beijing.pk, "direction": "issued"})
    assert response.status_code == 403
    page = client_for(user)
    assert (
        page.post(reverse("recovery:recovery-run-list"), {"company": beijing.pk, "direction": "issued"}).status_code
        == 403
    )
    assert 'id="run-form"' not in page.get(reverse("recovery:recovery-run-list")).content.decode()
    with pytest.raises(PermissionDenied):
        services.reconciliation_run_create(company=beijing, direction=Direction.ISSUED, user=user, enqueue=False)
    assert not ReconciliationRun.objects.exists()


def test_a_run_for_years_0001_to_9999_is_refused_and_nothing_stays_running(
    api_for, alice, beijing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(alice).post(
            "/api/reconciliation-runs/",
            {"company": beijing.pk, "direction": "issued", "period_start": "0001-01-01", "period_end": "9999-12-31"},
        )
    assert response.status_code == 400
    assert "1900" in response.json()["error"]["message"]
    assert not ReconciliationRun.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).exists()
    assert not ReconciliationRun.objects.exists()


def test_a_run_longer_than_the_maximum_span_is_refused(api_for, alice, beijing, settings):
    settings.RECONCILIATION_MAX_SPAN_DAYS = 366
    response = api_for(alice).post(
        "/api/reconciliation-runs/",
        {"company": beijing.pk, "direction": "issued", "period_start": "2024-01-01", "period_end": "2025-01-01"},
    )
    assert response.status_code == 400 and "366" in response.json()["error"]["message"]
    ok = api_for(alice).post(
        "/api/reconciliation-runs/",
        {"company": beijing.pk, "direction": "issued", "period_start": "2024-01-01", "period_end": "2024-12-31"},
    )
    assert ok.status_code == 201
    assert ReconciliationRun.objects.get().period_end == date(2024, 12, 31)


@pytest.mark.parametrize("who", ["fiona", "bob"])
def test_finance_and_reviewers_cannot_start_a_fetch_through_the_service(request, beijing, who):
    from invoices.models import TaxFetch
    from invoices.sources.fetch import tax_fetch_request

    with pytest.raises(PermissionDenied, match="fetch"):
        tax_fetch_request(company=beijing, user=request.getfixturevalue(who))
    assert not TaxFetch.objects.exists()
