"""Claims, leases and sweepers step by step (no worker: the clock is moved instead)."""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from invoices.imports.services import import_batch_create, import_batch_process, import_batches_sweep
from invoices.imports.staging import Staging, staging_leftovers_drop
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice
from recovery import services as recovery
from recovery.models import Alert, ReconciliationRun, RunState
from tests.invoices.helpers import GOOD, csv_rows
from tests.recovery.helpers import book

LEASE = timedelta(seconds=61)  # past the default lease


@pytest.fixture
def batch(beijing):
    return import_batch_create(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv",
        stream=io.BytesIO(csv_rows(*GOOD).encode()),
    )  # fmt: skip


def claim(batch) -> str | None:
    return ImportBatch.objects.claim(batch.pk, waiting=(BatchState.QUEUED,), running=BatchState.RUNNING)


def test_a_job_held_under_a_live_lease_is_left_alone(batch):
    assert claim(batch)
    report = import_batch_process(batch_id=batch.pk)  # the same task, delivered again
    assert report.batch.state == BatchState.RUNNING and report.batch.attempts == 1
    assert not Invoice.objects.exists()


def test_an_expired_lease_lets_another_worker_finish_and_the_first_finishes_nothing(batch):
    first = claim(batch)
    with time_machine.travel(timezone.now() + LEASE):
        report = import_batch_process(batch_id=batch.pk)
    assert report.batch.state == BatchState.SUCCEEDED and report.batch.attempts == 2
    assert Invoice.objects.count() == 2
    # The first worker wakes up: its claim is gone, so it can neither fail nor finish the batch.
    assert not ImportBatch.objects.release(batch.pk, first, running=BatchState.RUNNING, state=BatchState.FAILED)
    assert ImportBatch.objects.get(pk=batch.pk).state == BatchState.SUCCEEDED


def test_the_sweeper_requeues_a_stalled_job_once_and_logs_it(batch, caplog, django_capture_on_commit_callbacks):
    claim(batch)
    assert import_batches_sweep() == {"requeued": [], "failed": []}  # its worker is alive
    caplog.set_level(logging.WARNING)
    with time_machine.travel(timezone.now() + LEASE), django_capture_on_commit_callbacks() as sent:
        assert import_batches_sweep() == {"requeued": [batch.pk], "failed": []}
        assert import_batches_sweep() == {"requeued": [], "failed": []}  # once per stall
    assert len(sent) == 1 and f"ImportBatch {batch.pk}: lease expired; queued again" in caplog.text
    assert ImportBatch.objects.get(pk=batch.pk).state == BatchState.QUEUED


def test_a_job_whose_message_was_lost_is_sent_again(batch, settings, django_capture_on_commit_callbacks):
    ImportBatch.objects.filter(pk=batch.pk).update(enqueued_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.JOB_QUEUED_SECONDS + 1)):
        with django_capture_on_commit_callbacks() as sent:
            assert import_batches_sweep()["requeued"] == [batch.pk]
    assert len(sent) == 1


def test_a_job_that_keeps_killing_its_worker_fails_for_good(batch, settings):
    start = timezone.now()
    for n in range(settings.JOB_MAX_ATTEMPTS):  # each claim's worker dies; the next one takes over
        with time_machine.travel(start + n * LEASE):
            assert claim(batch)
    with time_machine.travel(start + settings.JOB_MAX_ATTEMPTS * LEASE):
        assert import_batches_sweep() == {"requeued": [], "failed": [batch.pk]}
    failed = ImportBatch.objects.get(pk=batch.pk)
    assert failed.state == BatchState.FAILED and "导入多次中断" in failed.failure_reason


def test_staging_tables_belong_to_their_claim(batch):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite staging tables are temporary: they go with their connection")
    staging_leftovers_drop()  # what earlier tests' imports left on this database is not this test's
    token = claim(batch)
    stale = Staging(model=Invoice, batch=batch, compared=("issue_date",), claim="0" * 32)
    current = Staging(model=Invoice, batch=batch, compared=("issue_date",), claim=token)
    stale.create()
    current.create()
    assert stale.rows != current.rows
    assert sorted(staging_leftovers_drop()) == sorted([stale.rows, stale.rejects])
    current.drop()


def test_an_alert_whose_publication_never_happened_is_published_once(beijing, published, settings):
    book(beijing, number="1")
    run = recovery.reconciliation_run_create(
        company=beijing, direction="issued", period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
        enqueue=False,
    )  # fmt: skip
    recovery.reconciliation_run_execute(run_id=run.pk)  # in a test transaction: its on-commit publish never runs
    alert = Alert.objects.get()
    assert alert.published_at is None and recovery.alerts_publish_pending() == []  # not overdue yet
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.JOB_SWEEP_SECONDS + 1)):
        assert recovery.alerts_publish_pending() == [alert.pk]
        assert recovery.alerts_publish_pending() == []
    assert len(published) == 1 and published[0].key == f"alert:{alert.pk}"
    assert ReconciliationRun.objects.get(pk=run.pk).state == RunState.SUCCEEDED
