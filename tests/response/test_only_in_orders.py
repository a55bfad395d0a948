"""Orders in an outage window that no invoice on either side covers: invoices lost from both sides."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from invoices.keys import invoice_key
from invoices.models import Direction
from notices import windows
from recovery.models import Gap, GapKind, GapStatus
from tests.recovery.helpers import DAY, book, run, tax
from tests.response.helpers import CUSTOMER, order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_alerts(monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda event: None)


def only_in_orders(company):
    return sorted(Gap.objects.filter(company=company, kind=GapKind.ONLY_IN_ORDERS).values_list("gap_key", flat=True))


def test_an_order_no_invoice_covers_on_either_side_is_a_gap_lost_from_both(beijing, outage):
    order(beijing, "SO-1")  # nothing anywhere: lost from both sides
    order(beijing, "SO-2", amount="200.00", tax="26.00")
    book(beijing, number="2", buyer=CUSTOMER, amount="200.00", tax="26.00")  # our books have its invoice
    order(beijing, "SO-3", amount="300.00", tax="39.00")
    tax(beijing, number="3", buyer=CUSTOMER, amount="300.00", tax="39.00", issue_date=DAY + timedelta(days=5))
    order(beijing, "SO-4", invoice=invoice_key(code="1100231130", number="4"), amount="1.00", tax="0.00")
    tax(beijing, number="4")  # named by number, amounts differ: still covered
    order(beijing, "SO-5", day=date(2026, 11, 20))  # outside the window: just not invoiced yet
    r = run(beijing)
    assert only_in_orders(beijing) == ["order:SO-1"]
    gap = Gap.objects.get(kind=GapKind.ONLY_IN_ORDERS)
    assert gap.order.order_number == "SO-1" and gap.amount_at_risk == Decimal("113.00")
    assert (gap.incident_kind, gap.incident_id) == ("incident", 7)  # attributed like every gap
    assert r.counts[GapKind.ONLY_IN_ORDERS] == 1


def test_an_invoice_for_another_customer_or_total_does_not_cover_the_order(beijing, outage):
    order(beijing, "SO-1")
    book(beijing, number="1", buyer="91110000MA00000019", amount="100.00")  # other customer
    tax(beijing, number="2", buyer=CUSTOMER, amount="100.01", tax="13.00")  # other total
    book(beijing, number="3", buyer=CUSTOMER, issue_date=DAY + timedelta(days=60))  # too late
    run(beijing)
    assert only_in_orders(beijing) == ["order:SO-1"]


def test_a_purchase_order_is_covered_by_the_suppliers_invoice_and_sales_orders_stay_apart(beijing, outage):
    order(beijing, "PO-1", direction=Direction.RECEIVED, party="91110108MA01B2C3D0")
    book(beijing, number="9", direction=Direction.RECEIVED, seller="91110108MA01B2C3D0")
    order(beijing, "PO-2", direction=Direction.RECEIVED, party="91110108MA01B2C3D0", amount="5.00", tax="0.00")
    run(beijing)  # issued side only
    assert only_in_orders(beijing) == []
    from recovery import services

    r = services.reconciliation_run_create(
        company=beijing,
        direction=Direction.RECEIVED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        enqueue=False,
    )
    services.reconciliation_run_execute(run_id=r.pk)
    assert only_in_orders(beijing) == ["order:PO-2"]


def test_an_order_named_only_by_its_customer_is_matched_by_name(beijing, outage):
    order(beijing, "SO-1", party="", name="北京小商户")
    book(beijing, number="1", buyer="", buyer_name="北京小商户")
    order(beijing, "SO-2", party="", name="北京另一家")
    run(beijing)
    assert only_in_orders(beijing) == ["order:SO-2"]


def test_the_gap_resolves_once_the_invoice_turns_up_and_a_rerun_keeps_the_row(beijing, outage):
    order(beijing, "SO-1")
    run(beijing)
    first = Gap.objects.get(kind=GapKind.ONLY_IN_ORDERS)
    run(beijing)
    again = Gap.objects.get(kind=GapKind.ONLY_IN_ORDERS)
    assert again.pk == first.pk and again.status == GapStatus.OPEN
    tax(beijing, number="77", buyer=CUSTOMER)  # the tax system catches up
    book(beijing, number="77", buyer=CUSTOMER)
    run(beijing)
    first.refresh_from_db()
    assert first.status == GapStatus.RESOLVED


def test_no_outage_window_means_no_order_gap(beijing, monkeypatch):
    monkeypatch.setattr(windows, "outage_windows", lambda **kw: [])
    order(beijing, "SO-1")
    run(beijing)
    assert only_in_orders(beijing) == []


@time_machine.travel(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), tick=False)
def test_the_gap_list_api_and_json_name_the_kind(beijing, outage, alice, api_for, capsys):
    order(beijing, "SO-1")
    run(beijing)
    body = api_for(alice).get("/api/gaps/", {"kind": "only_in_orders"}).json()
    assert [g["kind"] for g in body["results"]] == ["only_in_orders"]
    call_command("reconcile", "--company", beijing.credit_code, "--json")
    assert json.loads(capsys.readouterr().out)["gaps"]["only_in_orders"] == 1


def test_an_accountant_accepts_a_proposal_into_a_reissue_request_through_the_api(
    beijing, outage, alice, fiona, api_for
):
    order(beijing, "SO-1", amount="10000.00", tax="1300.00", name="上海明远贸易有限公司")
    run(beijing)
    gap = Gap.objects.get(kind=GapKind.ONLY_IN_ORDERS)
    listed = api_for(alice).get("/api/order-proposals/").json()["results"]
    assert listed[0]["proposed_invoice"] == {
        "counterparty_name": "上海明远贸易有限公司",
        "counterparty_tax_id": CUSTOMER,
        "issue_date": DAY.isoformat(),
        "amount": "10000.00",
        "tax": "1300.00",
        "total": "11300.00",
        "tax_rate": None,
        "invoice_number": "",
    }
    refused = api_for(fiona).post(f"/api/order-proposals/{gap.pk}/accept/", {"into": "reissue"}, format="json")
    assert refused.status_code == 403
    accepted = api_for(alice).post(f"/api/order-proposals/{gap.pk}/accept/", {"into": "reissue"}, format="json")
    assert accepted.status_code == 201
    from recovery.reissue.models import ReissueRequest

    request = ReissueRequest.objects.get(pk=accepted.json()["reissue_request"]["id"])
    item = request.items.get()
    assert (item.counterparty_name, item.amount, item.tax, item.total) == (
        "上海明远贸易有限公司",
        Decimal("10000.00"),
        Decimal("1300.00"),
        Decimal("11300.00"),
    )
    assert request.incident_id == 7 or request.incident_id is None  # the window is a stand-in, not a row
    gap.refresh_from_db()
    assert gap.status == GapStatus.ACKNOWLEDGED and gap.decided_by == alice
    again = api_for(alice).post(f"/api/order-proposals/{gap.pk}/accept/", {"into": "reissue"}, format="json")
    assert again.status_code == 400


def test_a_proposal_recorded_as_a_hand_issued_invoice_from_the_page(beijing, outage, alice, client_for):
    order(beijing, "SO-1")
    run(beijing)
    gap = Gap.objects.get(kind=GapKind.ONLY_IN_ORDERS)
    client = client_for(alice)
    page = client.get("/response/orders/").content.decode()
    assert 'data-order="SO-1"' in page
    missing = client.post(f"/response/orders/proposals/{gap.pk}/accept/", {"into": "hand_issued"}, follow=True)
    assert "hand-issued" in missing.content.decode() or "手工" in missing.content.decode()
    client.post(f"/response/orders/proposals/{gap.pk}/accept/", {"into": "hand_issued", "invoice_number": "00012345"})
    from recovery.reissue.models import HandIssuedInvoice

    hand = HandIssuedInvoice.objects.get()
    assert (hand.invoice_number, hand.total, hand.counterparty_tax_id) == ("00012345", Decimal("113.00"), CUSTOMER)
    run(beijing)  # found again, still decided
    gap.refresh_from_db()
    assert gap.status == GapStatus.DISMISSED and "00012345" in gap.decision_reason
    assert 'data-order="SO-1"' not in client.get("/response/orders/").content.decode()
