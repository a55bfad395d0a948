"""More faults with real processes (PostgreSQL, Redis, workers): the worker's database session ended
mid-run, a task delivered twice, Redis restarted during a run, and one company's webhook that never
answers. After each: the same invoices and gaps as an undisturbed run, every alert published once,
every delivery made once, no job left queued or running."""

from __future__ import annotations

import io
import subprocess
import time
from datetime import date

import pytest
from django.db import connection, transaction
from kombu import Connection

from invoices.imports.services import import_batch_create, import_batch_enqueue
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice
from invoices.tasks import import_batch_process_task
from notices.notify import services as notify
from notices.notify.models import Delivery, DeliveryState
from recovery import services as recovery
from recovery.models import Alert, ReconciliationRun, RunState
from recovery.tasks import reconciliation_run_execute_task
from tests.conftest import free_port, wait_until
from tests.invoices.helpers import GOOD, csv_rows
from tests.recovery.helpers import book
from tests.reliability.conftest import waiting_on_lock
from tests.reliability.helpers import assert_each_alert_published_once, assert_settled, gaps

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker"), pytest.mark.usefixtures("seeded_tax_systems")]
NOVEMBER = {"period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30)}
BROKER_LOST = "Connection to broker lost"  # what a Celery worker logs when its broker goes away


def subscribed(user, receiver, **options):
    hook = receiver(**options)
    channel = notify.channel_create(owner=user, name="ERP", kind="webhook", url=hook.url, secret="k" * 24)
    notify.subscription_create(owner=user, channel=channel, kinds=["reconciliation_gaps"])
    return hook


def new_run(company, number: str) -> ReconciliationRun:
    """A run (not yet sent) that will find one new gap: an invoice only in our books."""
    book(company, number=number)
    return recovery.reconciliation_run_create(company=company, direction="issued", enqueue=False, **NOVEMBER)


def undisturbed_gaps_match(company) -> None:
    found = gaps(company)
    again = recovery.reconciliation_run_create(company=company, direction="issued", enqueue=False, **NOVEMBER)
    assert recovery.reconciliation_run_execute(run_id=again.pk).new_gaps == 0
    assert gaps(company) == found


def test_session_ended_mid_run_and_tasks_delivered_twice(workers, receiver, beijing, fiona):
    hook = subscribed(fiona, receiver)
    workers().start()
    recovery.reconciliation_run_execute(run_id=new_run(beijing, "1").pk)  # a gap for the next run to update

    # The worker's PostgreSQL session is ended while the run writes its gaps: the run fails, and its
    # lease expiring puts it back in the queue, where it succeeds.
    run = new_run(beijing, "2")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM recovery_gap WHERE company_id = %s FOR UPDATE", [beijing.pk])
            reconciliation_run_execute_task.delay(run.pk)
            for pid in wait_until(waiting_on_lock, timeout=60):
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    run = wait_until(lambda: ReconciliationRun.objects.filter(pk=run.pk, state=RunState.SUCCEEDED).first(), 60)
    assert run.attempts == 2 and run.new_gaps == 1

    # A run and an import delivered twice: each is done once.
    twice = new_run(beijing, "3")
    batch = import_batch_create(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv",
        stream=io.BytesIO(csv_rows(*GOOD).encode()),
    )  # fmt: skip
    for _ in range(2):
        reconciliation_run_execute_task.delay(twice.pk)
        import_batch_process_task.delay(batch.pk)
    twice = wait_until(lambda: ReconciliationRun.objects.filter(pk=twice.pk, state=RunState.SUCCEEDED).first(), 60)
    batch = wait_until(lambda: ImportBatch.objects.filter(pk=batch.pk, state=BatchState.SUCCEEDED).first(), 60)
    assert (twice.attempts, batch.attempts, batch.rows_created) == (1, 1, 2)
    assert Invoice.objects.filter(batch=batch).count() == 2

    assert_settled()
    undisturbed_gaps_match(beijing)
    assert Alert.objects.filter(company=beijing).count() == 4  # runs 1, 2, the doubled one, the import's
    assert_each_alert_published_once(hook, beijing)


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own (the shared one must not be restarted), and a way to restart it."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path)]
    procs = []

    def start():
        procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0)

    def restart(noticed):
        procs[-1].terminate()
        procs[-1].wait(timeout=10)
        wait_until(noticed, timeout=30)  # the worker notices the broker has gone before it is back
        start()

    start()
    yield f"redis://127.0.0.1:{port}/0", restart
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_redis_restarted_during_a_run(workers, receiver, beijing, fiona, private_redis):
    url, restart = private_redis
    hook = subscribed(fiona, receiver)
    worker = workers(REDIS_URL=url).start()
    # The worker may exit when its broker goes away with a task in hand (kombu cannot give the task
    # back to a Redis that is not there); its process manager starts it again.
    worker.supervise()
    wait_until(lambda: " ready." in worker.output(), timeout=60)
    with Connection(url) as broker:
        recovery.reconciliation_run_execute(run_id=new_run(beijing, "1").pk)  # alert delivered through the worker
        run = new_run(beijing, "2")
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM recovery_gap WHERE company_id = %s FOR UPDATE", [beijing.pk])
            reconciliation_run_execute_task.apply_async((run.pk,), connection=broker)
            wait_until(waiting_on_lock, timeout=60)
            lost, restarts = worker.output().count(BROKER_LOST), worker.restarts
            restart(lambda: worker.output().count(BROKER_LOST) > lost or worker.restarts > restarts)
    run = wait_until(lambda: ReconciliationRun.objects.filter(pk=run.pk, state=RunState.SUCCEEDED).first(), 60)
    assert run.attempts == 1 and run.new_gaps == 1
    assert_settled()
    undisturbed_gaps_match(beijing)
    assert_each_alert_published_once(hook, beijing)


def test_a_webhook_that_never_answers_delays_no_other_company(workers, receiver, beijing, xian, fiona, charlie):
    never = subscribed(fiona, receiver, hang_first=100)
    healthy = subscribed(charlie, receiver)
    # As docker-compose.yml runs them: notifications on workers of their own, the rest on others.
    workers().start(queues=("notifications",), beat=False, NOTIFY_HTTP_READ_TIMEOUT="40", NOTIFY_LEASE_SECONDS="60")
    workers().start(queues=("celery", "imports", "reconciliation", "fetches"))
    recovery.reconciliation_run_execute(run_id=new_run(beijing, "1").pk)
    wait_until(lambda: never.requests, timeout=60)  # Beijing's alert is stuck at its webhook

    started = time.monotonic()
    batch = import_batch_create(
        company=xian, kind=ImportKind.BACKUP, direction="issued", filename="b.csv",
        stream=io.BytesIO(csv_rows(*GOOD).encode()),
    )  # fmt: skip
    with transaction.atomic():
        import_batch_enqueue(batch.pk)
    # Xi'an's import, the reconciliation it queues, its alert and the alert's delivery all go through
    # while Beijing's delivery still waits for an answer.
    delivered = wait_until(
        lambda: Delivery.objects.filter(state=DeliveryState.DELIVERED, event_key__startswith="alert:").first(), 35
    )
    assert time.monotonic() - started < 35
    assert ImportBatch.objects.get(pk=batch.pk).state == BatchState.SUCCEEDED
    alert = Alert.objects.get(company=xian)
    assert alert.published_at and delivered.event_key == f"alert:{alert.pk}"
    assert [r["headers"]["X-Portal-Delivery"] for r in healthy.completed] == [str(delivered.uuid)]
    assert not never.completed
    assert Delivery.objects.get(event_key__startswith="alert:", channel__owner=fiona).state == DeliveryState.SENDING
