"""Celery task for "fetch now" (registered through `invoices.tasks`, which autodiscovery imports)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tax_fetch_execute_task(fetch_id: int) -> str:
    from .fetch import tax_fetch_execute

    return tax_fetch_execute(fetch_id=fetch_id).state
