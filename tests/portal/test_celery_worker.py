"""A task really crosses the broker (Redis when REDIS_URL is set) into a separate worker process."""

import pytest
from django.conf import settings

from outage_portal.models import WorkerHeartbeat
from outage_portal.tasks import worker_heartbeat
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


def test_heartbeat_task_runs_in_a_real_worker_process(celery_worker_process):
    import os

    celery_worker_process.start()
    worker_heartbeat.apply_async(kwargs={"name": "from-test"}, queue=celery_worker_process.queue)
    beat = wait_until(lambda: WorkerHeartbeat.objects.filter(name="from-test").first(), timeout=90)
    # The row was written by another process, not by this one running the task inline.
    assert beat.hostname
    assert celery_worker_process.proc.pid != os.getpid()
    expected_transport = "redis" if settings.REDIS_URL else "filesystem"
    assert settings.CELERY_BROKER_URL.startswith(expected_transport)
