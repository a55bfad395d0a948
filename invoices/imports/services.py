"""Writes for invoice records: importing files into Invoice (backups) or TaxRecord (exports)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import time
from collections.abc import Iterable
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.imports import copy_lane
from invoices.imports.parsers import FileRefused
from invoices.imports.pipeline import import_pipelined
from invoices.imports.report import ImportReport
from invoices.imports.staging import MergeResult, Staging
from invoices.models import (
    BatchState,
    Direction,
    ImportBatch,
    ImportKind,
    Integrity,
    Invoice,
    TaxRecord,
)
from invoices.signals import import_batch_succeeded
from outage_portal.jobs import ClaimLost, jobs_sweep, lease_kept
from outage_portal.models import Company

logger = logging.getLogger(__name__)

WRITE_CHUNK = 2000
HASH_CHUNK = 1024 * 1024
UNEXPECTED_FAILURE = gettext_lazy("The import stopped on an unexpected error; nothing was stored. The file is kept.")
COMPARED_FIELDS = (
    "invoice_code",
    "invoice_number",
    "digital_number",
    "issue_date",
    "issued_at",
    "seller_tax_id",
    "seller_name",
    "buyer_tax_id",
    "buyer_name",
    "amount",
    "tax",
    "total",
    "tax_rate",
    "invoice_type",
    "status",
)


def _target_model(kind: str):
    return TaxRecord if kind in (ImportKind.TAX_EXPORT, ImportKind.TAX_FETCH) else Invoice


def records_write(*, batch: ImportBatch, records: Iterable[dict]) -> MergeResult:
    """Write already validated records (a fetch's) through the same staging merge as file imports.

    Call it inside the caller's transaction: all or nothing.
    """
    stage = Staging(model=_target_model(batch.kind), batch=batch, compared=COMPARED_FIELDS)
    try:
        stage.create()
        stage.add(records)
        return stage.merge()
    finally:
        stage.drop()


def import_file(
    *,
    company: Company,
    kind: str,
    direction: str,
    filename: str,
    content: bytes | None = None,
    stream: BinaryIO | None = None,
    user=None,
) -> ImportReport:
    """Import one file now (bytes or a binary stream). Valid rows land (created / updated /
    unchanged); rejected rows are reported. A file refused as a whole fails the batch, storing no rows.
    """
    batch = import_batch_create(
        company=company,
        kind=kind,
        direction=direction,
        filename=filename,
        stream=io.BytesIO(content) if stream is None else stream,
        user=user,
    )
    return import_batch_process(batch_id=batch.pk)


def import_submit(
    *, company: Company, kind: str, direction: str, filename: str, stream: BinaryIO, user=None
) -> ImportBatch:
    """Keep the file and import it: at once when small, else in the background (Celery) with progress.

    The threshold is `settings.IMPORT_BACKGROUND_BYTES`; the batch page polls a big file's progress.
    """
    batch = import_batch_create(
        company=company, kind=kind, direction=direction, filename=filename, stream=stream, user=user
    )
    if batch.size <= settings.IMPORT_BACKGROUND_BYTES:
        return import_batch_process(batch_id=batch.pk).batch
    import_batch_enqueue(batch.pk)
    return batch


def import_batch_create(
    *, company: Company, kind: str, direction: str, filename: str, stream: BinaryIO, user=None
) -> ImportBatch:
    """Record a queued batch and keep its original in private storage, hashed as it streams by."""
    if kind not in (ImportKind.BACKUP, ImportKind.TAX_EXPORT, ImportKind.ORDERS):
        raise ValueError(f"unknown import kind {kind!r}")
    if direction not in Direction.values:
        raise ValueError(f"unknown direction {direction!r}")
    digest, size = _hash_stream(stream)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            company=company,
            kind=kind,
            direction=direction,
            state=BatchState.QUEUED,
            original_name=filename[:255],
            sha256=digest,
            size=size,
            created_by=user,
        )
        stream.seek(0)
        batch.storage_name = storages["private"].save(
            f"imports/{company.pk}/{batch.pk}-{digest[:16]}", File(stream, name=filename)
        )
        batch.integrity = Integrity.INTACT
        batch.integrity_checked_at = timezone.now()
        batch.save(update_fields=["storage_name", "integrity", "integrity_checked_at"])
    return batch


def _hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """sha256 and size, reading a chunk at a time (originals can be hundreds of MB)."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def import_batch_process(*, batch_id: int) -> ImportReport:
    """Parse a kept original and write its invoices. Safe to run twice: a finished batch is left alone,
    and so is one another worker holds (its lease not expired); only this claim may finish it.

    Parsing streams rows into staging tables (no real table touched, progress saved as it goes); one
    transaction merges them set-based into the invoices, writes the change log and the rejected rows,
    and finishes the batch. A big plain CSV file on PostgreSQL is parsed in a second connection
    while that transaction writes each staged block (`invoices.imports.pipeline`); every other file is
    parsed first and merged after. Either way a crash leaves no half-written batch.
    """
    token = ImportBatch.objects.claim(
        batch_id, waiting=(BatchState.QUEUED,), running=BatchState.RUNNING, rows_processed=0, progress_percent=0
    )
    batch = ImportBatch.objects.select_related("company").get(pk=batch_id)
    if token is None:
        return ImportReport(batch=batch)
    stage = Staging(model=_target_model(batch.kind), batch=batch, compared=COMPARED_FIELDS, claim=token)
    try:
        with lease_kept(ImportBatch, batch_id, token, running=BatchState.RUNNING):
            _import_claimed(batch, stage, token)
    except ClaimLost:
        logger.warning("import batch %s: another worker took it over; this one's work is discarded", batch.pk)
    except FileRefused as refused:
        _fail(batch, str(refused.message), token=token)
    except FileNotFoundError:
        _fail(batch, _("The kept original of this import is missing; upload the file again."), token=token)
    except Exception:
        # A bug or a database error must not leave the batch "running" forever; the original is kept.
        logger.exception("import batch %s failed", batch.pk)
        _fail(batch, str(UNEXPECTED_FAILURE), token=token)
    finally:
        stage.drop()
    batch.refresh_from_db()
    return ImportReport(batch=batch)


def _import_claimed(batch: ImportBatch, stage: Staging, token: str) -> None:
    started = time.perf_counter()
    with storages["private"].open(batch.storage_name, "rb") as stream:
        layout = stage.lane_layout(stream)
        if layout is not None and batch.size > copy_lane.COPY_BLOCK:
            # A big plain CSV file on PostgreSQL: read in a second connection while this one
            # writes. (A file of one block has nothing to overlap.)
            with transaction.atomic():
                rows_read, merged, parsed = import_pipelined(stage, stream, layout)
                _finish(batch, stage, merged, rows_read, token=token)
        else:
            # Called inside someone's transaction (a test, a script), a failed statement must not
            # poison it: give the parsing phase a savepoint. Outside one it runs in autocommit, so
            # the progress it saves is visible to the page polling it.
            with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
                stage.create()
                rows_read = stage.load_python(stream)
            parsed = time.perf_counter()
            with transaction.atomic():
                _finish(batch, stage, stage.merge(), rows_read, token=token)
    logger.info(
        "import batch %s: %d rows parsed in %.1fs, merged in %.1fs",
        batch.pk, rows_read, parsed - started, time.perf_counter() - parsed,
    )  # fmt: skip


def _finish(batch: ImportBatch, stage: Staging, merged: MergeResult, rows_read: int, *, token: str) -> None:
    """End a file's import with an honest state: a file read to its end that stored nothing, because
    every row was rejected or it held none, did not succeed. Only an import that stored rows is
    followed by a reconciliation."""
    if rows_read == 0:
        state = BatchState.EMPTY
    elif merged.rejected >= rows_read:
        state = BatchState.REJECTED
    else:
        state = BatchState.SUCCEEDED
    import_batch_succeed(
        batch=batch, merged=merged, rows_read=rows_read, state=state, token=token, columns=stage.headers
    )
    if state == BatchState.SUCCEEDED:
        transaction.on_commit(lambda: import_batch_succeeded.send(sender=ImportBatch, batch=batch))


def import_batch_succeed(
    *,
    batch: ImportBatch,
    merged: MergeResult,
    rows_read: int,
    state: str = BatchState.SUCCEEDED,
    token: str | None = None,
    **also,
) -> None:
    """Mark the batch done (succeeded unless told otherwise) with what its merge did, in one UPDATE;
    `also` sets further fields.

    With the `token` of a claim, only that claim may do it: called inside the merge's transaction,
    ClaimLost rolls the whole merge back when another worker has taken the batch over."""
    rows = ImportBatch.objects.filter(pk=batch.pk)
    if token is not None:
        rows = rows.filter(claim_token=token, state=BatchState.RUNNING)
    updated = rows.update(
        state=state,
        rows_read=rows_read,
        rows_processed=rows_read,
        progress_percent=100,
        rows_created=merged.created,
        rows_updated=merged.updated,
        rows_unchanged=merged.unchanged,
        rows_rejected=merged.rejected,
        issued_from=merged.issued_from,
        issued_to=merged.issued_to,
        finished_at=timezone.now(),
        lease_expires_at=None,
        **also,
    )
    if token is not None and not updated:
        raise ClaimLost(f"import batch {batch.pk}")


def _fail(batch: ImportBatch, reason: str, *, token: str) -> None:
    ImportBatch.objects.release(
        batch.pk,
        token,
        running=BatchState.RUNNING,
        state=BatchState.FAILED,
        failure_reason=reason,
        finished_at=timezone.now(),
        progress_percent=100,
    )


def import_batch_enqueue(batch_id: int) -> None:
    """Hand the batch to the imports queue (after commit) and note when, for the sweeper."""
    from invoices.tasks import import_batch_process_task

    ImportBatch.objects.filter(pk=batch_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: import_batch_process_task.delay(batch_id))


def import_batches_sweep() -> dict[str, list[int]]:
    """Queue again the imports nobody works on: a worker that died left the batch running under an
    expired lease, or the queue lost its message. Each stalled batch is taken once (a conditional
    UPDATE), logged, and failed for good after JOB_MAX_ATTEMPTS claims. The staging tables of claims
    that ended so (a dead worker's) are dropped too."""
    from invoices.imports.staging import staging_leftovers_drop

    done = jobs_sweep(
        ImportBatch,
        waiting=BatchState.QUEUED,
        running=BatchState.RUNNING,
        failed=BatchState.FAILED,
        enqueue=import_batch_enqueue,
        failure_reason=lambda: str(GAVE_UP),
    )
    for table in staging_leftovers_drop():
        logger.warning("dropped staging table %s left by a stopped import", table)
    return done


GAVE_UP = gettext_lazy(
    "The import was interrupted too many times (its worker stopped each time); nothing was stored. "
    "The file is kept: upload it again or ask an administrator to check the workers."
)


# --- Integrity of kept originals -------------------------------------------------------------------
def import_originals_verify() -> dict[str, int]:
    """Re-hash every kept original, a chunk at a time, and flag those that changed or vanished."""
    storage = storages["private"]
    now = timezone.now()
    verdicts: dict[str, list[int]] = {Integrity.INTACT: [], Integrity.CHANGED: [], Integrity.MISSING: []}
    for pk, name, expected in (
        ImportBatch.objects.exclude(storage_name="").values_list("pk", "storage_name", "sha256").iterator()
    ):
        try:
            with storage.open(name, "rb") as original:
                digest, _size = _hash_stream(original)
        except (FileNotFoundError, IsADirectoryError):
            verdicts[Integrity.MISSING].append(pk)
            continue
        verdicts[Integrity.INTACT if digest == expected else Integrity.CHANGED].append(pk)
    for verdict, pks in verdicts.items():
        for start in range(0, len(pks), WRITE_CHUNK):
            ImportBatch.objects.filter(pk__in=pks[start : start + WRITE_CHUNK]).update(
                integrity=verdict, integrity_checked_at=now
            )
    return {verdict: len(pks) for verdict, pks in verdicts.items()}
