"""Each kind of work is sent to a queue of its own; `make run`'s single worker consumes all of them."""

from __future__ import annotations

import pytest

from outage_portal.celery import app


def _queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("notices.notify.tasks.delivery_send_task", "notifications"),
        ("recovery.tasks.alerts_publish_pending_task", "notifications"),
        ("invoices.tasks.import_batch_process_task", "imports"),
        ("invoices.sources.tasks.tax_fetch_execute_task", "fetches"),
        ("recovery.tasks.reconciliation_run_execute_task", "reconciliation"),
        ("invoices.tasks.import_batches_sweep_task", "celery"),
        ("outage_portal.tasks.worker_heartbeat", "celery"),
    ],
)
def test_work_goes_to_its_own_queue(task, queue):
    assert _queue_of(task) == queue


def test_a_prefix_moves_every_queue(settings):
    settings.CELERY_QUEUE_PREFIX = "test-1-"
    assert _queue_of("invoices.tasks.import_batch_process_task") == "test-1-imports"


def test_a_worker_started_without_queues_consumes_them_all():
    assert {q.name for q in app.conf.task_queues} == {"celery", "notifications", "imports", "reconciliation", "fetches"}
