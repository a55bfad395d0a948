"""A worker SIGKILLed in the middle of a run: the retried run gives exactly the same gaps, one alert."""

from __future__ import annotations

import os
import signal
from datetime import date

import pytest
from django.db import connection, transaction

from invoices.models import Direction
from recovery import services
from recovery.models import Alert, Gap, ReconciliationRun, RunState
from recovery.tasks import reconciliation_run_execute_task
from tests.conftest import wait_until
from tests.recovery.helpers import book, tax
from tests.reliability.processes import children

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


def _waiting_on_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


def test_killed_worker_retry_gives_same_gaps_and_one_alert(celery_worker_process, beijing):
    if connection.vendor != "postgresql":
        pytest.skip("holding the worker mid-run uses PostgreSQL row locks")
    for n in ("1", "2", "3"):
        book(beijing, number=n)
    tax(beijing, number="2", amount="99.00")
    first = services.reconciliation_run_create(
        company=beijing,
        direction=Direction.ISSUED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        enqueue=False,
    )
    services.reconciliation_run_execute(run_id=first.pk)
    book(beijing, number="4")  # one new gap for the second run
    run = services.reconciliation_run_create(
        company=beijing,
        direction=Direction.ISSUED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        enqueue=False,
    )
    celery_worker_process.start()
    with transaction.atomic():
        # Hold a gap row the run must update, so the worker blocks in the middle of its writes.
        list(Gap.objects.select_for_update().filter(invoice_key__endswith="1"))
        reconciliation_run_execute_task.apply_async((run.pk,), queue=celery_worker_process.queue)
        wait_until(_waiting_on_lock, timeout=90)
        assert ReconciliationRun.objects.get(pk=run.pk).state == RunState.RUNNING
        for child in children(celery_worker_process.proc.pid):
            os.kill(child, signal.SIGKILL)
    # The pool replaces the child and the unacknowledged message is delivered again.
    done = wait_until(
        lambda: ReconciliationRun.objects.filter(pk=run.pk, state=RunState.SUCCEEDED).first(), timeout=120
    )
    assert done.attempts == 2
    gaps = sorted(Gap.objects.values_list("kind", "invoice_key", "first_seen_run_id"))
    again = services.reconciliation_run_create(
        company=beijing,
        direction=Direction.ISSUED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        enqueue=False,
    )
    services.reconciliation_run_execute(run_id=again.pk)
    assert sorted(Gap.objects.values_list("kind", "invoice_key", "first_seen_run_id")) == gaps
    assert len(gaps) == 4
    assert Alert.objects.filter(run=run).count() == 1 and done.new_gaps == 1
    wait_until(lambda: Alert.objects.filter(run=run, published_at__isnull=False).exists(), timeout=30)
