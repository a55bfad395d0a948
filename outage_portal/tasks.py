"""Background jobs of the foundation."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from outage_portal.models import WorkerHeartbeat


@shared_task
def worker_heartbeat(name: str = "beat") -> str:
    """Record that a worker ran a task now. Idempotent: one row per name, overwritten."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": now, "hostname": socket.gethostname()})
    return now.isoformat()
