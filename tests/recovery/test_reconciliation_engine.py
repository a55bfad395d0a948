"""The set-based engine's edges: twins outside the period, duplicates, tolerance, and reruns that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from invoices.keys import invoice_key
from invoices.models import Direction
from recovery import engine, services
from recovery.models import Gap, GapKind
from tests.recovery.helpers import DAY, END, START, book, kinds, run, tax

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_alerts(monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda event: None)


def test_a_twin_dated_outside_the_period_is_still_compared(beijing):
    book(beijing, number="1", amount="100.00")
    tax(beijing, number="1", amount="90.00", issue_date=END + timedelta(days=3))  # dated in the next period
    run(beijing)
    assert [k for k, _ in kinds(beijing)] == [GapKind.AMOUNT_MISMATCH]
    gap = Gap.objects.get()
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
        Gap.objects.filter(kind=GapKind.POSSIBLE_DUPLICATE).values_list("invoice__invoice_number", flat=True)
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
    before = {gap.pk: model_to_dict(gap) for gap in Gap.objects.all()}
    second = run(beijing)
    after = {gap.pk: model_to_dict(gap) for gap in Gap.objects.all()}
    assert set(after) == set(before) and len(after) == 6
    assert second.new_gaps == 0 and second.counts == first.counts
    moving = {"last_seen_run", "last_seen_at"}
    for pk, row in after.items():
        assert {k: v for k, v in row.items() if k not in moving} == {
            k: v for k, v in before[pk].items() if k not in moving
        }
        assert row["last_seen_run"] == second.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="HOT updates are PostgreSQL's")
def test_a_rerun_over_unchanged_data_updates_every_gap_in_place(beijing):
    """No index holds what a rerun changes (`last_seen_*`), so each gap's new version stays on its page
    without a new index entry (a HOT update): a rerun writes no more than the first run's inserts."""
    book(beijing, number="1")  # only in books
    tax(beijing, number="2")  # only in the tax system
    book(beijing, number="3", amount="100.00")
    tax(beijing, number="3", amount="99.00")  # amount mismatch
    run(beijing)

    def updated() -> tuple[int, int]:  # this transaction's updates of recovery_gap, and how many were HOT
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_stat_get_xact_tuples_updated('recovery_gap'::regclass), "
                "pg_stat_get_xact_tuples_hot_updated('recovery_gap'::regclass)"
            )
            return cursor.fetchone()

    before = updated()
    second = run(beijing)
    after = updated()
    assert Gap.objects.filter(last_seen_run=second).count() == 3
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner settings are PostgreSQL's")
def test_a_run_and_a_rerun_leave_the_planner_as_they_found_it(beijing):
    """The engine turns plans off for single statements (hash joins and aggregates for the big join,
    nested loops for a rerun's writes); whatever the caller runs next in its transaction is planned
    as usual."""
    book(beijing, number="1")  # only in books
    tax(beijing, number="2")  # only in the tax system

    def planner() -> list[str]:
        with connection.cursor() as cursor:
            shown = []
            for setting in ("enable_hashjoin", "enable_hashagg", "enable_nestloop", "parallel_tuple_cost"):
                cursor.execute(f"SHOW {setting}")
                shown.append(cursor.fetchone()[0])
            return shown

    before = planner()
    run(beijing)  # the first run: a plain insert of its gaps
    assert planner() == before
    run(beijing)  # the rerun: the new gaps inserted, those found again updated
    assert planner() == before == ["on", "on", "on", "0.1"]


def test_a_reruns_queries_do_not_grow_with_its_gaps(beijing):
    from django.test.utils import CaptureQueriesContext

    counts = []
    for first, last in ((1, 2), (3, 40)):
        for number in range(first, last + 1):
            book(beijing, number=str(number))  # only in books
        run(beijing)  # records the new gaps
        with CaptureQueriesContext(connection) as queries:
            rerun = run(beijing)  # finds every gap again
        assert rerun.counts[GapKind.ONLY_IN_BOOKS] == last and rerun.new_gaps == 0
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_gap_recorded_under_another_period_is_taken_over_not_written_twice(beijing):
    """The first run of a period writes its gaps without the upsert, unless a key collides after all."""
    invoice = book(beijing, number="1", issue_date=START - timedelta(days=1))  # only in books
    earlier = services.reconciliation_run_create(
        company=beijing,
        direction=Direction.ISSUED,
        period_start=START - timedelta(days=30),
        period_end=START - timedelta(days=1),
        enqueue=False,
    )
    services.reconciliation_run_execute(run_id=earlier.pk)
    invoice.issue_date = DAY  # corrected into this period: this period holds no gap yet, the key does
    invoice.save()
    book(beijing, number="2")  # a gap new to every period
    later = run(beijing)
    gaps = {gap.invoice_key: gap for gap in Gap.objects.filter(company=beijing)}
    assert sorted(gaps) == [invoice.invoice_key, invoice_key(code="1100231130", number="2")]
    moved = gaps[invoice.invoice_key]
    assert (moved.issue_date, moved.first_seen_run_id, moved.last_seen_run_id) == (DAY, earlier.pk, later.pk)
    # The later run's figures count the gap it took over (now dated in its period) as found, not new.
    assert later.counts[GapKind.ONLY_IN_BOOKS] == 2 and later.new_gaps == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the join is cut into slices on PostgreSQL only")
@pytest.mark.parametrize("workers", [0, 2, 3])
@pytest.mark.parametrize("bounds", ["sampled key ranges", "key hash"])
def test_the_join_cut_into_slices_finds_each_gap_once_whatever_the_number_of_slices(
    beijing, workers, bounds, monkeypatch
):
    chosen = []

    def slice_conditions(*args, **kwargs):
        chosen.extend(engine_slice_conditions(*args, **kwargs))
        return chosen

    engine_slice_conditions = engine._slice_conditions
    monkeypatch.setattr(engine, "_slice_conditions", slice_conditions)
    if bounds == "sampled key ranges":  # a sample of every page, enough for these few rows
        monkeypatch.setattr(engine, "SAMPLE_PERCENT", 100)
        monkeypatch.setattr(engine, "SAMPLE_ENOUGH", 1)
    with connection.cursor() as cursor:  # one slice per worker; parallel plans even for these few rows
        cursor.execute(f"SET max_parallel_workers_per_gather = {workers}")
        cursor.execute("SET parallel_setup_cost = 0")
    for number in ("1", "2"):
        book(beijing, number=number)  # only in books
    for number in ("3", "4"):
        tax(beijing, number=number)  # only in the tax system
    for number in ("5", "6", "7", "8", "9"):
        book(beijing, number=number)
        tax(beijing, number=number, amount="99.00" if number in ("5", "6") else "100.00")  # 5, 6 differ
    book(beijing, number="10", amount="100.00")
    tax(beijing, number="10", amount="90.00", issue_date=END + timedelta(days=3))  # twin in the next period
    for number in ("11", "12"):
        book(beijing, number=number, seller="S", buyer="B", amount="70.00")  # 12 duplicates 11
    run(beijing)
    key = lambda n: invoice_key(code="1100231130", number=n)  # noqa: E731
    assert kinds(beijing) == sorted(
        [
            *((GapKind.ONLY_IN_BOOKS, key(n)) for n in ("1", "2", "11", "12")),
            *((GapKind.ONLY_IN_TAX_SYSTEM, key(n)) for n in ("3", "4")),
            *((GapKind.AMOUNT_MISMATCH, key(n)) for n in ("5", "6", "10")),
            (GapKind.POSSIBLE_DUPLICATE, key("12")),
        ]
    )
    assert len(chosen) == max(1, workers)
    if workers:
        assert all(("slice_bound" in c) == (bounds == "sampled key ranges") for c in chosen), chosen
