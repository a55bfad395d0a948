"""The set-based engine's edges: twins outside the period, duplicates, tolerance, and reruns that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict

from invoices.models import Direction
from recovery.models import Discrepancy, GapKind
from tests.test_reconciliation import DAY, END, START, book, kinds, run, tax

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_alerts(monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda event: None)


def test_a_twin_dated_outside_the_period_is_still_compared(beijing):
    book(beijing, number="1", amount="100.00")
    tax(beijing, number="1", amount="90.00", issue_date=END + timedelta(days=3))  # dated in the next period
    run(beijing)
    assert [k for k, _ in kinds(beijing)] == [GapKind.AMOUNT_MISMATCH]
    gap = Discrepancy.objects.get()
    assert gap.amount_at_risk == 10 and gap.tax_record_id is not None


def test_a_tax_record_whose_invoice_lies_in_another_period_is_no_gap_here(beijing):
    book(beijing, number="1", issue_date=START - timedelta(days=1))
    tax(beijing, number="1")
    run(beijing)
    assert kinds(beijing) == []


def test_possible_duplicates_flag_every_copy_but_the_first_and_ignore_the_other_direction(beijing):
    for number in ("11", "12", "13"):
        book(beijing, number=number, seller="S", buyer="B", amount="70.00")
        tax(beijing, number=number, seller="S", buyer="B", amount="70.00")
    book(beijing, number="14", seller="S", buyer="B", amount="70.00", direction=Direction.RECEIVED)
    book(beijing, number="15", seller="S", buyer="B", amount="70.00", issue_date=DAY + timedelta(days=1))
    run(beijing)
    duplicates = sorted(
        Discrepancy.objects.filter(kind=GapKind.POSSIBLE_DUPLICATE).values_list("invoice__invoice_number", flat=True)
    )
    assert duplicates == ["12", "13"]


def test_a_pair_differing_within_the_tolerance_reports_only_what_else_differs(beijing, settings):
    settings.RECONCILE_AMOUNT_TOLERANCE = "0.05"
    book(beijing, number="1", amount="100.00")
    tax(beijing, number="1", amount="100.02", status="voided")
    run(beijing)
    assert [k for k, _ in kinds(beijing)] == [GapKind.STATUS_MISMATCH]


def test_a_rerun_over_unchanged_data_writes_no_new_gap_and_changes_only_when_last_seen(beijing):
    book(beijing, number="1")  # only in books
    tax(beijing, number="2")  # only in the tax system
    book(beijing, number="3", amount="100.00")
    tax(beijing, number="3", amount="99.00")  # amount mismatch
    book(beijing, number="4", seller="S", buyer="B", amount="70.00")
    book(beijing, number="5", seller="S", buyer="B", amount="70.00")  # possible duplicate of 4
    first = run(beijing)
    before = {gap.pk: model_to_dict(gap) for gap in Discrepancy.objects.all()}
    second = run(beijing)
    after = {gap.pk: model_to_dict(gap) for gap in Discrepancy.objects.all()}
    assert set(after) == set(before) and len(after) == 6
    assert second.new_gaps == 0 and second.counts == first.counts
    moving = {"last_seen_run", "last_seen_at"}
    for pk, row in after.items():
        assert {k: v for k, v in row.items() if k not in moving} == {
            k: v for k, v in before[pk].items() if k not in moving
        }
        assert row["last_seen_run"] == second.pk
