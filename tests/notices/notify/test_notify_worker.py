"""Real Celery worker: a worker SIGKILLed in the middle of a send leaves the delivery claimed; once
its lease expires it is sent again and the receiver accepts it exactly once. A receiver that never
answers holds up only its own delivery."""

from __future__ import annotations

import os
import signal

import pytest

from notices.events import event_publish
from notices.notify import services
from notices.notify.models import Delivery, DeliveryState
from tests.conftest import wait_until
from tests.notices.notify.fixtures import event
from tests.reliability.processes import children, wait_for_other_sessions_to_close

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker"), pytest.mark.usefixtures("seeded_tax_systems")]


@pytest.fixture
def worker_env(monkeypatch, settings, celery_worker_process):
    """Route notification tasks to this test's private queue, in this process and in the worker."""
    settings.NOTIFY_QUEUE = celery_worker_process.queue
    for name, value in {
        "NOTIFY_QUEUE": celery_worker_process.queue,
        "NOTIFY_HTTP_CONNECT_TIMEOUT": "2",
        "NOTIFY_HTTP_READ_TIMEOUT": "6",
        "NOTIFY_LEASE_SECONDS": "10",
        "NOTIFY_RETRY_BASE_SECONDS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    yield celery_worker_process
    celery_worker_process.stop()
    wait_for_other_sessions_to_close()


def _idle(worker) -> bool:
    """Nothing waits in the worker's queue and the worker holds no task: what was sent has been handled."""
    import socket

    from outage_portal.celery import app

    with app.connection_for_write() as connection:
        try:
            if connection.default_channel.queue_declare(worker.queue, passive=True).message_count:
                return False
        except connection.channel_errors:
            pass  # Redis keeps no empty list: a queue with nothing waiting is not there at all
    inspect = app.control.inspect(destination=[f"{worker.queue}@{socket.gethostname()}"], timeout=1)
    replies = [inspect.active(), inspect.reserved()]
    return all(reply and not any(reply.values()) for reply in replies)


def test_worker_killed_mid_send_delivers_each_event_once(worker_env, receiver, fiona):
    hook = receiver(hang_first=1)  # the first request never gets an answer
    channel = services.channel_create(owner=fiona, name="ERP", kind="webhook", url=hook.url, secret="k" * 24)
    services.subscription_create(owner=fiona, channel=channel, kinds=["incident_opened"])
    worker_env.start()
    event_publish(event("incident:1:opened"))
    wait_until(lambda: len(hook.requests) == 1, timeout=90)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SENDING and delivery.attempts == 1
    for child in children(worker_env.proc.pid):
        os.kill(child, signal.SIGKILL)  # dies with the request in flight
    done = wait_until(lambda: Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.DELIVERED).first(), 120)
    assert done.attempts == 2
    assert len(hook.completed) == 1
    assert {r["headers"]["X-Portal-Delivery"] for r in hook.requests} == {str(delivery.uuid)}
    # Running everything again (publish, sweep) sends nothing more.
    event_publish(event("incident:1:opened"))
    services.deliveries_sweep()
    wait_until(lambda: _idle(worker_env), timeout=30)
    assert len(hook.requests) == 2 and len(hook.completed) == 1 and Delivery.objects.count() == 1


def test_receiver_that_never_answers_does_not_block_other_deliveries(worker_env, receiver, fiona, alice):
    hanging, healthy = receiver(hang_first=100), receiver()
    slow = services.channel_create(owner=fiona, name="慢", kind="webhook", url=hanging.url, secret="k" * 24)
    fast = services.channel_create(owner=alice, name="快", kind="wecom", url=healthy.url)
    services.subscription_create(owner=fiona, channel=slow, kinds=["incident_opened"])
    services.subscription_create(owner=alice, channel=fast, kinds=["incident_opened"])
    worker_env.start(concurrency=2)
    for n in range(3):
        event_publish(event(f"incident:{n}:opened"))
    # The hanging receiver still holds at most one worker slot; every healthy delivery goes through.
    # (Wait for the worker to record them: the receiver has its answer before the worker writes it down.)
    wait_until(lambda: Delivery.objects.filter(channel=fast, state=DeliveryState.DELIVERED).count() == 3, timeout=90)
    assert len(healthy.completed) == 3
    assert not hanging.completed
