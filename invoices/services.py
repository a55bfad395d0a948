"""Writes for invoice records: importing files into Invoice (backups) or TaxRecord (exports)."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.models import (
    BatchState,
    Direction,
    ImportBatch,
    ImportKind,
    Integrity,
    Invoice,
    InvoiceChange,
    InvoiceType,
    TaxRecord,
)
from invoices.parsers import SHANGHAI, FileRefused, RowError, iter_rows, validate_row
from invoices.signals import import_batch_succeeded
from outage_portal.models import Company

logger = logging.getLogger(__name__)

WRITE_CHUNK = 2000
STAGE_CHUNK = 5000  # rows parsed between two writes to the staging table (and two progress updates)
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


@dataclass
class ImportReport:
    batch: ImportBatch

    @cached_property
    def rejected(self) -> list[RowError]:
        return [RowError(r.row, r.column, r.reason) for r in self.batch.rejections.all()]

    def as_dict(self) -> dict:
        b = self.batch
        return {
            "batch": b.pk,
            "file": b.original_name,
            "state": b.state,
            "failure_reason": b.failure_reason,
            "read": b.rows_read,
            "created": b.rows_created,
            "updated": b.rows_updated,
            "unchanged": b.rows_unchanged,
            "rejected": [{"row": r.row, "column": r.column, "reason": r.reason} for r in self.rejected],
        }


def _target_model(kind: str):
    return TaxRecord if kind == ImportKind.TAX_EXPORT else Invoice


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
    from invoices.tasks import import_batch_process_task

    batch = import_batch_create(
        company=company, kind=kind, direction=direction, filename=filename, stream=stream, user=user
    )
    if batch.size <= settings.IMPORT_BACKGROUND_BYTES:
        return import_batch_process(batch_id=batch.pk).batch
    transaction.on_commit(lambda: import_batch_process_task.delay(batch.pk))
    return batch


def import_batch_create(
    *, company: Company, kind: str, direction: str, filename: str, stream: BinaryIO, user=None
) -> ImportBatch:
    """Record a queued batch and keep its original in private storage, hashed as it streams by."""
    if kind not in (ImportKind.BACKUP, ImportKind.TAX_EXPORT):
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
    """Parse a kept original and write its invoices. Safe to run twice: a finished batch is left alone.

    Two phases. Parsing streams rows into connection-private staging tables (no real table touched,
    progress saved as it goes); then one transaction merges them set-based into the invoices, writes
    the change log and the rejected rows, and finishes the batch. A crash in either phase leaves no
    half-written batch.
    """
    claimed = ImportBatch.objects.filter(pk=batch_id, state__in=[BatchState.QUEUED, BatchState.RUNNING]).update(
        state=BatchState.RUNNING, rows_processed=0, progress_percent=0
    )
    batch = ImportBatch.objects.select_related("company").get(pk=batch_id)
    if not claimed:
        return ImportReport(batch=batch)
    stage = _Staging(model=_target_model(batch.kind), batch=batch)
    try:
        started = time.perf_counter()
        with storages["private"].open(batch.storage_name, "rb") as stream:
            stage.create()
            rows_read = stage.load(stream)
        parsed = time.perf_counter()
        with transaction.atomic():
            created, updated, unchanged, rejected = stage.merge()
            ImportBatch.objects.filter(pk=batch.pk).update(
                state=BatchState.SUCCEEDED,
                rows_read=rows_read,
                rows_processed=rows_read,
                progress_percent=100,
                rows_created=created,
                rows_updated=updated,
                rows_unchanged=unchanged,
                rows_rejected=rejected,
                finished_at=timezone.now(),
            )
            transaction.on_commit(lambda: import_batch_succeeded.send(sender=ImportBatch, batch=batch))
        logger.info(
            "import batch %s: %d rows parsed in %.1fs, merged in %.1fs",
            batch.pk, rows_read, parsed - started, time.perf_counter() - parsed,
        )  # fmt: skip
    except FileRefused as refused:
        _fail(batch, str(refused.message))
    except FileNotFoundError:
        _fail(batch, _("The kept original of this import is missing; upload the file again."))
    except Exception:
        # A bug or a database error must not leave the batch "running" forever; the original is kept.
        logger.exception("import batch %s failed", batch.pk)
        _fail(batch, str(UNEXPECTED_FAILURE))
    finally:
        stage.drop()
    batch.refresh_from_db()
    return ImportReport(batch=batch)


def _fail(batch: ImportBatch, reason: str) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.FAILED, failure_reason=reason, finished_at=timezone.now(), progress_percent=100
    )


# --- Staging and the set-based merge ---------------------------------------------------------------
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _Staging:
    """Two temporary tables private to this connection: validated rows and rejected rows.

    PostgreSQL gets them through COPY; SQLite through executemany. The merge is a handful of
    statements over the whole file, never a query per invoice.
    """

    def __init__(self, *, model, batch: ImportBatch):
        self.model = model
        self.batch = batch
        self.rows = f"invoice_import_rows_{batch.pk}"
        self.rejects = f"invoice_import_rejects_{batch.pk}"
        self.fields = [model._meta.get_field(name) for name in ("invoice_key", *COMPARED_FIELDS)]
        self.postgres = connection.vendor == "postgresql"
        self.created = False

    # Phase 1 -----------------------------------------------------------------------------------
    def create(self) -> None:
        q = connection.ops.quote_name
        columns = ", ".join(f"{q(f.column)} {f.db_type(connection)}" for f in self.fields)
        with connection.cursor() as cursor:
            self.drop()
            cursor.execute(f"CREATE TEMPORARY TABLE {q(self.rows)} (row_no integer NOT NULL, {columns})")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {q(self.rejects)} "
                "(row_no integer NOT NULL, col varchar(40) NOT NULL, reason varchar(500) NOT NULL)"
            )
        self.created = True

    def drop(self) -> None:
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.rows)}")
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.rejects)}")

    def load(self, stream: BinaryIO) -> int:
        """Parse and validate every row into the staging tables; returns the rows read."""
        size = max(self.batch.size, 1)
        default_type = InvoiceType.DIGITAL_ORDINARY
        good: list[dict] = []
        bad: list[RowError] = []
        rows_read = 0
        for row_number, raw in iter_rows(stream, self.batch.original_name):
            values, errors = validate_row(row_number, raw, default_type=default_type)
            if values is None and not errors:
                continue  # a summary row
            rows_read += 1
            if errors:
                bad.extend(errors)
            else:
                values["row_no"] = row_number
                good.append(values)
            if rows_read % STAGE_CHUNK == 0:
                self._flush(good, bad)
                self._progress(rows_read, lambda: stream.tell() * 100 // size)
        self._flush(good, bad)
        return rows_read

    def _progress(self, rows: int, percent: Callable[[], int]) -> None:
        try:
            done = min(99, int(percent()))
        except (OSError, ValueError):
            done = 0
        ImportBatch.objects.filter(pk=self.batch.pk).update(rows_processed=rows, progress_percent=done)

    def _flush(self, good: list[dict], bad: list[RowError]) -> None:
        names = ["row_no", *(f.name for f in self.fields)]
        if good:
            if self.postgres:
                self._copy(self.rows, names, ([values[name] for name in names] for values in good))
            else:
                self._insert(self.rows, names, [[self._adapt(values[name]) for name in names] for values in good])
        if bad:
            reasons = [[e.row, e.column[:40], e.reason[:500]] for e in bad]
            if self.postgres:
                self._copy(self.rejects, ["row_no", "col", "reason"], reasons)
            else:
                self._insert(self.rejects, ["row_no", "col", "reason"], reasons)
        good.clear()
        bad.clear()

    def _columns(self, names: list[str]) -> str:
        columns = {f.name: f.column for f in self.fields}
        return ", ".join(connection.ops.quote_name(columns.get(name, name)) for name in names)

    def _copy(self, table: str, names: list[str], rows) -> None:
        buffer = io.StringIO()
        write = buffer.write
        escapes = _COPY_ESCAPES
        for row in rows:  # inlined _copy_text: this loop runs once per row of a million-row file
            write("\t".join(["\\N" if value is None else str(value).translate(escapes) for value in row]))
            write("\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} ({self._columns(names)}) FROM STDIN", buffer)

    def _insert(self, table: str, names: list[str], rows: list[list]) -> None:
        marks = ", ".join(["%s"] * len(names))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({self._columns(names)}) VALUES ({marks})", rows
            )

    @staticmethod
    def _adapt(value):
        if isinstance(value, datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return connection.ops.adapt_datefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        return value

    # Phase 2 -----------------------------------------------------------------------------------
    def merge(self) -> tuple[int, int, int, int]:
        """created, updated, unchanged, rejected. Runs inside the caller's transaction."""
        q = connection.ops.quote_name
        rows, rejects, target = q(self.rows), q(self.rejects), q(self.model._meta.db_table)
        company_id, direction, batch_id = self.batch.company_id, self.batch.direction, self.batch.pk
        key = q("invoice_key")
        match = f"t.{q('company_id')} = %s AND t.{q('direction')} = %s AND t.{key} = s.{key}"
        compared = [f for f in self.fields if f.name != "invoice_key"]
        distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        differs = " OR ".join(f"t.{q(f.column)} {distinct} s.{q(f.column)}" for f in compared)
        now = timezone.now()
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            # The same invoice twice in one file: keep the first, reject the others.
            cursor.execute(f"SELECT 1 FROM {rows} GROUP BY {key} HAVING COUNT(*) > 1 LIMIT 1")
            if cursor.fetchone():
                cursor.execute(
                    f"INSERT INTO {rejects} (row_no, col, reason) SELECT s.row_no, 'invoice_number', %s "
                    f"FROM {rows} s WHERE EXISTS (SELECT 1 FROM {rows} e WHERE e.{key} = s.{key} "
                    "AND e.row_no < s.row_no)",
                    [_("the same invoice appears twice in this file")],
                )
                cursor.execute(f"DELETE FROM {rows} WHERE row_no IN (SELECT row_no FROM {rejects})")
            cursor.execute(f"SELECT COUNT(*) FROM {rows}")
            staged = cursor.fetchone()[0]

            if self.model is Invoice:
                self._log_changes(cursor, match=match, differs=differs, compared=compared, now=now)
            extra_set = f", {q('seen_at')} = %s" if self.model is TaxRecord else ""
            assignments = ", ".join(f"{q(f.column)} = s.{q(f.column)}" for f in compared)
            cursor.execute(
                f"UPDATE {target} AS t SET {assignments}, {q('batch_id')} = %s, {q('updated_at')} = %s{extra_set} "
                f"FROM {rows} s WHERE {match} AND ({differs})",
                [batch_id, stamp, *([stamp] if extra_set else []), company_id, direction],
            )
            updated = cursor.rowcount

            extra_cols = f", {q('seen_at')}" if self.model is TaxRecord else ""
            extra_vals = ", %s" if self.model is TaxRecord else ""
            names = ", ".join(q(f.column) for f in self.fields)
            cursor.execute(
                f"INSERT INTO {target} ({q('company_id')}, {q('direction')}, {names}, {q('batch_id')}, "
                f"{q('created_at')}, {q('updated_at')}{extra_cols}) "
                f"SELECT %s, %s, {', '.join(f's.{q(f.column)}' for f in self.fields)}, %s, %s, %s{extra_vals} "
                f"FROM {rows} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {match}) "
                "ON CONFLICT DO NOTHING",
                [company_id, direction, batch_id, stamp, stamp, *([stamp] if extra_vals else []), company_id, direction],
            )
            created = cursor.rowcount

            cursor.execute(
                f"INSERT INTO {q('invoices_importrejection')} ({q('batch_id')}, {q('row')}, {q('column')}, "
                f"{q('reason')}) SELECT %s, row_no, col, reason FROM {rejects} ORDER BY row_no",
                [batch_id],
            )
            rejected = cursor.rowcount
        return created, updated, staged - created - updated, rejected

    def _log_changes(self, cursor, *, match: str, differs: str, compared: list, now: datetime) -> None:
        """One InvoiceChange per invoice this file changes, with each changed field's old and new value."""
        q = connection.ops.quote_name
        old = ", ".join(f"t.{q(f.column)}" for f in compared)
        new = ", ".join(f"s.{q(f.column)}" for f in compared)
        cursor.execute(
            f"SELECT t.{q('id')}, {old}, {new} FROM {q(self.rows)} s "
            f"JOIN {q(self.model._meta.db_table)} t ON {match} WHERE {differs}",
            [self.batch.company_id, self.batch.direction],
        )
        width = len(compared)
        while chunk := cursor.fetchmany(WRITE_CHUNK):
            changes = []
            for row in chunk:
                diff = {}
                for i, field in enumerate(compared):
                    before, after = _display(field, row[1 + i]), _display(field, row[1 + width + i])
                    if before != after:
                        diff[field.name] = [before, after]
                if diff:  # SQLite compares decimals as floats; an unchanged-looking row logs nothing
                    changes.append(
                        InvoiceChange(invoice_id=row[0], batch_id=self.batch.pk, changed_at=now, changes=diff)
                    )
            InvoiceChange.objects.bulk_create(changes)


def _display(field: models.Field, value) -> str:
    """A stored value as a person reads it in the history, the same on PostgreSQL and SQLite."""
    if value is None or value == "":
        return ""
    if isinstance(field, models.DecimalField):
        return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-field.decimal_places)))
    if isinstance(field, models.DateTimeField):
        if isinstance(value, str):  # SQLite keeps UTC as text
            value = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return timezone.localtime(value, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(field, models.DateField):
        return str(value)[:10]
    return str(value)


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
