"""Claims with owners and leases, shared by imports, fetches and reconciliation runs.

A worker claims a job with a token of its own and a lease (`lease_expires_at`) that a heartbeat
thread renews while it works. Only the holder of the token may finish or fail the job: every final
write is an UPDATE ... WHERE claim_token = <mine>. A task delivered again while a live owner holds
the job finds nothing to claim and does nothing; once the owner's lease has expired (its worker was
killed, lost its database session, or hung), the job may be claimed again, by the re-delivered task
or by the sweeper that re-queues it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)


class ClaimLost(Exception):
    """The job was claimed by another worker after this one's lease expired: stop, write nothing."""


def lease_seconds() -> int:
    return settings.JOB_LEASE_SECONDS


class LeasedJob(models.Model):
    """Fields a job needs to be claimed: who holds it, until when, and when it was last queued."""

    claim_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the job was last handed to the broker: a job queued much longer ago than that lost its message.
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class LeaseQuerySet(models.QuerySet):
    """claim / renew / release for models with `LeasedJob` fields, a `state` and an `attempts` count."""

    def claim(
        self,
        pk: int,
        *,
        waiting: Sequence[str],
        running: str,
        **also,
    ) -> str | None:
        """Take the job if it waits in one of `waiting` states, or runs under a lease that expired.
        Returns the new claim token, or None when someone else holds it (or it is finished)."""
        now = timezone.now()
        token = uuid.uuid4().hex
        expired = Q(state=running) & (Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))
        claimed = (
            self.filter(pk=pk)
            .filter(Q(state__in=list(waiting)) | expired)
            .update(
                state=running,
                claim_token=token,
                lease_expires_at=now + timedelta(seconds=lease_seconds()),
                attempts=F("attempts") + 1,
                **also,
            )
        )
        return token if claimed else None

    def renew(self, pk: int, token: str, *, running: str) -> bool:
        """Extend the lease; False once the job is no longer ours (finished, or claimed by another)."""
        until = timezone.now() + timedelta(seconds=lease_seconds())
        return bool(self.filter(pk=pk, claim_token=token, state=running).update(lease_expires_at=until))

    def release(self, pk: int, token: str, *, running: str, **fields) -> bool:
        """Finish or fail the job, if it is still ours; the lease goes with it."""
        return bool(self.filter(pk=pk, claim_token=token, state=running).update(lease_expires_at=None, **fields))

    def stalled(self, *, running: str, waiting: Sequence[str], queued_for: timedelta):
        """Jobs nobody works on: running under an expired lease, or waiting longer than `queued_for`
        since they were last handed to the broker (their message was lost)."""
        now = timezone.now()
        return self.filter(
            Q(state=running, lease_expires_at__lt=now)
            | Q(state=running, lease_expires_at__isnull=True)
            | Q(state__in=list(waiting), enqueued_at__lt=now - queued_for)
        )


@contextmanager
def lease_kept(model: type[models.Model], pk: int, token: str, *, running: str) -> Iterator[threading.Event]:
    """Renew the lease from a thread while the body runs. The event is set once renewing found the
    job no longer ours; the final conditional write is what actually keeps a stale worker out."""
    stop = threading.Event()
    lost = threading.Event()
    interval = max(lease_seconds() / 3, 0.5)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    if not model.objects.renew(pk, token, running=running):
                        lost.set()
                        return
                except Exception:  # a database hiccup: try again on the next beat, on a new connection
                    log.warning("could not renew the lease of %s %s", model.__name__, pk, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"lease-{model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join(timeout=2)


def jobs_sweep(
    model: type[models.Model],
    *,
    waiting: str,
    running: str,
    failed: str,
    enqueue,
    failure_reason,
    limit: int = 500,
) -> dict[str, list[int]]:
    """Queue again the jobs of `model` nobody works on (see `LeaseQuerySet.stalled`); fail for good
    those already claimed JOB_MAX_ATTEMPTS times. Each job is taken by one conditional UPDATE that
    matches the row as it was read, so two sweepers (or a sweeper and a worker) never both act on
    it, and each action is logged. `enqueue(pk)` sends the job again after commit."""
    from django.db import transaction

    now = timezone.now()
    queued_for = timedelta(seconds=settings.JOB_QUEUED_SECONDS)
    found = list(
        model.objects.stalled(running=running, waiting=(waiting,), queued_for=queued_for)
        .order_by("pk")
        .values("pk", "state", "claim_token", "enqueued_at", "attempts")[:limit]
    )
    done: dict[str, list[int]] = {"requeued": [], "failed": []}
    name = model.__name__
    for row in found:
        unchanged = model.objects.filter(
            pk=row["pk"], state=row["state"], claim_token=row["claim_token"], enqueued_at=row["enqueued_at"]
        )
        if row["state"] == running and row["attempts"] >= settings.JOB_MAX_ATTEMPTS:
            reason = str(failure_reason())
            if unchanged.update(
                state=failed, claim_token="", lease_expires_at=None, finished_at=now, failure_reason=reason
            ):
                log.error("%s %s: its worker stopped %d times; failed for good", name, row["pk"], row["attempts"])
                done["failed"].append(row["pk"])
            continue
        with transaction.atomic():
            if unchanged.update(state=waiting, claim_token="", lease_expires_at=None, enqueued_at=now):
                enqueue(row["pk"])
                why = "lease expired" if row["state"] == running else "queued too long"
                log.warning("%s %s: %s; queued again", name, row["pk"], why)
                done["requeued"].append(row["pk"])
    return done


def recheck_later(task, job, *args) -> None:
    """A task that found its job held by another worker under a live lease did nothing; it looks
    again once that lease would have expired, so the job goes on even without the sweeper (a worker
    that died holding it; the redelivered message was this one). The job finished by then: nothing."""
    if task.request.is_eager or job.lease_expires_at is None:
        return
    wait = max((job.lease_expires_at - timezone.now()).total_seconds(), 0) + 1
    # Back to the queue this message came from (a private one, for a test's worker).
    queue = (task.request.delivery_info or {}).get("routing_key")
    task.apply_async(args, countdown=wait, **({"queue": queue} if queue else {}))
