"""A big upload parsed by a real Celery worker: the batch moves from queued to succeeded."""

from __future__ import annotations

import io
import shutil

import pytest
from django.conf import settings
from django.core.files.storage import storages

from invoices.imports.services import import_batch_create
from invoices.models import BatchState, ImportBatch, ImportKind, Invoice
from invoices.tasks import import_batch_process_task
from tests.conftest import wait_until
from tests.invoices.helpers import GOOD, csv_rows

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


def test_worker_imports_a_queued_batch(celery_worker_process, beijing):
    batch = import_batch_create(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="big.csv",
        stream=io.BytesIO(csv_rows(*GOOD).encode("gbk")),
    )  # fmt: skip
    # The worker process keeps originals where a deployment does (VAR_DIR/private), not in this
    # test's temporary folder: put the kept original there for it, and take it away afterwards.
    worker_copy = settings.VAR_DIR / "private" / batch.storage_name
    worker_copy.parent.mkdir(parents=True, exist_ok=True)
    with storages["private"].open(batch.storage_name, "rb") as original, worker_copy.open("wb") as copy:
        shutil.copyfileobj(original, copy)
    try:
        worker = celery_worker_process.start()
        import_batch_process_task.apply_async((batch.pk,), queue=worker.queue)
        wait_until(lambda: ImportBatch.objects.get(pk=batch.pk).state == BatchState.SUCCEEDED, timeout=90)
    finally:
        worker_copy.unlink(missing_ok=True)
    batch.refresh_from_db()
    assert (batch.rows_created, batch.rows_processed, batch.progress_percent) == (2, 2, 100)
    assert Invoice.objects.count() == 2
