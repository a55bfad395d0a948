"""The import merge's two paths give the same result: a file of only new invoices is inserted plainly,
anything touching invoices we hold goes through the full merge (change log, update, anti-join)."""

import csv
import io
from decimal import Decimal

from invoices.imports.services import import_file
from invoices.imports.staging import Staging
from invoices.models import ImportKind, Invoice, InvoiceChange

SELLER = "91110108MA01B2C3D0"
BUYER = "91350100M000100Y43"
HEADER = ["数电发票号码", "开票日期", "销方识别号", "销方名称", "购方识别号", "购买方名称", "金额", "税额", "价税合计"]


def backup(*rows: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def row(serial: int, amount: str = "100.00", *, seller_name: str = "北京华信") -> list[str]:
    tax = Decimal(amount) * Decimal("0.13")
    return [
        f"2511200000000000{serial:04d}",
        "2026-03-01 09:30:00",
        SELLER,
        seller_name,
        BUYER,
        "福州客户",
        amount,
        f"{tax:.2f}",
        f"{Decimal(amount) + tax:.2f}",
    ]


def run(company, content: bytes):
    report = import_file(company=company, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=content)
    batch = report.batch
    assert batch.state == "succeeded", batch.failure_reason
    return batch.rows_created, batch.rows_updated, batch.rows_unchanged


def test_new_invoices_beside_ones_we_hold_are_only_added(beijing):
    assert run(beijing, backup(row(1), row(2))) == (2, 0, 0)
    kept = list(Invoice.objects.values_list("pk", "updated_at", "batch_id"))
    assert run(beijing, backup(row(8), row(9))) == (2, 0, 0)
    assert list(Invoice.objects.filter(pk__in=[k[0] for k in kept]).values_list("pk", "updated_at", "batch_id")) == kept
    assert Invoice.objects.count() == 4 and not InvoiceChange.objects.exists()


def test_a_file_overlapping_what_we_hold_updates_adds_and_logs(beijing):
    run(beijing, backup(row(1), row(5)))
    assert run(beijing, backup(row(1), row(3, "200.00"), row(5, "300.00"))) == (1, 1, 1)
    change = InvoiceChange.objects.get()
    assert change.invoice.invoice_key.endswith("0005") and change.changes["amount"] == ["100.00", "300.00"]


def test_an_invoice_written_after_the_range_check_sends_the_file_through_the_full_merge(beijing, monkeypatch):
    """Another writer may add an invoice between the range check and the plain INSERT: the INSERT
    fails on the unique key, is rolled back to its savepoint, and the full merge gives the result a
    merge without the shortcut gives."""
    run(beijing, backup(row(2)))
    monkeypatch.setattr(Staging, "_holds_keys_between", lambda self, cursor, lowest, highest: False)
    assert run(beijing, backup(row(1), row(2, "250.00"), row(3))) == (2, 1, 0)
    assert Invoice.objects.get(invoice_key__endswith="0002").amount == Decimal("250.00")
    assert InvoiceChange.objects.get().changes["amount"] == ["100.00", "250.00"]
    assert Invoice.objects.count() == 3


def test_names_with_tabs_backslashes_and_line_breaks_are_stored_as_written(beijing):
    names = ["华信\t分公司", "C:\\账套\\N", "\\N", "第一行\n第二行", "回车\r"]
    run(beijing, backup(*(row(i + 1, seller_name=name) for i, name in enumerate(names))))
    stored = dict(Invoice.objects.values_list("invoice_key", "seller_name"))
    assert [stored[f"2511200000000000{i + 1:04d}"] for i in range(len(names))] == [n.strip() for n in names]
