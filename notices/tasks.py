"""Background jobs of the notices app. Thin: they call services and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from notices import services


@shared_task
def advance_notice_states() -> dict[str, int]:
    """Every minute (beat): scheduled → in progress → completed by the clock, events once each."""
    return services.notice_states_advance()
