"""Celery tasks for invoice imports (take ids, safe to run twice)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_batch_process_task(self, batch_id: int) -> str:
    """Parse a big upload in the background; a finished batch is left as it is, and one another
    worker holds is looked at again when its lease would expire."""
    from invoices.imports.services import import_batch_process
    from invoices.models import BatchState
    from outage_portal.jobs import recheck_later

    batch = import_batch_process(batch_id=batch_id).batch
    if batch.state == BatchState.RUNNING:
        recheck_later(self, batch, batch_id)
    return batch.state


@shared_task
def import_originals_verify_task() -> dict[str, int]:
    """Beat entry: re-hash every kept original and flag the ones that changed or vanished."""
    from invoices.imports.services import import_originals_verify

    return import_originals_verify()


@shared_task
def import_staging_sweep_task() -> list[str]:
    """Beat entry: drop the staging tables a killed import left behind (PostgreSQL)."""
    from invoices.imports.staging import staging_leftovers_drop

    return staging_leftovers_drop()


@shared_task
def import_batches_sweep_task() -> dict[str, list[int]]:
    """Beat entry: queue again the imports a dead worker or a lost message left behind."""
    from invoices.imports.services import import_batches_sweep

    return import_batches_sweep()


@shared_task
def tax_fetches_sweep_task() -> dict[str, list[int]]:
    """Beat entry: queue again the fetches a dead worker or a lost message left behind."""
    from invoices.sources.fetch import tax_fetches_sweep

    return tax_fetches_sweep()


# --- tax-system sources ---
from invoices.sources.tasks import tax_fetch_execute_task  # noqa: E402

__all__ = [
    "import_batch_process_task",
    "import_batches_sweep_task",
    "import_originals_verify_task",
    "import_staging_sweep_task",
    "tax_fetch_execute_task",
    "tax_fetches_sweep_task",
]
