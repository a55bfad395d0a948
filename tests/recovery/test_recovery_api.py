"""API for reconciliation runs, gaps (with actions) and alerts."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from invoices.models import Direction
from recovery.models import Decision, Gap, GapStatus, ReconciliationRun, RunState
from tests.recovery.helpers import _gaps, book, gaps_in_every_state, run, tax


def test_gap_list_is_scoped_and_filterable(api_for, alice, beijing, xian):
    _gaps(beijing, 6)
    _gaps(xian, 6)
    api = api_for(alice)
    assert api.get("/api/gaps/").json()["count"] == 6
    assert api.get("/api/gaps/", {"kind": "only_in_books"}).json()["count"] == 1


def test_the_gap_list_shows_the_gaps_still_there_newest_first_then_the_most_recently_resolved(api_for, alice, beijing):
    expected = gaps_in_every_state(beijing, 120)  # three pages; the later two are read from the list's end
    api = api_for(alice)
    listed = [gap["id"] for page in (1, 2, 3) for gap in api.get("/api/gaps/", {"page": page}).json()["results"]]
    assert listed == expected


def test_forged_gap_of_another_company_is_404(api_for, alice, xian):
    _gaps(xian, 1)
    gap = Gap.objects.get()
    assert api_for(alice).post(f"/api/gaps/{gap.pk}/acknowledge/").status_code == 404


def test_gap_actions(api_for, alice, bob, beijing):
    _gaps(beijing, 1)
    gap = Gap.objects.get()
    api = api_for(alice)
    assert api.post(f"/api/gaps/{gap.pk}/acknowledge/").json()["status"] == GapStatus.ACKNOWLEDGED
    assert api.post(f"/api/gaps/{gap.pk}/assign/", {"assignee": bob.pk}).json()["assignee"] == bob.pk
    assert api.post(f"/api/gaps/{gap.pk}/comment/", {"body": "Called the buyer"}).status_code == 200
    assert gap.comments.get().body == "Called the buyer"
    assert api.post(f"/api/gaps/{gap.pk}/dismiss/", {"reason": ""}).status_code == 400
    body = api.post(f"/api/gaps/{gap.pk}/dismiss/", {"reason": "Paper invoice"}).json()
    assert body["status"] == GapStatus.DISMISSED and body["decision"] == Decision.IGNORED
    assert api.post(f"/api/gaps/{gap.pk}/accept-suggestion/").status_code == 400


def test_run_created_through_the_api_executes(api_for, alice, beijing, xian, django_capture_on_commit_callbacks):
    book(beijing, number="1")
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/reconciliation-runs/",
            {
                "company": beijing.pk,
                "direction": Direction.ISSUED,
                "period_start": "2026-11-01",
                "period_end": "2026-11-30",
            },
        )
    assert response.status_code == 201, response.content
    run = ReconciliationRun.objects.get()
    assert run.state == RunState.SUCCEEDED and run.period_start == date(2026, 11, 1)
    assert api.post("/api/reconciliation-runs/", {"company": xian.pk}).status_code in (400, 404)
    assert api.get("/api/reconciliation-alerts/").status_code == 200


@pytest.fixture
def suggested_gap(beijing, published):
    """An invoice the tax system lacks, with a fuzzy suggestion beside it."""
    book(beijing, number="1", amount="500.00", seller="S", buyer="B")
    tax(beijing, number="2", amount="500.00", seller="S", buyer="B")
    run(beijing)
    return Gap.objects.get(company=beijing, invoice_key__endswith="1", kind="only_in_books")


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_accountants_and_company_admins_decide(request, api_for, suggested_gap, who):
    api = api_for(request.getfixturevalue(who))
    assert api.post(f"/api/gaps/{suggested_gap.pk}/accept-suggestion/").status_code == 200
    assert Gap.objects.get(pk=suggested_gap.pk).decision == Decision.ACCEPTED_SUGGESTION


def test_finance_may_still_comment(api_for, suggested_gap, fiona):
    response = api_for(fiona).post(f"/api/gaps/{suggested_gap.pk}/comment/", {"body": "客户说发票已收到"})
    assert response.status_code == 200


def test_accountants_see_the_bulk_actions(client_for, suggested_gap, alice):
    assert 'id="bulk-actions"' in client_for(alice).get(reverse("recovery:recovery-gap-list")).content.decode()
