"""Reconciliation engine: every gap kind, normalisation, stable reruns, decisions, failures, alerts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from invoices import sources
from invoices.keys import invoice_key
from notices import windows
from notices.windows import OutageWindow
from recovery import services
from recovery.models import Alert, Decision, Gap, GapKind, GapStatus, RunState
from tests.recovery.helpers import DAY, book, kinds, run, tax


def test_each_gap_kind_is_found_and_explained(beijing, published, django_capture_on_commit_callbacks):
    book(beijing, number="1")  # only in books
    tax(beijing, number="2")  # only in tax system
    book(beijing, number="3", amount="100.00")
    tax(beijing, number="3", amount="100.01", tax="12.99")  # same total, amount and tax differ
    book(beijing, number="4")
    tax(beijing, number="4", status="voided")
    book(beijing, number="5", buyer="91310000MA1FL9999X")
    tax(beijing, number="5")
    book(beijing, number="6", seller="S", buyer="B", amount="77.00")
    book(beijing, number="7", seller="S", buyer="B", amount="77.00")  # duplicate of 6
    tax(beijing, number="6", seller="S", buyer="B", amount="77.00")
    tax(beijing, number="7", seller="S", buyer="B", amount="77.00")
    with django_capture_on_commit_callbacks(execute=True):
        r = run(beijing)
    assert r.state == RunState.SUCCEEDED
    key = lambda n: invoice_key(code="1100231130", number=n)  # noqa: E731
    assert kinds(beijing) == sorted(
        [
            (GapKind.ONLY_IN_BOOKS, key("1")),
            (GapKind.ONLY_IN_TAX_SYSTEM, key("2")),
            (GapKind.AMOUNT_MISMATCH, key("3")),
            (GapKind.STATUS_MISMATCH, key("4")),
            (GapKind.COUNTERPARTY_MISMATCH, key("5")),
            (GapKind.POSSIBLE_DUPLICATE, key("7")),
        ]
    )
    assert r.counts[GapKind.ONLY_IN_BOOKS] == 1 and r.counts[GapKind.POSSIBLE_DUPLICATE] == 1
    gap = Gap.objects.get(kind=GapKind.ONLY_IN_BOOKS)
    assert gap.rule == "normalised" and "tax system lacks it" in gap.explanation
    assert gap.amount_at_risk == Decimal("113.00")
    assert len(published) == 1 and published[0].key == f"alert:{Alert.objects.get().pk}"
    assert published[0].company_id == beijing.pk


def test_normalised_keys_match_full_width_and_apostrophes(beijing, published):
    book(beijing, code="1100231130", number="'００１２", buyer="B")
    tax(beijing, code="1100231130", number="12", buyer="B")
    full_width = "26112000000000000001".translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    book(beijing, digital=full_width, code="", number="")
    tax(beijing, digital="26112000000000000001", code="", number="")
    assert run(beijing).state == RunState.SUCCEEDED
    assert kinds(beijing) == []


def test_amount_tolerance_comes_from_settings(beijing, settings, published):
    book(beijing, number="3", amount="100.00", tax="13.00")
    tax(beijing, number="3", amount="100.01", tax="13.00")
    settings.RECONCILE_AMOUNT_TOLERANCE = Decimal("0.01")
    run(beijing)
    assert kinds(beijing) == []
    settings.RECONCILE_AMOUNT_TOLERANCE = Decimal("0.00")
    run(beijing)
    assert [k for k, _ in kinds(beijing)] == [GapKind.AMOUNT_MISMATCH]


def test_rerun_keeps_the_same_rows_and_alerts_only_for_new_gaps(beijing, published, django_capture_on_commit_callbacks):
    book(beijing, number="1")
    with django_capture_on_commit_callbacks(execute=True):
        first = run(beijing)
    gap = Gap.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        second = run(beijing)
    again = Gap.objects.get()
    assert again.pk == gap.pk
    assert again.first_seen_run_id == first.pk and again.last_seen_run_id == second.pk
    assert second.new_gaps == 0 and len(published) == 1


def test_a_rerun_reports_what_it_found_again_new_and_resolved_in_its_own_period(beijing, published):
    book(beijing, number="1")
    book(beijing, number="2")
    book(beijing, number="9", issue_date=date(2026, 12, 10))  # December's: another period
    december = services.reconciliation_run_execute(
        run_id=services.reconciliation_run_create(
            company=beijing,
            direction="issued",
            period_start=date(2026, 12, 1),
            period_end=date(2026, 12, 31),
            enqueue=False,
        ).pk
    )
    first = run(beijing)
    tax(beijing, number="2")  # the tax system caught up
    book(beijing, number="3")  # new
    second = run(beijing)
    assert (first.counts[GapKind.ONLY_IN_BOOKS], first.new_gaps, first.resolved_gaps) == (2, 2, 0)
    assert (second.counts[GapKind.ONLY_IN_BOOKS], second.new_gaps, second.resolved_gaps) == (2, 1, 1)
    assert (december.counts[GapKind.ONLY_IN_BOOKS], december.new_gaps) == (1, 1)
    assert Gap.objects.get(issue_date=date(2026, 12, 10)).last_seen_run_id == december.pk


def test_gap_no_longer_found_is_resolved_by_the_clearing_run(beijing, published):
    invoice = book(beijing, number="1")
    run(beijing)
    tax(beijing, number="1")  # the tax system recovered
    clearing = run(beijing)
    gap = Gap.objects.get(invoice_key=invoice.invoice_key)
    assert gap.status == GapStatus.RESOLVED and gap.resolved_by_run_id == clearing.pk
    assert clearing.resolved_gaps == 1


def test_dismissal_survives_later_runs(beijing, alice, published):
    book(beijing, number="1")
    run(beijing)
    gap = Gap.objects.get()
    services.gap_dismiss(gap=gap, reason="Issued on paper", user=alice)
    run(beijing)
    gap.refresh_from_db()
    assert gap.status == GapStatus.DISMISSED and gap.decision == Decision.IGNORED
    assert gap.decision_reason == "Issued on paper"


def test_dismiss_needs_a_reason(beijing, alice, published):
    from django.core.exceptions import ValidationError

    book(beijing, number="1")
    run(beijing)
    with pytest.raises(ValidationError):
        services.gap_dismiss(gap=Gap.objects.get(), reason=" ", user=alice)


def test_fuzzy_rule_only_suggests_a_pair(beijing, alice, published):
    book(beijing, number="1", seller="S", buyer="B", amount="50.00")
    suggested = tax(beijing, number="901", seller="S", buyer="B", amount="50.00", issue_date=DAY + timedelta(days=2))
    run(beijing)
    gap = Gap.objects.get(kind=GapKind.ONLY_IN_BOOKS)
    assert gap.suggested_tax_record_id == suggested.pk and gap.status == GapStatus.OPEN
    services.gap_accept_suggestion(gap=gap, user=alice)
    run(beijing)
    gap.refresh_from_db()
    assert gap.decision == Decision.ACCEPTED_SUGGESTION


def test_failing_source_fails_the_run_and_creates_no_gaps(beijing, monkeypatch, published):
    def broken(**kwargs):
        raise sources.SourceError("timeout after 30 s")

    monkeypatch.setattr(sources, "refresh_tax_records", broken)
    book(beijing, number="1")
    r = run(beijing)
    assert r.state == RunState.FAILED and "timeout after 30 s" in r.failure_reason
    assert not Gap.objects.exists() and not published


def test_empty_tax_system_after_records_before_fails_without_gaps(beijing, published):
    book(beijing, number="1")
    record = tax(beijing, number="1")
    assert run(beijing).state == RunState.SUCCEEDED
    record.delete()
    with translation.override("en"):
        r = run(beijing)
    assert r.state == RunState.FAILED and "returned nothing" in r.failure_reason
    assert not Gap.objects.exists()


def test_gaps_are_attributed_to_the_covering_window(beijing, monkeypatch, published):
    window = OutageWindow(
        kind="incident",
        id=7,
        region="北京",
        system="digital",
        title="北京电子税务局中断",
        start=datetime(2026, 11, 10, 1, 0, tzinfo=UTC),
        end=datetime(2026, 11, 10, 5, 0, tzinfo=UTC),
        url="/i/7/",
    )
    monkeypatch.setattr(windows, "outage_windows", lambda **kw: [window])
    book(beijing, number="1", issued_at=datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    book(beijing, number="2", issued_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    book(beijing, number="3", issue_date=date(2026, 11, 12))
    run(beijing)
    attributed = dict(Gap.objects.values_list("invoice_key", "incident_id"))
    assert attributed == {
        invoice_key(code="1100231130", number="1"): 7,
        invoice_key(code="1100231130", number="2"): None,
        invoice_key(code="1100231130", number="3"): None,
    }


def test_other_companies_gaps_are_untouched(beijing, xian, published):
    book(xian, number="1")
    run(beijing)
    assert not Gap.objects.exists()


def test_reconcile_command_prints_json_counts(beijing, capsys, published):
    book(beijing, number="1", issue_date=timezone.localdate())
    call_command("reconcile", "--company", beijing.credit_code, "--json")
    counts = json.loads(capsys.readouterr().out)["gaps"]
    assert counts["only_in_books"] == 1 and counts["only_in_tax_system"] == 0
    assert set(counts) == {k.value for k in GapKind}


def test_reconcile_command_fails_with_the_reason(beijing, monkeypatch, published):
    def broken(**kwargs):
        raise sources.SourceError("tax system down")

    monkeypatch.setattr(sources, "refresh_tax_records", broken)
    with pytest.raises(CommandError, match="tax system down"):
        call_command("reconcile", "--company", beijing.credit_code)


def test_tax_system_lagging_behind_makes_a_partial_run(beijing, published, settings):
    """The tax system shows nothing after the 10th while our books run to the 20th: the later days are
    not compared (no false "only in our books" gaps) and the run says why."""
    settings.RECONCILE_PARTIAL_LAG_DAYS = 2
    book(beijing, number="1", issue_date=date(2026, 11, 10))
    tax(beijing, number="1", issue_date=date(2026, 11, 10))
    book(beijing, number="2", issue_date=date(2026, 11, 9))  # before the lag: really missing
    book(beijing, number="3", issue_date=date(2026, 11, 20))  # after the tax system's newest record
    with translation.override("en"):
        r = run(beijing)
    assert r.state == RunState.PARTIAL
    assert "2026-11-10" in r.failure_reason
    assert kinds(beijing) == [(GapKind.ONLY_IN_BOOKS, invoice_key(code="1100231130", number="2"))]


def test_a_lag_within_the_allowance_compares_the_whole_period(beijing, published, settings):
    settings.RECONCILE_PARTIAL_LAG_DAYS = 2
    tax(beijing, number="1", issue_date=date(2026, 11, 18))
    book(beijing, number="1", issue_date=date(2026, 11, 18))
    book(beijing, number="3", issue_date=date(2026, 11, 20))
    assert run(beijing).state == RunState.SUCCEEDED
    assert len(kinds(beijing)) == 1


def test_attribution_prefers_incidents_and_ignores_filing_only_windows(beijing, monkeypatch, published):
    def window(kind, wid, functions):
        return OutageWindow(
            kind=kind,
            id=wid,
            region="北京",
            system="beijing-etax",
            title=f"{kind} {wid}",
            start=datetime(2026, 11, 10, 0, 0, tzinfo=UTC),
            end=datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
            url=f"/{kind}/{wid}/",
            functions=functions,
        )

    found = [window("notice", 1, ("issue",)), window("incident", 2, ("issue",)), window("notice", 3, ("file",))]
    monkeypatch.setattr(windows, "outage_windows", lambda **kw: found)
    book(beijing, number="1", issued_at=datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    run(beijing)
    gap = Gap.objects.get()
    assert (gap.incident_kind, gap.incident_id) == ("incident", 2)
    monkeypatch.setattr(windows, "outage_windows", lambda **kw: [found[2]])
    Gap.objects.update(incident_id=None, incident_kind="")
    run(beijing)
    assert Gap.objects.get().incident_id is None
