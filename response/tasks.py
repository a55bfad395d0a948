"""Background work for incident responses: opening responses for new windows, emailing letters."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def counterparty_request_email_task(self, request_id: int) -> bool:
    try:
        return services.counterparty_request_email(request_id=request_id)
    except OSError as exc:  # the mail server is down: try again later (emailed_at keeps it to one send)
        raise self.retry(exc=exc)


@shared_task
def incident_responses_open_task() -> int:
    return services.incident_responses_open_for_windows()


@shared_task
def paused_companies_refresh_task() -> int:
    return len(services.paused_companies_refresh())
