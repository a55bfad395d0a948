"""Celery tasks for reconciliation (take ids, idempotent)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def reconciliation_run_execute_task(self, run_id: int) -> str:
    from outage_portal.jobs import recheck_later

    from .models import RunState
    from .services import reconciliation_run_execute

    run = reconciliation_run_execute(run_id=run_id)
    if run.state == RunState.RUNNING:  # held by another worker: look again when its lease ends
        recheck_later(self, run, run_id)
    return run.state


@shared_task
def reconciliation_runs_sweep_task() -> dict[str, list[int]]:
    """Beat entry: fail and retry runs whose worker died; send again runs whose message was lost."""
    from .services import reconciliation_runs_sweep

    return reconciliation_runs_sweep()


@shared_task
def alerts_publish_pending_task() -> list[int]:
    """Beat entry: publish gap alerts whose publication never happened."""
    from .services import alerts_publish_pending

    return alerts_publish_pending()


@shared_task
def private_uploads_sweep_task() -> int:
    """Beat entry: delete stored evidence and scans no row refers to (see the service)."""
    from django.utils import timezone

    from .reissue.services import private_uploads_sweep

    return private_uploads_sweep(now=timezone.now())


@shared_task
def reconcile_all_companies(direction: str | None = None) -> int:
    """Beat entry: queue one run per company and direction."""
    from invoices.models import Direction
    from outage_portal.models import Company

    from .periods import default_period
    from .services import reconciliation_run_create

    # The schedule keeps the recent past compared (the last DEFAULT_PERIOD_DAYS); older periods are
    # compared when imported or when someone asks.
    start, end = default_period()
    n = 0
    for company in Company.objects.all():
        for d in [direction] if direction else Direction.values:
            reconciliation_run_create(
                company=company, direction=d, period_start=start, period_end=end, trigger="schedule"
            )
            n += 1
    return n
