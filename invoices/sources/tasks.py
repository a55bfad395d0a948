"""Celery task for "fetch now" (registered through `invoices.tasks`, which autodiscovery imports)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def tax_fetch_execute_task(self, fetch_id: int) -> str:
    from invoices.models import TaxFetchState
    from outage_portal.jobs import recheck_later

    from .fetch import tax_fetch_execute

    fetch = tax_fetch_execute(fetch_id=fetch_id)
    if fetch.state == TaxFetchState.RUNNING:  # held by another worker: look again when its lease ends
        recheck_later(self, fetch, fetch_id)
    return fetch.state
