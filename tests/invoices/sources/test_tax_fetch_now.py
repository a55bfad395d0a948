"""Using the tax-system sources end to end: "fetch now" (page and API), both directions as one unit,
Retry-After, purchases in the simulator, and a simulator whose day follows the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone, translation

from demo import invoices as invoices_demo
from demo import simulator
from invoices import sources
from invoices.imports.services import import_file
from invoices.models import (
    Direction,
    ImportBatch,
    ImportKind,
    TaxFetch,
    TaxFetchState,
    TaxRecord,
    TaxSource,
    TaxSourceKind,
)
from invoices.sources import client, fetch
from invoices.sources.fetch import tax_fetch_execute, tax_fetch_request, tax_records_fetch_directions
from recovery.models import Gap, ReconciliationRun, RunState
from tests.conftest import allow_outbound
from tests.invoices.sources.helpers import TOKEN, configure, set_faults


def both_period():
    return sources.default_period()


def received_keys(key: str, today) -> set[str]:
    return {invoice.record["digital_number"] for invoice in invoices_demo.demo_received_invoices(key, today=today)}


# --- purchases in the simulator ------------------------------------------------------------------------
def test_the_simulator_serves_the_purchases_the_demo_backups_hold(beijing, xian, sim):
    for company, key in ((beijing, "bj"), (xian, "xa")):
        configure(company, sim)
        start, end = both_period()
        report = tax_records_fetch_directions(company=company, directions=[Direction.RECEIVED], start=start, end=end)
        records = TaxRecord.objects.filter(company=company, direction=Direction.RECEIVED)
        stored = set(records.values_list("invoice_key", flat=True))
        assert stored == received_keys(key, sim.simulator.today)
        assert report[Direction.RECEIVED].received == len(stored) > 20
        assert TaxRecord.objects.filter(company=company, direction=Direction.RECEIVED, buyer_tax_id=company.credit_code)
    # the two companies buy different invoices
    assert not received_keys("bj", sim.simulator.today) & received_keys("xa", sim.simulator.today)


def test_purchases_reconcile_without_gaps_while_beijing_sales_miss_the_outage(beijing, sim, published):
    from recovery import services as recovery

    configure(beijing, sim)
    today = sim.simulator.today
    for direction, invoices in (
        (Direction.ISSUED, invoices_demo.demo_invoices("bj", today=today)),
        (Direction.RECEIVED, invoices_demo.demo_received_invoices("bj", today=today)),
    ):
        import_file(
            company=beijing,
            kind=ImportKind.BACKUP,
            direction=direction,
            filename=f"backup-{direction}.csv",
            content=invoices_demo._csv([invoice.row() for invoice in invoices]),
        )
    start, end = both_period()
    for direction in Direction.values:
        run = recovery.reconciliation_run_create(
            company=beijing, direction=direction, period_start=start, period_end=end, enqueue=False
        )
        assert recovery.reconciliation_run_execute(run_id=run.pk).state == RunState.SUCCEEDED
    assert not Gap.objects.filter(direction=Direction.RECEIVED).exists()
    assert Gap.objects.filter(direction=Direction.ISSUED).exists()  # the Beijing data-sync gap


# --- both directions as one unit ------------------------------------------------------------------------
def test_received_failing_after_issued_arrived_stores_nothing_from_the_fetch(beijing, sim, monkeypatch):
    configure(beijing, sim, max_retries=0)
    real = sim.simulator.data

    def received_broken(taxpayer, direction):
        records = real(taxpayer, direction)
        if direction == Direction.RECEIVED:
            return [(at, {**record, "buyer_tax_id": "91110000000000000X"}) for at, record in records]
        return records

    monkeypatch.setattr(sim.simulator, "data", received_broken)
    start, end = both_period()
    with translation.override("en"), pytest.raises(sources.SourceError, match="unreadable"):
        tax_records_fetch_directions(company=beijing, directions=list(Direction.values), start=start, end=end)
    assert not TaxRecord.objects.exists() and not ImportBatch.objects.exists()
    assert TaxSource.objects.get(company=beijing).last_fetch_error


def test_a_write_failing_for_received_rolls_back_the_issued_write(beijing, sim, monkeypatch):
    configure(beijing, sim)
    real_store = fetch._store

    def store(**kwargs):
        if kwargs["direction"] == Direction.RECEIVED:
            raise IntegrityError("disk full while writing the purchases")
        return real_store(**kwargs)

    monkeypatch.setattr(fetch, "_store", store)
    start, end = both_period()
    with pytest.raises(IntegrityError):
        tax_records_fetch_directions(company=beijing, directions=list(Direction.values), start=start, end=end)
    assert not TaxRecord.objects.exists() and not ImportBatch.objects.exists()


def test_fetch_tax_records_both_is_one_unit_and_says_so(beijing, sim, monkeypatch, capsys):
    from invoices.management.commands.fetch_tax_records import Command

    assert "one unit" in Command.help and "nothing from this fetch is stored" in Command.help
    configure(beijing, sim, max_retries=0)
    real = sim.simulator.data
    monkeypatch.setattr(
        sim.simulator,
        "data",
        lambda taxpayer, direction: [] if direction == Direction.RECEIVED else real(taxpayer, direction),
    )
    call_command("fetch_tax_records", "--company", beijing.credit_code, "--direction", "received")
    monkeypatch.setattr(sim.simulator, "data", real)
    call_command("fetch_tax_records", "--company", beijing.credit_code)  # both, fine: stores both
    before = (TaxRecord.objects.count(), ImportBatch.objects.count())
    assert TaxRecord.objects.filter(direction=Direction.RECEIVED).exists()
    set_faults(sim, empty=True)  # issued: nothing where there were invoices → refused, received never stored
    with translation.override("en"), pytest.raises(CommandError, match="nothing stored"):
        call_command("fetch_tax_records", "--company", beijing.credit_code, "--direction", "both")
    assert (TaxRecord.objects.count(), ImportBatch.objects.count()) == before


# --- Retry-After -----------------------------------------------------------------------------------------
def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert client.retry_after_seconds("7", now=now) == 7
    assert client.retry_after_seconds("Wed, 25 Nov 2026 17:00:45 GMT", now=now) == 45
    assert client.retry_after_seconds("Wed, 25 Nov 2026 16:00:00 GMT", now=now) == 0
    assert client.retry_after_seconds("soon", now=now) is None
    assert client.retry_after_seconds("²", now=now) is None  # a digit to str.isdigit; float() refused it
    assert client.retry_after_seconds(None) is None


def test_the_simulator_takes_only_a_retry_after_the_client_can_read():
    faults = simulator.Faults()
    faults.update({"retry_after": 30})
    faults.update({"retry_after": "Wed, 25 Nov 2026 18:00:00 GMT"})
    assert faults.retry_after == "Wed, 25 Nov 2026 18:00:00 GMT"
    for unreadable in ("soon", "", True, 1.5):
        with pytest.raises(ValueError, match="retry_after must be whole seconds or an HTTP date"):
            faults.update({"retry_after": unreadable})
    assert faults.retry_after == "Wed, 25 Nov 2026 18:00:00 GMT"


def test_an_outage_is_waited_out_as_the_simulator_asks_capped_by_the_setting(beijing, sim, settings, monkeypatch):
    waits = []
    monkeypatch.setattr(client, "_sleep", waits.append)
    settings.TAX_SOURCE_MAX_RETRY_AFTER_SECONDS = 30
    configure(beijing, sim, max_retries=2)
    set_faults(sim, outage=True, retry_after="4")
    start, end = both_period()
    with pytest.raises(sources.SourceError, match="503"):
        fetch.tax_records_fetch(company=beijing, direction=Direction.ISSUED, start=start, end=end)
    assert waits == [4, 4]

    waits.clear()
    set_faults(sim, retry_after="3600")  # an hour: capped
    with pytest.raises(sources.SourceError):
        fetch.tax_records_fetch(company=beijing, direction=Direction.ISSUED, start=start, end=end)
    assert waits == [30, 30]

    waits.clear()
    in_20_seconds = timezone.now() + timedelta(seconds=20)
    set_faults(sim, retry_after=in_20_seconds.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    with pytest.raises(sources.SourceError):
        fetch.tax_records_fetch(company=beijing, direction=Direction.ISSUED, start=start, end=end)
    assert len(waits) == 2 and all(15 <= wait <= 20 for wait in waits)


def test_a_blip_without_retry_after_uses_the_backoff(beijing, sim, monkeypatch):
    waits = []
    monkeypatch.setattr(client, "_sleep", waits.append)
    configure(beijing, sim, max_retries=3)
    set_faults(sim, fail_next=2)
    start, end = both_period()
    fetch.tax_records_fetch(company=beijing, direction=Direction.ISSUED, start=start, end=end)
    assert waits == [0.001, 0.002]


# --- the simulator's day follows the clock ---------------------------------------------------------------
def test_a_simulator_left_running_overnight_follows_the_day(beijing, settings):
    evening = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    with time_machine.travel(evening, tick=True) as traveller:
        server = simulator.serve_in_thread(token=TOKEN)
        allow_outbound(settings, server.url)
        try:
            first = requests.get(f"{server.url}/health", timeout=5).json()
            assert first["today"] == "2026-11-25"
            traveller.shift(timedelta(hours=10))  # 09:00 the next morning in Shanghai
            second = requests.get(f"{server.url}/health", timeout=5).json()
            assert second["today"] == "2026-11-26"
            # the Beijing data-sync window moved with the day, as load_demo would record it now
            from demo.foundation import beijing_outage_window

            start, _end = beijing_outage_window()
            assert second["missing"][0]["start"] == start.isoformat() != first["missing"][0]["start"]
            configure(beijing, server)
            today = invoices_demo.demo_today()
            period = (today - timedelta(days=35), today)
            fetched = fetch.tax_records_fetch(company=beijing, direction=Direction.RECEIVED, start=period[0],
                                              end=period[1])  # fmt: skip
            assert fetched.received == len(received_keys("bj", today))
            stored = set(TaxRecord.objects.filter(direction=Direction.RECEIVED).values_list("invoice_key", flat=True))
            assert stored == received_keys("bj", today)
        finally:
            server.stop()


# --- "fetch now": service --------------------------------------------------------------------------------
def test_fetch_now_queues_both_directions_once(beijing, alice, sim, django_capture_on_commit_callbacks):
    configure(beijing, sim)
    with django_capture_on_commit_callbacks() as callbacks:
        first = tax_fetch_request(company=beijing, user=alice)
    assert [f.direction for f in first.started] == list(Direction.values) and len(callbacks) == 2
    with django_capture_on_commit_callbacks() as callbacks:
        second = tax_fetch_request(company=beijing, user=alice)
    assert second.started == [] and callbacks == []
    assert {f.pk for f in second.fetches} == {f.pk for f in first.started}
    assert TaxFetch.objects.count() == 2


def test_the_database_refuses_a_second_active_fetch(beijing, sim):
    configure(beijing, sim)
    start, end = both_period()
    TaxFetch.objects.create(company=beijing, direction="issued", period_start=start, period_end=end)
    with pytest.raises(IntegrityError):
        TaxFetch.objects.create(company=beijing, direction="issued", period_start=start, period_end=end)


def test_a_fetch_abandoned_by_a_dead_worker_does_not_block_the_button(beijing, sim, settings):
    configure(beijing, sim)
    settings.TAX_FETCH_STALE_MINUTES = 30
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        old = tax_fetch_request(company=beijing).started
    again = tax_fetch_request(company=beijing)
    assert len(again.started) == 2
    assert set(TaxFetch.objects.filter(pk__in=[f.pk for f in old]).values_list("state", flat=True)) == {"failed"}


def test_fetch_now_runs_on_the_worker_and_queues_reconciliation(
    beijing, alice, sim, published, django_capture_on_commit_callbacks
):
    configure(beijing, sim)
    request = tax_fetch_request(company=beijing, user=alice)
    for queued in request.started:
        with django_capture_on_commit_callbacks(execute=True):
            done = tax_fetch_execute(fetch_id=queued.pk)
        assert done.state == TaxFetchState.SUCCEEDED and done.rows_created == done.rows_received > 0
        assert done.batch is not None and done.finished_at and done.attempts == 1
    # the import signal queued (and eagerly ran) a reconciliation per direction
    assert set(ReconciliationRun.objects.values_list("direction", flat=True)) == set(Direction.values)
    # running a finished fetch again changes nothing
    batches = ImportBatch.objects.count()
    again = tax_fetch_execute(fetch_id=request.started[0].pk)
    assert again.attempts == 1 and ImportBatch.objects.count() == batches


def test_a_failed_fetch_keeps_the_reason_in_the_askers_language(beijing, alice, sim):
    configure(beijing, sim, max_retries=0)
    set_faults(sim, outage=True)
    for language in ("en", "zh-hans"):
        TaxFetch.objects.all().delete()
        request = tax_fetch_request(company=beijing, user=alice, language=language, directions=[Direction.ISSUED])
        failed = tax_fetch_execute(fetch_id=request.started[0].pk)
        assert failed.state == TaxFetchState.FAILED and "503" in failed.failure_reason
        if language == "en":
            assert "The tax system answered HTTP 503" in failed.failure_reason


def test_fetch_now_refuses_a_company_that_uploads_exports(beijing):
    with translation.override("en"), pytest.raises(sources.SourceError, match="uploaded exports"):
        tax_fetch_request(company=beijing)
    TaxSource.objects.create(company=beijing, kind=TaxSourceKind.UPLOAD)
    with pytest.raises(sources.SourceError):
        tax_fetch_request(company=beijing)
    assert not TaxFetch.objects.exists()


# --- "fetch now": page ---------------------------------------------------------------------------------
def test_accountants_and_admins_fetch_from_the_page(
    beijing, alice, carol, sim, client_for, published, django_capture_on_commit_callbacks
):
    configure(beijing, sim)
    for user in (alice, carol):
        page = client_for(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = page.post(f"/tax-sources/{beijing.pk}/fetch/")
        assert response.status_code == 302 and response["Location"] == f"/tax-sources/{beijing.pk}/"
    # eager Celery ran the first click's fetches; the second click queued new ones and ran them too
    assert TaxFetch.objects.filter(state=TaxFetchState.SUCCEEDED).count() == 4
    page = client_for(carol).get(f"/tax-sources/{beijing.pk}/")
    body = page.content.decode()
    assert 'data-live="done"' in body and 'data-state="succeeded"' in body
    assert "js/live-block.js" in body


def test_the_page_says_when_a_fetch_is_already_on_its_way_or_there_is_nothing_to_fetch(beijing, alice, sim, client_for):
    page = client_for(alice)
    with translation.override("en"):
        refused = page.post(f"/tax-sources/{beijing.pk}/fetch/", follow=True, HTTP_ACCEPT_LANGUAGE="en").text
        assert "takes its tax-system records from uploaded exports" in refused
        configure(beijing, sim)
        tax_fetch_request(company=beijing, user=alice)  # queued, not yet run
        joined = page.post(f"/tax-sources/{beijing.pk}/fetch/", follow=True, HTTP_ACCEPT_LANGUAGE="en").text
    assert "A fetch is already on its way" in joined
    assert TaxFetch.objects.count() == 2  # one per direction: the second click queued nothing


def test_others_may_not_fetch_and_forged_companies_are_not_found(beijing, xian, bob, fiona, charlie, sim, client_for):
    configure(beijing, sim)
    for user in (bob, fiona):
        assert client_for(user).post(f"/tax-sources/{beijing.pk}/fetch/").status_code == 403
    assert client_for(charlie).post(f"/tax-sources/{beijing.pk}/fetch/").status_code == 404
    assert client_for(charlie).get(f"/tax-sources/{beijing.pk}/fetch/status/").status_code == 404
    assert client_for(charlie).get(f"/tax-sources/{beijing.pk}/fetch/").status_code == 405
    assert not TaxFetch.objects.exists()


def test_the_status_block_shows_progress_then_the_result(beijing, alice, sim, client_for, settings):
    configure(beijing, sim, max_retries=0)
    request = tax_fetch_request(company=beijing, user=alice)  # not committed-and-run: still queued
    page = client_for(alice)
    with translation.override("en"):
        queued = page.get(f"/tax-sources/{beijing.pk}/fetch/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-live="running"' in queued and "disabled" in queued and queued.count('data-state="queued"') == 2
    set_faults(sim, outage=True)
    for queued_fetch in request.started:
        tax_fetch_execute(fetch_id=queued_fetch.pk)
    done = page.get(f"/tax-sources/{beijing.pk}/fetch/status/").content.decode()
    assert 'data-live="done"' in done and done.count('data-state="failed"') == 2 and "503" in done
    assert 'id="last-fetch-error"' in done


def test_status_block_queries_do_not_grow_with_history(beijing, alice, sim, client_for, django_assert_max_num_queries):
    configure(beijing, sim)
    start, end = both_period()
    for _ in range(20):
        for direction in Direction.values:
            TaxFetch.objects.create(
                company=beijing, direction=direction, period_start=start, period_end=end, state="failed"
            )
    page = client_for(alice)
    page.get(f"/tax-sources/{beijing.pk}/fetch/status/")
    with django_assert_max_num_queries(10):
        assert page.get(f"/tax-sources/{beijing.pk}/fetch/status/").status_code == 200
    with django_assert_max_num_queries(12):
        assert page.get(f"/tax-sources/{beijing.pk}/").status_code == 200


# --- "fetch now": API ----------------------------------------------------------------------------------
def test_api_fetch_answers_202_with_a_status_url(
    beijing, alice, sim, api_for, published, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    configure(beijing, sim)
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/tax-sources/{beijing.pk}/fetch/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status_url"].endswith(f"/api/tax-sources/{beijing.pk}/fetch/") and response["Location"]
    assert len(body["started"]) == 2 and body["running"] is True  # answered before the worker ran
    with django_assert_max_num_queries(8):
        status = api.get(body["status_url"]).json()
    assert status["running"] is False and status["last_fetch_at"] and status["last_fetch_error"] == ""
    assert {f["direction"]: f["state"] for f in status["fetches"]} == {"issued": "succeeded", "received": "succeeded"}
    assert all(f["rows_received"] > 0 for f in status["fetches"])


def test_api_fetch_permissions(beijing, bob, charlie, carol, api_for):
    assert api_for(bob).post(f"/api/tax-sources/{beijing.pk}/fetch/").status_code == 403
    assert api_for(charlie).post(f"/api/tax-sources/{beijing.pk}/fetch/").status_code == 404
    assert api_for(charlie).get(f"/api/tax-sources/{beijing.pk}/fetch/").status_code == 404
    response = api_for(carol).post(f"/api/tax-sources/{beijing.pk}/fetch/")  # uploads exports: nothing to fetch
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert not TaxFetch.objects.exists()


def test_api_fetch_status_of_a_company_that_uploads_exports_names_no_fetch(beijing, alice, api_for):
    status = api_for(alice).get(f"/api/tax-sources/{beijing.pk}/fetch/")
    assert status.status_code == 200
    body = status.json()
    assert (body["running"], body["fetches"], body["last_fetch_at"], body["last_fetch_error"]) == (False, [], None, "")
