"""The nightly job that rolls the 90-day history bars into a new day (scheduled in settings)."""

from __future__ import annotations

from celery import shared_task

from notices.status import cache as status_cache
from notices.status import derived


# Named as it was before the module moved here: beat schedules and queued messages use the name.
@shared_task(name="notices.status_tasks.status_days_nightly")
def status_days_nightly() -> None:
    """Recompute yesterday (final) and today (incidents still open run into it) for every system.

    Idempotent: rows are upserted, running it twice changes nothing.
    """
    derived.status_days_refresh_recent(days=2)
    status_cache.invalidate()
