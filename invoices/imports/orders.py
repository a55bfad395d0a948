"""Order and contract lists (CSV or XLSX, Chinese or English headers) imported into `Order`.

The file is kept and reported like an invoice import: one `ImportBatch` (kind "orders") with its
counts and one `ImportRejection` per rejected row, so the import pages, the CSV of rejected rows and
the `--json` report are the same. Orders are far fewer than invoices (a few per invoice at most), so
rows are validated in Python and written in chunks by one upsert each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.imports import parsers
from invoices.imports.parsers import (
    FileRefused,
    RowError,
    clean_name,
    clean_tax_id,
    clean_tax_rate,
    parse_date,
    parse_money,
)
from invoices.imports.services import UNEXPECTED_FAILURE, import_batch_create, import_batch_succeed
from invoices.imports.staging import MergeResult
from invoices.keys import invoice_key, normalise_digits
from invoices.models import BatchState, Direction, ImportBatch, ImportKind, ImportRejection, Order
from invoices.signals import import_batch_succeeded
from outage_portal.models import Company
from outage_portal.validators import is_digits

logger = logging.getLogger(__name__)

CHUNK = 2000
_CENT = Decimal("0.01")

# Header names seen in ERP order exports and contract registers, Chinese and English.
ORDER_HEADERS: dict[str, tuple[str, ...]] = {
    "order_number": (
        "订单编号", "订单号", "订单号码", "销售订单号", "采购订单号", "合同编号", "合同号", "合同编码",
        "order number", "order no", "order_number", "order", "contract number", "contract no", "contract_number",
    ),
    "order_date": (
        "订单日期", "下单日期", "合同日期", "签订日期", "签约日期", "日期",
        "order date", "order_date", "contract date", "contract_date", "date",
    ),
    "customer_name": ("客户名称", "客户", "购买方名称", "购方名称", "customer", "customer name", "customer_name"),
    "supplier_name": ("供应商名称", "供应商", "销售方名称", "销方名称", "supplier", "supplier name", "supplier_name"),
    "counterparty_name": ("对方单位", "往来单位", "单位名称", "counterparty", "counterparty name", "counterparty_name"),
    "counterparty_tax_id": (
        "纳税人识别号", "统一社会信用代码", "税号", "客户税号", "供应商税号", "购方识别号", "销方识别号",
        "tax id", "tax_id", "credit code", "credit_code", "counterparty tax id",
    ),
    "amount": ("金额", "不含税金额", "amount", "amount excluding tax", "net amount"),
    "tax_rate": ("税率", "tax rate", "tax_rate"),
    "tax": ("税额", "tax", "tax amount"),
    "total": ("价税合计", "含税金额", "合同金额", "订单金额", "total", "total amount", "amount including tax"),
    "invoice_number": ("发票号码", "数电发票号码", "发票号", "invoice number", "invoice_number", "invoice no"),
    "invoice_code": ("发票代码", "invoice code", "invoice_code"),
}  # fmt: skip
_LOOKUP = {alias.strip().lower(): field for field, aliases in ORDER_HEADERS.items() for alias in aliases}
NO_COLUMNS = gettext_lazy(
    "No order columns found: the file needs an order or contract number (订单编号 or 合同编号), a date "
    "(订单日期 or 合同日期) and an amount (金额 or 价税合计)."
)


def map_order_header(cells: list) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index, cell in enumerate(cells):
        field = _LOOKUP.get(str(cell or "").strip().lower().replace("\ufeff", ""))
        if field and field not in mapping.values():
            mapping[index] = field
    return mapping


def _has_columns(mapping: dict[int, str]) -> bool:
    fields = set(mapping.values())
    return {"order_number", "order_date"} <= fields and bool(fields & {"amount", "total"})


def _rows(cells_iter, *, blank) -> Iterator[tuple[int, dict, dict[int, str]]]:
    mapping: dict[int, str] = {}
    for row_number, cells in enumerate(cells_iter, start=1):
        cells = list(cells)
        if not mapping:
            found = map_order_header(cells)
            if found and _has_columns(found):
                mapping = found
            elif row_number >= parsers.HEADER_ROWS:
                break
            continue
        if blank(cells):
            continue
        yield row_number, {f: cells[i] if i < len(cells) else None for i, f in mapping.items()}, mapping
    if not mapping:
        raise FileRefused(NO_COLUMNS)


def iter_order_rows(stream: BinaryIO, filename: str) -> tuple[str | None, Iterator[tuple[int, dict]]]:
    """(direction the headers imply, or None; the rows). Supplier columns mean purchases."""
    import csv

    head = stream.read(64)
    stream.seek(0)
    name = filename.lower()
    if parsers.is_xlsx(head, name):
        cells_iter, closer = _xlsx_cells(stream)
        blank = parsers.is_blank_xlsx
    elif head.startswith(b"PK"):
        raise FileRefused(_("This is a zip archive, not a CSV or XLSX file."))
    else:
        text = parsers.csv_text(stream)
        cells_iter, closer = csv.reader(text), text.detach
        blank = parsers.is_blank
    rows = _rows(cells_iter, blank=blank)
    try:
        first = next(rows)
    except StopIteration:
        closer()
        return None, iter(())
    except (UnicodeDecodeError, csv.Error):
        closer()
        raise FileRefused(_("The CSV file cannot be read; save it again as CSV (UTF-8) and try again."))
    except FileRefused:
        closer()
        raise
    fields = set(first[2].values())
    direction = None
    if "supplier_name" in fields:
        direction = Direction.RECEIVED
    elif "customer_name" in fields:
        direction = Direction.ISSUED

    def all_rows():
        try:
            yield first[0], first[1]
            for number, raw, _mapping in rows:
                yield number, raw
        except (UnicodeDecodeError, csv.Error):
            raise FileRefused(_("The CSV file cannot be read; save it again as CSV (UTF-8) and try again."))
        finally:
            closer()

    return direction, all_rows()


def _xlsx_cells(stream: BinaryIO):
    workbook = parsers.open_xlsx(stream)
    return workbook.worksheets[0].iter_rows(values_only=True), workbook.close


def validate_order_row(row_number: int, raw: dict) -> tuple[dict | None, list[RowError]]:
    """One raw row → an order's field values, or the reasons it is rejected.

    Amount, tax and total may come in any two of three, or amount (or total) with the tax rate:
    contracts often state only 价税合计 and 税率.
    """
    errors: list[RowError] = []

    def fail(column: str, reason) -> None:
        errors.append(RowError(row_number, column, str(reason)))

    values: dict = {}
    number = clean_name(raw.get("order_number"))[:60]
    if not number:
        fail("order_number", _("no order or contract number"))
    values["order_number"] = number
    try:
        values["order_date"] = parse_date(raw.get("order_date"))
    except Exception as exc:
        fail("order_date", getattr(exc, "messages", [str(exc)])[0])
    values["counterparty_name"] = clean_name(
        raw.get("customer_name") or raw.get("supplier_name") or raw.get("counterparty_name")
    )
    values["counterparty_tax_id"], problem = clean_tax_id(raw.get("counterparty_tax_id"), required=False)
    if problem:
        fail("counterparty_tax_id", problem)
    if not values["counterparty_tax_id"] and not values["counterparty_name"]:
        fail("counterparty_tax_id", _("no customer or supplier (name or tax ID)"))
    rate, problem = clean_tax_rate(raw.get("tax_rate"))
    if problem:
        fail("tax_rate", problem)
    values["tax_rate"] = rate
    money = {}
    for field in ("amount", "tax", "total"):
        if raw.get(field) not in (None, ""):
            try:
                money[field] = parse_money(raw.get(field))
            except Exception as exc:
                fail(field, getattr(exc, "messages", [str(exc)])[0])
    if not errors:
        amount, tax, total = money.get("amount"), money.get("tax"), money.get("total")
        if amount is not None and tax is None:
            if total is not None:
                tax = total - amount
            elif rate is not None:
                tax = (amount * rate).quantize(_CENT, rounding=ROUND_HALF_UP)
        elif amount is None and total is not None:
            if tax is not None:
                amount = total - tax
            elif rate is not None:
                amount = (total / (1 + rate)).quantize(_CENT, rounding=ROUND_HALF_UP)
                tax = total - amount
        if amount is None or tax is None:
            fail("tax", _("give the tax (税额), the total (价税合计) or the tax rate (税率) with the amount"))
        elif total is not None and total != amount + tax:
            fail("total", _("total %(total)s is not amount + tax (%(sum)s)") % {"total": total, "sum": amount + tax})
        else:
            values.update(amount=amount, tax=tax, total=amount + tax)
    code = normalise_digits(raw.get("invoice_code"))
    invoice_number = normalise_digits(raw.get("invoice_number"))
    values["invoice_key"] = invoice_key(code=code, number=invoice_number) if invoice_number else ""
    if invoice_number and not (is_digits(invoice_number) and len(values["invoice_key"]) <= 32):
        fail("invoice_number", _("an invoice number has only digits"))
    return (None, errors) if errors else (values, [])


UPDATED_FIELDS = (
    "order_date",
    "counterparty_name",
    "counterparty_tax_id",
    "amount",
    "tax",
    "total",
    "tax_rate",
    "invoice_key",
)


def orders_import(
    *, company: Company, filename: str, stream: BinaryIO, direction: str | None = None, user=None
) -> ImportBatch:
    """Keep the file and import its orders; rejected rows are recorded, the rest created or updated,
    and reconciliation is queued over the orders' dates.

    `direction` None takes it from the headers (客户 = sales, 供应商 = purchases; sales when neither).
    A file refused as a whole fails the batch and stores no order.
    """
    if direction not in (None, *Direction.values):
        raise ValueError(f"unknown direction {direction!r}")
    batch = import_batch_create(
        company=company,
        kind=ImportKind.ORDERS,
        direction=direction or Direction.ISSUED,
        filename=filename,
        stream=stream,
        user=user,
    )
    stream.seek(0)
    try:
        implied, rows = iter_order_rows(stream, filename)
        direction = direction or implied or Direction.ISSUED
        with transaction.atomic():
            rows_read, merged = _write(batch=batch, company=company, direction=direction, rows=rows)
            import_batch_succeed(batch=batch, merged=merged, rows_read=rows_read, direction=direction)
            if merged.created or merged.updated:
                # Reconciliation re-checks the orders' dates, as after an invoice import.
                batch.direction = direction
                transaction.on_commit(lambda: import_batch_succeeded.send(sender=ImportBatch, batch=batch))
    except FileRefused as refused:
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED,
            failure_reason=str(refused.message),
            finished_at=timezone.now(),
            progress_percent=100,
        )
    except Exception:
        logger.exception("order import batch %s failed", batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED, failure_reason=str(UNEXPECTED_FAILURE), finished_at=timezone.now()
        )
    batch.refresh_from_db()
    return batch


def _write(*, batch: ImportBatch, company: Company, direction: str, rows) -> tuple[int, MergeResult]:
    """Upsert the valid rows and keep the rejected ones' reasons; the rows read, and what was done."""
    read = created = updated = unchanged = 0
    rejections: list[ImportRejection] = []
    seen: set[str] = set()
    pending: list[dict] = []
    first = last = None

    def flush():
        nonlocal created, updated, unchanged
        if not pending:
            return
        existing = {
            o["order_number"]: o
            for o in Order.objects.filter(
                company=company, direction=direction, order_number__in=[p["order_number"] for p in pending]
            ).values("order_number", *UPDATED_FIELDS)
        }
        changed = []
        for values in pending:
            before = existing.get(values["order_number"])
            if before is None:
                created += 1
                changed.append(values)
            elif any(before[f] != values[f] for f in UPDATED_FIELDS):
                updated += 1
                changed.append(values)
            else:
                unchanged += 1
        Order.objects.bulk_create(
            [Order(company=company, direction=direction, batch=batch, **values) for values in changed],
            update_conflicts=True,
            unique_fields=["company", "direction", "order_number"],
            update_fields=[*UPDATED_FIELDS, "batch", "updated_at"],
        )
        pending.clear()

    for row_number, raw in rows:
        read += 1
        values, errors = validate_order_row(row_number, raw)
        if values is not None and values["order_number"] in seen:
            errors = [RowError(row_number, "order_number", _("this order number is listed twice in the file"))]
            values = None
        if values is None:
            rejections.extend(
                ImportRejection(batch=batch, row=e.row, column=e.column, reason=e.reason[:500]) for e in errors
            )
            continue
        seen.add(values["order_number"])
        first = min(first or values["order_date"], values["order_date"])
        last = max(last or values["order_date"], values["order_date"])
        pending.append(values)
        if len(pending) >= CHUNK:
            flush()
    flush()
    ImportRejection.objects.bulk_create(rejections, batch_size=CHUNK)
    rejected_rows = len({r.row for r in rejections})
    return read, MergeResult(
        created=created,
        updated=updated,
        unchanged=unchanged,
        rejected=rejected_rows,
        issued_from=first,
        issued_to=last,
    )
