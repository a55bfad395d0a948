"""The Celery app. Broker: Redis when REDIS_URL is set, else kombu's filesystem transport under var/."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")

app = Celery("outage_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["outage_portal", "notices", "notices.notify", "invoices", "recovery"])

# Which queue each kind of work goes to (settings.CELERY_WORK_QUEUES); everything else (beat's
# housekeeping, sweepers) goes to the default queue.
ROUTES = {
    "notices.notify.tasks.delivery_send_task": "notifications",
    "notices.notify.tasks.reminders_send_task": "notifications",
    "recovery.tasks.alerts_publish_pending_task": "notifications",
    "invoices.tasks.import_batch_process_task": "imports",
    "invoices.sources.tasks.tax_fetch_execute_task": "fetches",
    "recovery.tasks.reconciliation_run_execute_task": "reconciliation",
    "recovery.tasks.reconcile_all_companies": "reconciliation",
}


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: read at send time, so a test can point a process's sends at its private queues."""
    from django.conf import settings

    queue = ROUTES.get(name)
    return {"queue": settings.CELERY_QUEUE_PREFIX + queue} if queue else None
