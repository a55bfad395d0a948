"""A worker killed with SIGKILL in the middle of an import, a fetch, a reconciliation and a batch of
deliveries (PostgreSQL, Redis, a real worker with beat): each job is taken over once its lease expires
and ends as an undisturbed run would, every alert is published once and every delivery made once
(a retry carries the same idempotency id), and no job is left queued or running."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.db import connection, transaction

from invoices import sources
from invoices.imports.services import import_batch_create
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice, TaxFetch, TaxFetchState, TaxRecord
from invoices.sources.tasks import tax_fetch_execute_task
from invoices.tasks import import_batch_process_task
from notices.events import event_publish
from notices.notify import services as notify
from notices.notify.models import Delivery, DeliveryState
from recovery import services as recovery
from recovery.models import ReconciliationRun, RunState
from recovery.tasks import reconciliation_run_execute_task
from tests.conftest import XIAN_CODE, wait_until
from tests.invoices.helpers import GOOD, csv_rows
from tests.invoices.sources.helpers import configure
from tests.notices.notify.fixtures import event
from tests.recovery.helpers import book
from tests.reliability.conftest import waiting_on_lock
from tests.reliability.helpers import assert_each_alert_published_once, assert_settled, gaps

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker"), pytest.mark.usefixtures("seeded_tax_systems")]


def killed_while_blocked(worker, lock_sql: str, send, job) -> None:
    """Hold a lock the job needs, send it, SIGKILL the worker's pool while the job waits for the
    lock (mid-way: claimed and at work), then let go."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(lock_sql)
        send()
        wait_until(waiting_on_lock, timeout=60)
        job.refresh_from_db()
        assert job.state == "running" and job.attempts == 1
        assert worker.kill_pool()


def test_killed_worker_mid_import_fetch_run_and_deliveries(workers, receiver, beijing, xian, fiona, sim):
    alerts_hook = receiver()
    hook = receiver(hang_first=1)  # started before the worker, which may reach only what was allowed then
    channel = notify.channel_create(owner=fiona, name="ERP", kind="webhook", url=alerts_hook.url, secret="k" * 24)
    notify.subscription_create(owner=fiona, channel=channel, kinds=["reconciliation_gaps"])
    worker = workers().start()

    # An import, killed while its merge waits to write the invoices.
    batch = import_batch_create(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv",
        stream=io.BytesIO(csv_rows(*GOOD).encode()),
    )  # fmt: skip
    killed_while_blocked(
        worker,
        "LOCK TABLE invoices_invoice IN SHARE ROW EXCLUSIVE MODE",
        lambda: import_batch_process_task.delay(batch.pk),
        batch,
    )
    batch = wait_until(lambda: ImportBatch.objects.filter(pk=batch.pk, state=BatchState.SUCCEEDED).first(), 60)
    assert (batch.attempts, batch.rows_read, batch.rows_created) == (2, 2, 2)
    assert sorted(Invoice.objects.values_list("invoice_key", flat=True)) == [
        "01100230011100000001",
        "01100230011100000002",
    ]

    # A fetch, killed after the tax system answered, while it waits to store the records.
    configure(xian, sim)
    start, end = sources.default_period()
    fetch = TaxFetch.objects.create(company=xian, direction="issued", period_start=start, period_end=end)
    killed_while_blocked(
        worker,
        f"SELECT 1 FROM invoices_taxsource WHERE company_id = {xian.pk} FOR UPDATE",
        lambda: tax_fetch_execute_task.delay(fetch.pk),
        fetch,
    )
    fetch = wait_until(lambda: TaxFetch.objects.filter(pk=fetch.pk, state=TaxFetchState.SUCCEEDED).first(), 60)
    expected = {r["digital_number"] for r in sim.simulator.invoices(XIAN_CODE, "issued", start, end)}
    assert fetch.attempts == 2 and fetch.rows_received == len(expected) > 0
    assert set(TaxRecord.objects.filter(company=xian).values_list("digital_number", flat=True)) == expected
    # Stored once; the reconciliation the fetch queues may fetch its own period as a batch of its own.
    this_period = f"{start:%Y%m%d}-{end:%Y%m%d}"
    fetched = ImportBatch.objects.filter(company=xian, kind=ImportKind.TAX_FETCH, original_name__contains=this_period)
    assert fetched.count() == 1

    # A reconciliation run, killed while it writes its gaps.
    assert_settled()  # the runs the import and the fetch queued are done
    book(beijing, number="3", issue_date=date(2026, 11, 18))  # one new gap: the run has an alert to publish
    run = recovery.reconciliation_run_create(
        company=beijing, direction="issued", period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
        enqueue=False,
    )  # fmt: skip
    killed_while_blocked(
        worker,
        f"SELECT 1 FROM recovery_gap WHERE company_id = {beijing.pk} FOR UPDATE",
        lambda: reconciliation_run_execute_task.delay(run.pk),
        run,
    )
    run = wait_until(lambda: ReconciliationRun.objects.filter(pk=run.pk, state=RunState.SUCCEEDED).first(), 60)
    assert run.attempts == 2 and run.new_gaps == 1

    # A batch of deliveries, killed with the first one in flight.
    incidents = notify.channel_create(owner=fiona, name="IM", kind="webhook", url=hook.url, secret="k" * 24)
    notify.subscription_create(owner=fiona, channel=incidents, kinds=["incident_opened"])
    for n in range(3):
        event_publish(event(f"incident:{n}:opened"))
    wait_until(lambda: hook.requests, timeout=60)
    assert worker.kill_pool()
    assert_settled()
    sent = Delivery.objects.filter(channel=incidents)
    assert sent.count() == 3 and all(d.state == DeliveryState.DELIVERED for d in sent)
    # Each accepted at least once. A delivery the receiver had accepted when the pool died, before the
    # worker recorded it, goes again (at least once, never lost): with the same id, by which the
    # receiver drops the second copy.
    assert {r["headers"]["X-Portal-Delivery"] for r in hook.completed} == {str(d.uuid) for d in sent}
    assert {r["headers"]["X-Portal-Delivery"] for r in hook.requests} == {str(d.uuid) for d in sent}

    # The same gaps as an undisturbed run finds, every alert published once, nothing left behind.
    found = gaps(beijing)
    again = recovery.reconciliation_run_execute(
        run_id=recovery.reconciliation_run_create(
            company=beijing, direction="issued", period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
            enqueue=False,
        ).pk
    )  # fmt: skip
    assert again.new_gaps == 0 and gaps(beijing) == found
    assert [kind for kind, _key, _status in found] == ["only_in_books"] * 3
    assert_each_alert_published_once(alerts_hook, beijing)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE %s", [f"invoice_import_%_{batch.pk}_%"])
        assert cursor.fetchone()[0] == 0  # the dead claim's staging tables were dropped
