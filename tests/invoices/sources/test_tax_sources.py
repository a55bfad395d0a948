"""Tax-system sources: the HTTP API client against a real simulator on 127.0.0.1, its faults, the
all-or-nothing fetch, the Beijing missing-invoices case and its recovery, commands, settings page and API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.utils import translation

from demo import invoices as invoices_demo
from demo.foundation import beijing_outage_window
from invoices import sources
from invoices.imports.services import import_file
from invoices.models import BatchState, Direction, ImportBatch, ImportKind, TaxRecord, TaxSource, TaxSourceKind
from invoices.sources import client
from invoices.sources.fetch import tax_records_fetch, tax_source_save
from recovery import services as recovery
from recovery.models import Gap, GapKind, GapStatus, RunState
from response.models import CounterpartyCopy
from tests.conftest import allow_outbound, free_port
from tests.invoices.sources.helpers import TOKEN, configure, set_faults


def fetch(company, direction=Direction.ISSUED):
    start, end = sources.default_period()
    return tax_records_fetch(company=company, direction=direction, start=start, end=end)


def stored() -> tuple[int, int]:
    return TaxRecord.objects.count(), ImportBatch.objects.count()


def outage_keys(today) -> set[str]:
    start, end = beijing_outage_window()
    return {
        invoice.record["digital_number"]
        for invoice in invoices_demo.demo_invoices("bj", today=today)
        if start <= invoice.issued_at < end
    }


def test_fetch_stores_the_tax_systems_view_in_a_few_paged_calls(beijing, sim):
    configure(beijing, sim, page_size=50)
    report = fetch(beijing)
    expected = {i.record["digital_number"] for i in invoices_demo.tax_system_invoices("bj", today=sim.simulator.today)}
    expected -= outage_keys(sim.simulator.today)
    assert set(TaxRecord.objects.values_list("invoice_key", flat=True)) == expected
    assert report.received == report.created == len(expected) > 200
    # Paged by month and page, not one call per invoice: every call is accounted for.
    assert report.calls == sim.simulator.requests_served < len(expected) / 10
    batch = report.batch
    assert batch.kind == ImportKind.TAX_FETCH and batch.state == BatchState.SUCCEEDED
    assert batch.rows_created == len(expected)
    raw = storages["private"].open(f"imports/{beijing.pk}/{batch.pk}-{batch.sha256[:16]}").read()
    assert json.loads(raw)["taxpayer"] == beijing.credit_code


def test_a_fetched_batch_is_finished_like_an_uploaded_one(beijing, sim):
    configure(beijing, sim)
    batch = fetch(beijing).batch
    assert (batch.rows_read, batch.rows_processed, batch.progress_percent) == (batch.rows_created, batch.rows_read, 100)
    assert batch.issued_from and batch.issued_to and batch.storage_name and batch.finished_at


def test_fetching_the_same_records_again_changes_nothing(beijing, sim):
    configure(beijing, sim)
    fetch(beijing)
    before = stored()
    again = fetch(beijing)
    assert again.batch is None and again.unchanged == again.received and stored() == before


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"outage": True}, "HTTP 503"),
        ({"slow_seconds": 3}, "did not answer within 1 s"),
        ({"truncate": True}, "truncated"),
    ],
    ids=["outage", "slow", "truncated"],
)
def test_each_fault_fails_the_fetch_and_stores_nothing(beijing, sim, faults, reason):
    configure(beijing, sim, timeout_seconds=1, max_retries=1)
    set_faults(sim, **faults)
    before = stored()
    with translation.override("en"), pytest.raises(sources.SourceError, match=reason):
        fetch(beijing)
    assert stored() == before == (0, 0)
    assert reason in TaxSource.objects.get(company=beijing).last_fetch_error


def test_a_fault_after_a_good_fetch_leaves_the_earlier_records_alone(beijing, sim):
    configure(beijing, sim, max_retries=0)
    fetch(beijing)
    before = stored()
    set_faults(sim, truncate=True)
    with pytest.raises(sources.SourceError):
        fetch(beijing)
    assert stored() == before


def test_nothing_for_a_month_that_had_records_before_is_refused(beijing, sim):
    configure(beijing, sim)
    fetch(beijing)
    before = stored()
    set_faults(sim, empty=True)
    with translation.override("en"), pytest.raises(sources.SourceError, match="returned no invoices for"):
        fetch(beijing)
    assert stored() == before


def test_nothing_where_there_never_was_anything_is_fine(beijing, sim):
    configure(beijing, sim)
    today = sim.simulator.today
    start, end = today - timedelta(days=200), today - timedelta(days=180)  # before the demo's month
    report = tax_records_fetch(company=beijing, direction=Direction.RECEIVED, start=start, end=end)
    assert report.received == 0 and report.batch.state == BatchState.SUCCEEDED


def test_transient_server_errors_are_retried_with_growing_backoff(beijing, sim, monkeypatch):
    waits = []
    monkeypatch.setattr(client, "_sleep", waits.append)
    configure(beijing, sim, max_retries=3)
    set_faults(sim, fail_next=2)
    report = fetch(beijing)
    assert report.received > 200
    assert waits == [0.001, 0.002]


def test_a_wrong_token_is_refused_at_once(beijing, sim):
    configure(beijing, sim, credential="not-the-token", max_retries=3)
    with translation.override("en"), pytest.raises(sources.SourceError, match="refused the access token"):
        fetch(beijing)
    assert sim.simulator.requests_served == 1 and stored() == (0, 0)


def test_an_unreachable_source_fails_with_the_address(beijing, settings):
    settings.TAX_SOURCE_RETRY_BACKOFF_MS = 1
    port = free_port()
    allow_outbound(settings, f"http://127.0.0.1:{port}")
    tax_source_save(company=beijing, kind="api", base_url=f"http://127.0.0.1:{port}", credential="x", max_retries=1)
    with translation.override("en"), pytest.raises(sources.SourceError, match=f"127.0.0.1:{port}"):
        fetch(beijing)
    assert stored() == (0, 0)


def test_refresh_returns_none_for_companies_that_upload_exports(beijing, xian):
    tax_source_save(company=xian, kind=TaxSourceKind.UPLOAD)
    start, end = sources.default_period()
    for company in (beijing, xian):
        assert sources.refresh_tax_records(company=company, direction="issued", start=start, end=end) is None


def test_month_spans_cut_a_period_at_month_ends():
    from datetime import date

    assert list(client.month_spans(date(2026, 11, 20), date(2027, 1, 5))) == [
        (date(2026, 11, 20), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 1, 5)),
    ]


# --- the Beijing case, end to end ---------------------------------------------------------------------
def import_backup(company, key, today):
    content = invoices_demo._csv([invoice.row() for invoice in invoices_demo.demo_invoices(key, today=today)])
    return import_file(
        company=company, kind=ImportKind.BACKUP, direction="issued", filename="备份.csv", content=content
    )


def reconcile(company):
    start, end = sources.default_period()
    run = recovery.reconciliation_run_create(
        company=company, direction="issued", period_start=start, period_end=end, enqueue=False
    )
    return recovery.reconciliation_run_execute(run_id=run.pk)


def test_missing_beijing_invoices_are_gaps_until_the_simulator_recovers(beijing, sim, published):
    configure(beijing, sim)
    import_backup(beijing, "bj", sim.simulator.today)
    run = reconcile(beijing)
    assert run.state == RunState.SUCCEEDED
    missing = outage_keys(sim.simulator.today)
    gaps = Gap.objects.filter(company=beijing, status=GapStatus.OPEN)
    assert set(gaps.values_list("invoice_key", flat=True)) == missing
    assert set(gaps.values_list("kind", flat=True)) == {GapKind.ONLY_IN_BOOKS}

    response = requests.post(f"{sim.url}/admin/faults/recover", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.json()["missing"] == []
    run = reconcile(beijing)
    assert run.state == RunState.SUCCEEDED and run.resolved_gaps == len(missing)
    assert not Gap.objects.filter(company=beijing, status=GapStatus.OPEN).exists()


def test_a_failing_simulator_fails_reconciliation_without_gaps(beijing, sim, published):
    configure(beijing, sim, max_retries=0)
    set_faults(sim, outage=True)
    with translation.override("en"):
        import_backup(beijing, "bj", sim.simulator.today)  # queues (eagerly runs) a reconciliation
        run = reconcile(beijing)
    assert run.state == RunState.FAILED and "HTTP 503" in run.failure_reason
    assert not Gap.objects.exists() and TaxRecord.objects.count() == 0


def test_xian_differs_by_one_voided_invoice(xian, sim, published):
    configure(xian, sim)
    import_backup(xian, "xa", sim.simulator.today)
    reconcile(xian)
    assert list(Gap.objects.values_list("kind", flat=True)) == [GapKind.STATUS_MISMATCH]


# --- the simulator itself -----------------------------------------------------------------------------
def test_simulator_admin_endpoint_needs_the_token_and_names_bad_faults(sim):
    assert requests.get(f"{sim.url}/admin/faults", timeout=5).status_code == 401
    response = requests.post(
        f"{sim.url}/admin/faults", json={"outage": "yes"}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert response.status_code == 400 and "outage must be true or false" in response.json()["error"]["message"]
    assert set_faults(sim, outage=True, slow_seconds=0.5)["outage"] is True
    health = requests.get(f"{sim.url}/health", timeout=5).json()
    assert health["simulator"] is True and health["faults"]["slow_seconds"] == 0.5


def test_simulator_refuses_spans_longer_than_a_month(sim, beijing):
    response = requests.get(
        f"{sim.url}/api/v1/taxpayers/{beijing.credit_code}/invoices",
        params={"direction": "issued", "from": "2026-01-01", "to": "2026-03-01"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 400 and "31 days" in response.json()["error"]["message"]


def test_run_tax_simulator_command_serves_until_terminated():
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_tax_simulator", "--port", "0", "--outage", "--token", TOKEN, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in first, first
        url = first.split("listening on ")[1].split("/ ")[0]
        assert requests.get(f"{url}/health", timeout=5).json()["faults"]["outage"] is True
        response = requests.get(
            f"{url}/api/v1/taxpayers/91110108MA01B2C3D0/invoices",
            params={"from": "2026-11-01", "to": "2026-11-30"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert response.status_code == 503
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_run_tax_simulator_refuses_a_port_that_cannot_exist():
    with pytest.raises(CommandError, match="not a TCP port"):  # was an OverflowError from bind()
        call_command("run_tax_simulator", "--port", "99999", "--token", TOKEN)


# --- commands -----------------------------------------------------------------------------------------
def test_fetch_tax_records_command_prints_json(beijing, sim, capsys):
    configure(beijing, sim)
    call_command("fetch_tax_records", "--company", beijing.credit_code, "--direction", "issued", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["issued"]["created"] == TaxRecord.objects.count() > 0


def test_fetch_tax_records_command_fails_with_the_reason(beijing, sim):
    configure(beijing, sim, max_retries=0)
    set_faults(sim, outage=True)
    with translation.override("en"), pytest.raises(CommandError, match="HTTP 503"):
        call_command(
            "fetch_tax_records", "--company", beijing.credit_code, "--from", "2026-11-01", "--to", "2026-11-30"
        )
    with pytest.raises(CommandError, match="uploaded exports"):
        tax_source_save(company=beijing, kind=TaxSourceKind.UPLOAD)
        with translation.override("en"):
            call_command("fetch_tax_records", "--company", beijing.credit_code)


# --- settings page and API ----------------------------------------------------------------------------
def test_company_admin_sets_the_source_and_the_token_is_never_shown(beijing, carol, client_for):
    page = client_for(carol)
    url = f"/tax-sources/{beijing.pk}/"
    response = page.post(
        url,
        {"kind": "api", "base_url": "https://tax.example.cn/", "credential": "s3cret-token-value",
         "timeout_seconds": 20, "max_retries": 2, "page_size": 100},
    )  # fmt: skip
    assert response.status_code == 302
    source = TaxSource.objects.get(company=beijing)
    assert (source.kind, source.credential, source.timeout_seconds) == ("api", "s3cret-token-value", 20)
    assert "s3cret-token-value" not in page.get(url).content.decode()
    # Saving again without a token keeps the stored one.
    page.post(url, {"kind": "api", "base_url": "https://tax.example.cn/", "credential": "",
                    "timeout_seconds": 20, "max_retries": 2, "page_size": 100})  # fmt: skip
    assert TaxSource.objects.get(company=beijing).credential == "s3cret-token-value"
    assert "s3cret-token-value" not in page.get("/tax-sources/").content.decode()


def test_an_api_source_without_url_or_token_is_refused(beijing, carol, client_for):
    response = client_for(carol).post(
        f"/tax-sources/{beijing.pk}/",
        {"kind": "api", "base_url": "", "credential": "", "timeout_seconds": 20, "max_retries": 2, "page_size": 100},
    )
    assert response.status_code == 200 and not TaxSource.objects.exists()


def test_an_accountant_sees_but_cannot_change_the_source(beijing, alice, client_for):
    page = client_for(alice)
    assert page.get(f"/tax-sources/{beijing.pk}/").status_code == 200
    page.post(f"/tax-sources/{beijing.pk}/", {"kind": "api", "base_url": "https://x.example", "credential": "t",
                                              "timeout_seconds": 5, "max_retries": 0, "page_size": 50})  # fmt: skip
    assert not TaxSource.objects.exists()


def test_another_companys_source_is_not_found(beijing, charlie, client_for, api_for):
    assert client_for(charlie).get(f"/tax-sources/{beijing.pk}/").status_code == 404
    response = api_for(charlie).patch(f"/api/tax-sources/{beijing.pk}/", {"kind": "upload"}, format="json")
    assert response.status_code == 404


def test_api_sets_the_source_for_company_admins_only(beijing, carol, alice, api_for, settings):
    allow_outbound(settings, "http://127.0.0.1:8001")  # saved, never fetched from
    api = api_for(carol)
    response = api.put(
        f"/api/tax-sources/{beijing.pk}/",
        {"kind": "simulator", "base_url": "http://127.0.0.1:8001", "credential": "tok", "page_size": 100},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["has_credential"] is True and "credential" not in body and body["page_size"] == 100
    assert api_for(alice).patch(f"/api/tax-sources/{beijing.pk}/", {"kind": "upload"}, format="json").status_code == 403
    response = api.patch(f"/api/tax-sources/{beijing.pk}/", {"page_size": 5000}, format="json")
    assert response.status_code == 400 and "page_size" in response.json()["error"]["fields"]


def test_source_list_pages_and_api_do_not_grow_queries(
    beijing, xian, carol, api_for, client_for, django_assert_max_num_queries
):
    from outage_portal import services

    services.membership_grant(user=carol, company=xian, role="company_admin")
    tax_source_save(company=xian, kind="api", base_url="https://tax.example.cn", credential="t")
    api = api_for(carol)
    with django_assert_max_num_queries(6):
        body = api.get("/api/tax-sources/").json()
    assert {row["kind"] for row in body["results"]} == {"upload", "api"}
    page = client_for(carol)
    with django_assert_max_num_queries(10):
        assert page.get("/tax-sources/").status_code == 200


# --- demo ---------------------------------------------------------------------------------------------
def test_load_demo_points_both_companies_at_the_simulator_and_shows_the_beijing_gaps(
    demo_simulator_url, settings, db, published
):
    call_command("load_demo", force=True)
    batches = ImportBatch.objects.count()
    call_command("load_demo", force=True)
    assert ImportBatch.objects.count() == batches
    assert {(source.kind, source.url) for source in TaxSource.objects.all()} == {
        ("simulator", settings.TAX_SIMULATOR_URL)
    }
    # The demo's own outage, less what its playbook adds: orders lost from both sides, and the invoice a
    # customer sent back (in our books now, still missing from the tax system).
    copied = CounterpartyCopy.objects.exclude(batch=None).values("batch")
    bj_gaps = Gap.objects.filter(
        company__credit_code="91110108MA01B2C3D0", status=GapStatus.OPEN, kind=GapKind.ONLY_IN_BOOKS
    ).exclude(invoice__batch__in=copied)
    assert set(bj_gaps.values_list("invoice_key", flat=True)) == outage_keys(invoices_demo.demo_today())
    xa_gaps = Gap.objects.filter(company__credit_code="91610131MA6TX1Y2KC")
    assert list(xa_gaps.values_list("kind", flat=True)) == [GapKind.STATUS_MISMATCH]
    # the purchases: backed up, fetched and reconciled without a gap in both companies
    received = {
        key: {invoice.record["digital_number"] for invoice in invoices_demo.demo_received_invoices(key)}
        for key in ("bj", "xa")
    }
    tax_received = TaxRecord.objects.filter(direction=Direction.RECEIVED)
    assert set(tax_received.values_list("invoice_key", flat=True)) == received["bj"] | received["xa"]
    assert not Gap.objects.filter(direction=Direction.RECEIVED).exists()


def test_tax_simulator_fault_command_switches_faults_at_runtime(sim, capsys):
    call_command("tax_simulator_fault", "outage", "--url", sim.url, "--token", TOKEN)
    assert sim.simulator.faults.outage is True
    call_command("tax_simulator_fault", "slow", "2.5", "--url", sim.url, "--token", TOKEN)
    assert sim.simulator.faults.slow_seconds == 2.5
    call_command("tax_simulator_fault", "recover", "--url", sim.url, "--token", TOKEN)
    assert not sim.simulator.faults.outage and sim.simulator.missing_windows() == []
    call_command("tax_simulator_fault", "missing-beijing", "--url", sim.url, "--token", TOKEN)
    assert sim.simulator.missing_windows() == [sim.simulator.demo_missing]
    http_date = "Wed, 25 Nov 2026 18:00:00 GMT"
    call_command("tax_simulator_fault", "retry-after", http_date, "--url", sim.url, "--token", TOKEN)
    assert sim.simulator.faults.retry_after == "Wed, 25 Nov 2026 18:00:00 GMT"
    with pytest.raises(CommandError, match="HTTP 400"):
        call_command("tax_simulator_fault", "retry-after", "soon", "--url", sim.url, "--token", TOKEN)
    with pytest.raises(CommandError, match="HTTP 401"):
        call_command("tax_simulator_fault", "show", "--url", sim.url, "--token", "wrong")


def test_source_list_leads_to_fetch_now_only_for_fetchable_sources(beijing, xian, carol, client_for):
    from outage_portal import services

    services.membership_grant(user=carol, company=xian, role="company_admin")
    tax_source_save(company=beijing, kind="simulator", credential="t")
    body = client_for(carol).get("/tax-sources/").content.decode()
    assert f'href="/tax-sources/{beijing.pk}/#tax-fetch-status"' in body
    assert f'href="/tax-sources/{xian.pk}/#tax-fetch-status"' not in body  # uploads: nothing to fetch
