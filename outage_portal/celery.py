"""The Celery app. Broker: Redis when REDIS_URL is set, else kombu's filesystem transport under var/."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")

app = Celery("outage_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["outage_portal", "notices", "notices.notify", "invoices", "recovery"])
