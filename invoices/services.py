"""Writes for invoice records: importing files into Invoice (backups) or TaxRecord (exports)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.models import (
    BatchState,
    Direction,
    ImportBatch,
    ImportKind,
    ImportRejection,
    Invoice,
    InvoiceType,
    TaxRecord,
)
from invoices.parsers import FileRefused, RowError, iter_rows, validate_row
from invoices.signals import import_batch_succeeded
from outage_portal.models import Company

WRITE_CHUNK = 2000
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
    rejected: list[RowError] = field(default_factory=list)

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
    *, company: Company, kind: str, direction: str, filename: str, content: bytes, user=None
) -> ImportReport:
    """Import one file. Valid rows land (created / updated / unchanged); rejected rows are reported.

    A file refused as a whole (unreadable, no invoice columns) fails the batch and stores no rows.
    """
    if kind not in (ImportKind.BACKUP, ImportKind.TAX_EXPORT):
        raise ValueError(f"unknown import kind {kind!r}")
    if direction not in Direction.values:
        raise ValueError(f"unknown direction {direction!r}")
    batch = ImportBatch.objects.create(
        company=company,
        kind=kind,
        direction=direction,
        state=BatchState.RUNNING,
        original_name=filename[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        created_by=user,
    )
    storages["private"].save(f"imports/{company.pk}/{batch.pk}-{batch.sha256[:16]}", ContentFile(content))
    default_type = InvoiceType.DIGITAL_ORDINARY
    records: dict[str, dict] = {}
    rejected: list[RowError] = []
    rows_read = 0
    try:
        for row_number, raw in iter_rows(io.BytesIO(content), filename):
            values, errors = validate_row(row_number, raw, default_type=default_type)
            if values is None and not errors:
                continue  # summary row
            rows_read += 1
            if errors:
                rejected.extend(errors)
            elif values["invoice_key"] in records:
                rejected.append(
                    RowError(row_number, "invoice_number", _("the same invoice appears twice in this file"))
                )
            else:
                records[values["invoice_key"]] = values
    except FileRefused as refused:
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED, failure_reason=str(refused.message), finished_at=timezone.now()
        )
        batch.refresh_from_db()
        return ImportReport(batch=batch)

    created = updated = unchanged = 0
    with transaction.atomic():
        created, updated, unchanged = _write(
            model=_target_model(kind), company=company, direction=direction, batch=batch, records=records
        )
        ImportRejection.objects.bulk_create(
            [ImportRejection(batch=batch, row=r.row, column=r.column, reason=r.reason[:500]) for r in rejected],
            batch_size=WRITE_CHUNK,
        )
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.SUCCEEDED,
            rows_read=rows_read,
            rows_created=created,
            rows_updated=updated,
            rows_unchanged=unchanged,
            rows_rejected=len(rejected),
            finished_at=timezone.now(),
        )
        transaction.on_commit(lambda: import_batch_succeeded.send(sender=ImportBatch, batch=batch))
    batch.refresh_from_db()
    return ImportReport(batch=batch, rejected=rejected)


def _write(*, model, company: Company, direction: str, batch: ImportBatch, records: dict[str, dict]):
    """Bulk create new keys, bulk update changed ones, leave identical ones alone."""
    created = updated = unchanged = 0
    keys = list(records)
    now = timezone.now()
    for start in range(0, len(keys), WRITE_CHUNK):
        chunk = keys[start : start + WRITE_CHUNK]
        existing = {
            obj.invoice_key: obj
            for obj in model.objects.filter(company=company, direction=direction, invoice_key__in=chunk)
        }
        to_create, to_update = [], []
        for key in chunk:
            values = records[key]
            obj = existing.get(key)
            if obj is None:
                extra = {"seen_at": now} if model is TaxRecord else {}
                to_create.append(model(company=company, direction=direction, batch=batch, **values, **extra))
            elif any(getattr(obj, name) != values[name] for name in COMPARED_FIELDS):
                for name in COMPARED_FIELDS:
                    setattr(obj, name, values[name])
                obj.batch = batch
                obj.updated_at = now
                if model is TaxRecord:
                    obj.seen_at = now
                to_update.append(obj)
            else:
                unchanged += 1
        model.objects.bulk_create(to_create, batch_size=WRITE_CHUNK)
        update_fields = [*COMPARED_FIELDS, "batch", "updated_at"] + (["seen_at"] if model is TaxRecord else [])
        model.objects.bulk_update(to_update, update_fields, batch_size=WRITE_CHUNK)
        created += len(to_create)
        updated += len(to_update)
    return created, updated, unchanged
