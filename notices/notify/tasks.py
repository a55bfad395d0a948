"""Celery tasks for notifications: one task per delivery (a slow receiver holds up only itself),
the reminder beat and the sweeper. All take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def delivery_send_task(self, delivery_id: int) -> str:
    from .services import delivery_attempt, delivery_enqueue

    outcome = delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        if self.request.is_eager and not outcome.claimed:
            # Inline (tests, CELERY_TASK_ALWAYS_EAGER) a countdown cannot wait; the sweeper picks it up.
            return outcome.state
        delivery_enqueue(delivery_id, countdown=outcome.retry_in)
    return outcome.state


@shared_task(ignore_result=True)
def reminders_send_task() -> int:
    from .reminders import reminders_send

    return reminders_send()


@shared_task(ignore_result=True)
def deliveries_sweep_task() -> int:
    from .services import deliveries_sweep

    return deliveries_sweep()
