"""Reconciliation periods: a run with no period compares what was imported (the span of the records),
periods typed as days or months, every run says what it compared, and an empty period is "nothing to
compare" rather than a success with zero gaps."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from invoices.models import Direction
from recovery import engine, periods, services
from recovery.management.commands.reconcile import NOTHING_EXIT_CODE
from recovery.models import ReconciliationRun, RunState
from tests.recovery.helpers import book, tax


@pytest.fixture(autouse=True)
def _quiet(published):
    """Alerts are kept (not delivered) here."""


def last_years_records(company):
    """Last year's backup and export: far older than the default 90 days."""
    book(company, number="1", issue_date=date(2025, 3, 2))
    tax(company, number="1", issue_date=date(2025, 3, 2))
    book(company, number="2", issue_date=date(2025, 11, 20))  # the tax system lacks it
    tax(company, number="3", issue_date=date(2025, 12, 30))  # our books lack it


def test_without_a_period_the_command_compares_the_span_of_the_records(beijing, capsys):
    last_years_records(beijing)
    call_command("reconcile", "--company", beijing.credit_code, "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == RunState.SUCCEEDED
    assert report["period"] == {"start": "2025-03-02", "end": "2025-12-30", "from_records": True}
    assert report["compared"] == {"invoices": 2, "tax_records": 2}
    assert report["gaps"]["only_in_books"] == 1 and report["gaps"]["only_in_tax_system"] == 1


def test_the_text_output_names_the_period_and_what_was_compared(beijing, capsys):
    last_years_records(beijing)
    with translation.override("en"):
        call_command("reconcile", "--company", beijing.credit_code, "--month", "2025-11")
    out = capsys.readouterr().out
    assert "2025-11-01 – 2025-11-30" in out
    assert "Compared: 1 invoices in our books, 0 records in the tax system" in out
    assert "Only in our books: 1" in out


@pytest.mark.parametrize(
    ("args", "period"),
    [
        (["--month", "2025-11"], ("2025-11-01", "2025-11-30")),
        (["--from", "2025-11"], ("2025-11-01", "2025-11-30")),
        (["--from", "2025-03", "--to", "2025-11"], ("2025-03-01", "2025-11-30")),
        (["--from", "2025-03-02", "--to", "2025-03-02"], ("2025-03-02", "2025-03-02")),
        (["--from", "2025-12-01"], ("2025-12-01", "2025-12-30")),  # to the newest record
    ],
)
def test_the_command_takes_days_and_months(beijing, capsys, args, period):
    last_years_records(beijing)
    call_command("reconcile", "--company", beijing.credit_code, "--json", *args)
    report = json.loads(capsys.readouterr().out)
    assert (report["period"]["start"], report["period"]["end"]) == period
    assert report["period"]["from_records"] is False


def test_a_period_without_records_is_nothing_to_compare_not_a_success(beijing, capsys):
    last_years_records(beijing)
    with pytest.raises(CommandError) as refused:
        call_command("reconcile", "--company", beijing.credit_code, "--json", "--month", "2024-06")
    assert refused.value.returncode == NOTHING_EXIT_CODE
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == RunState.NOTHING
    assert report["compared"] == {"invoices": 0, "tax_records": 0}
    run = ReconciliationRun.objects.get()
    assert run.state == RunState.NOTHING and run.get_state_display() != "Succeeded"
    with translation.override("zh-hans"):
        assert run.get_state_display() == "无可比对记录"


def test_a_company_without_any_record_gets_nothing_to_compare(beijing):
    run = services.reconciliation_run_create(company=beijing, direction=Direction.ISSUED, enqueue=False)
    run = services.reconciliation_run_execute(run_id=run.pk)
    assert run.state == RunState.NOTHING and not run.period_from_records


def test_bad_periods_are_refused_by_the_command(beijing):
    with translation.override("en"):
        _bad_periods_are_refused(beijing)


def _bad_periods_are_refused(beijing):
    with pytest.raises(CommandError, match="not a date"):
        call_command("reconcile", "--company", beijing.credit_code, "--from", "11/2025")
    with pytest.raises(CommandError, match="end on or after"):
        call_command("reconcile", "--company", beijing.credit_code, "--from", "2025-12-01", "--to", "2025-11-01")
    with pytest.raises(CommandError, match="at most 366 days"):
        call_command("reconcile", "--company", beijing.credit_code, "--from", "2024-01-01", "--to", "2025-06-30")
    assert not ReconciliationRun.objects.exists()


def test_the_span_of_many_years_of_records_is_cut_to_the_newest_maximum(beijing, settings):
    settings.RECONCILIATION_MAX_SPAN_DAYS = 31
    book(beijing, number="1", issue_date=date(2020, 1, 1))
    book(beijing, number="2", issue_date=date(2025, 11, 20))
    run = services.reconciliation_run_create(company=beijing, direction=Direction.ISSUED, enqueue=False)
    assert (run.period_start, run.period_end) == (date(2025, 10, 21), date(2025, 11, 20))


def test_api_takes_a_month_and_reports_what_it_compared(api_for, alice, beijing, django_capture_on_commit_callbacks):
    last_years_records(beijing)
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/reconciliation-runs/", {"company": beijing.pk, "direction": "issued", "month": "2025-11"}
        )
    assert response.status_code == 201, response.content
    body = api.get(f"/api/reconciliation-runs/{response.json()['id']}/").json()
    assert (body["period_start"], body["period_end"]) == ("2025-11-01", "2025-11-30")
    assert (body["invoices_compared"], body["tax_records_compared"], body["state"]) == (1, 0, "succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/reconciliation-runs/", {"company": beijing.pk, "direction": "issued"})
    body = api.get(f"/api/reconciliation-runs/{response.json()['id']}/").json()
    assert (body["period_start"], body["period_end"], body["period_from_records"]) == ("2025-03-02", "2025-12-30", True)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/reconciliation-runs/",
            {"company": beijing.pk, "direction": "issued", "period_start": "2024-06-01", "period_end": "2024-06-30"},
        )
    assert api.get(f"/api/reconciliation-runs/{response.json()['id']}/").json()["state"] == "nothing"


def test_api_refuses_a_month_with_dates_and_an_unreadable_month(api_for, alice, beijing):
    api = api_for(alice)
    both = {"company": beijing.pk, "direction": "issued", "month": "2025-11", "period_start": "2025-11-01"}
    assert api.post("/api/reconciliation-runs/", both).status_code == 400
    bad = api.post("/api/reconciliation-runs/", {"company": beijing.pk, "direction": "issued", "month": "2025-13"})
    assert bad.status_code == 400 and "month" in bad.json()["error"]["fields"]
    assert not ReconciliationRun.objects.exists()


def test_the_run_form_starts_a_run_and_its_page_shows_period_and_counts(
    client_for, alice, beijing, django_capture_on_commit_callbacks
):
    last_years_records(beijing)
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("recovery:recovery-run-list"),
            {"company": beijing.pk, "direction": "issued", "start": "2025-11", "end": ""},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("recovery:recovery-run-detail", args=[run.pk])
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "2025-11-01 – 2025-11-30" in page
    assert '<dd class="col-sm-9" id="run-invoices">1</dd>' in page
    assert '<dd class="col-sm-9" id="run-tax-records">0</dd>' in page
    listing = client.get(reverse("recovery:recovery-run-list")).content.decode()
    assert 'id="run-form"' in listing and "2025-11-01 – 2025-11-30" in listing


def test_the_run_form_shows_what_is_wrong_with_the_period(client_for, alice, beijing):
    response = client_for(alice).post(
        reverse("recovery:recovery-run-list"),
        {"company": beijing.pk, "direction": "issued", "start": "0001-01-01", "end": "9999-12-31"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Choose a time between the years 1900 and 2199." in response.content.decode()
    assert not ReconciliationRun.objects.exists()


def test_the_run_list_costs_the_same_queries_for_one_or_many_runs(client_for, alice, beijing):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(alice)
    counts = []
    for months in (["2025-01"], ["2025-02", "2025-03", "2025-04"]):
        for month in months:
            first, last = periods.parse_period(month=month)
            services.reconciliation_run_create(
                company=beijing, direction=Direction.ISSUED, period_start=first, period_end=last, enqueue=False
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("recovery:recovery-run-list")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_an_unexpected_error_fails_the_run_instead_of_leaving_it_running(beijing, monkeypatch):
    book(beijing, number="1", issue_date=date(2025, 11, 20))

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "compare", broken)
    run = services.reconciliation_run_create(company=beijing, direction=Direction.ISSUED, enqueue=False)
    with pytest.raises(RuntimeError):
        services.reconciliation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == RunState.FAILED and run.finished_at is not None


def test_parse_period_reads_days_and_months():
    assert periods.parse_period(month="2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert periods.parse_period(start="2025/11/05", end="2025.11.06") == (date(2025, 11, 5), date(2025, 11, 6))
    assert periods.parse_period(start="2025-11-05") == (date(2025, 11, 5), None)
    assert periods.parse_period() == (None, None)
