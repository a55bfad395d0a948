"""Order and contract lists: Chinese and English headers, GBK and UTF-8, CSV and XLSX, the row-level
report shared with invoice imports, the command, the upload page and the API."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from invoices.imports.orders import orders_import
from invoices.models import BatchState, Direction, ImportKind, Order

pytestmark = pytest.mark.django_db

CUSTOMER = "91310000MA1FL5XK8U"
SALES_CSV = (
    "订单编号,订单日期,客户名称,纳税人识别号,金额,税率,税额,价税合计,发票号码\r\n"
    f"SO-20261109-001,2026-11-09,上海明远贸易有限公司,{CUSTOMER},10000.00,13%,1300.00,11300.00,\r\n"
    f'SO-20261109-002,2026/11/09,上海明远贸易有限公司,{CUSTOMER},"2,000.00",13%,,,26110000000000000123\r\n'
    f"SO-20261110-003,2026年11月10日,天津滨海物流有限公司,,500.00,6%,30.00,530.00,\r\n"
    ",2026-11-10,无编号客户,,1.00,,0.00,1.00,\r\n"
    "SO-20261110-005,昨天,上海明远贸易有限公司,91310000MA1FL5XK8X,abc,13%,,,\r\n"
    "SO-20261110-006,2026-11-10,上海明远贸易有限公司,,100.00,,13.00,120.00,\r\n"
)


def _import(company, name, content: bytes, **kw):
    return orders_import(company=company, filename=name, stream=io.BytesIO(content), **kw)


def test_a_gbk_sales_order_list_lands_with_a_row_level_report(beijing):
    batch = _import(beijing, "销售订单.csv", SALES_CSV.encode("gbk"))
    assert batch.kind == ImportKind.ORDERS and batch.state == BatchState.SUCCEEDED
    assert batch.direction == Direction.ISSUED  # 客户名称: sales
    assert (batch.rows_read, batch.rows_created, batch.rows_rejected) == (6, 3, 3)
    first = Order.objects.get(order_number="SO-20261109-001")
    assert (first.amount, first.tax, first.total, first.tax_rate) == (
        Decimal("10000.00"),
        Decimal("1300.00"),
        Decimal("11300.00"),
        Decimal("0.1300"),
    )
    second = Order.objects.get(order_number="SO-20261109-002")
    assert second.tax == Decimal("260.00")  # from the rate
    assert second.invoice_key == "26110000000000000123"
    third = Order.objects.get(order_number="SO-20261110-003")
    assert third.counterparty_tax_id == "" and third.counterparty_name == "天津滨海物流有限公司"
    rejected = {(r.row, r.column) for r in batch.rejections.all()}
    assert (5, "order_number") in rejected
    assert (6, "order_date") in rejected and (6, "counterparty_tax_id") in rejected and (6, "amount") in rejected
    assert (7, "total") in rejected


def test_importing_the_same_list_again_changes_nothing_and_a_changed_row_is_updated(beijing):
    _import(beijing, "a.csv", SALES_CSV.encode("utf-8-sig"))
    again = _import(
        beijing, "a.csv", SALES_CSV.replace("10000.00,13%,1300.00,11300.00", "9000.00,13%,1170.00,10170.00").encode()
    )
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 1, 2)
    assert Order.objects.get(order_number="SO-20261109-001").total == Decimal("10170.00")


def test_a_contract_register_in_english_with_only_totals_and_rates_is_split_into_amount_and_tax(beijing):
    book = Workbook()
    sheet = book.active
    sheet.append(["Contract register"])  # a title row above the headers
    sheet.append(["Contract number", "Contract date", "Supplier", "Credit code", "Total", "Tax rate"])
    sheet.append(["HT-2026-017", "2026-11-09", "北京燕山钢材有限公司", "91110108MA01B2C3D0", 113000, 0.13])
    sheet.append(["HT-2026-018", "2026-11-10", "北京燕山钢材有限公司", "91110108MA01B2C3D0", 106, "6%"])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = _import(beijing, "contracts.xlsx", buffer.getvalue())
    assert batch.failure_reason == ""
    assert batch.state == BatchState.SUCCEEDED and batch.direction == Direction.RECEIVED  # a supplier column
    contract = Order.objects.get(order_number="HT-2026-017")
    assert (contract.amount, contract.tax, contract.total) == (
        Decimal("100000.00"),
        Decimal("13000.00"),
        Decimal("113000.00"),
    )
    assert Order.objects.get(order_number="HT-2026-018").amount == Decimal("100.00")


def test_a_file_without_order_columns_is_refused_and_stores_nothing(beijing):
    batch = _import(beijing, "invoices.csv", "发票号码,开票日期,金额\r\n1,2026-11-01,3\r\n".encode())
    assert batch.state == BatchState.FAILED and "订单编号" in batch.failure_reason
    assert not Order.objects.exists()


def test_the_command_reports_as_json_and_fails_on_a_refused_file(beijing, tmp_path, capsys):
    good = tmp_path / "orders.csv"
    good.write_bytes(SALES_CSV.encode("gbk"))
    call_command("import_orders", "--company", beijing.credit_code, "--json", str(good))
    report = json.loads(capsys.readouterr().out)
    assert report["created"] == 3 and len(report["files"]) == 1 and report["files"][0]["direction"] == "issued"
    first = report["rejected_rows"][0]
    assert (first["row"], first["file"]) == (5, "orders.csv") and report["rejected"] >= 1
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"a,b\r\n1,2\r\n")
    with pytest.raises(CommandError):
        call_command("import_orders", "--company", beijing.credit_code, str(bad))


def test_the_command_prints_a_line_per_file_with_its_direction_then_per_rejected_row(beijing, tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_bytes(SALES_CSV.encode("gbk"))
    with translation.override("en"):
        call_command("import_orders", "--company", beijing.credit_code, str(path))
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "orders.csv: Succeeded · issued · read 6 · created 3 · updated 0 · unchanged 0 · rejected 3",
        "  row 5: order_number: no order or contract number",
    ]
    assert [line.split(":")[0] for line in lines[2:]] == ["  row 6", "  row 7"]


def test_an_accountant_uploads_a_list_and_reads_its_report_on_the_import_page(beijing, alice, client_for):
    client = client_for(alice)
    upload = SimpleUploadedFile("销售订单.csv", SALES_CSV.encode("gbk"), content_type="text/csv")
    page = client.post("/response/orders/import/", {"company": beijing.pk, "files": [upload]}, follow=True)
    assert page.status_code == 200
    body = page.content.decode()
    assert "rejection-table" in body and "SO-20261109-001" not in body  # the report, not the orders
    assert Order.objects.filter(company=beijing).count() == 3
    listing = client.get("/response/orders/").content.decode()
    assert "SO-20261109-001" in listing and "上海明远贸易有限公司" in listing


def test_finance_staff_cannot_import_orders_and_outsiders_see_none(beijing, fiona, charlie, alice, api_for):
    _import(beijing, "a.csv", SALES_CSV.encode())
    upload = SimpleUploadedFile("a.csv", SALES_CSV.encode(), content_type="text/csv")
    refused = api_for(fiona).post("/api/orders/import/", {"company": beijing.pk, "file": upload}, format="multipart")
    assert refused.status_code == 403
    assert api_for(charlie).get("/api/orders/").json()["count"] == 0
    assert api_for(alice).get("/api/orders/", {"counterparty": "明远"}).json()["count"] == 2


def test_the_api_imports_a_list_and_answers_with_the_row_report(beijing, alice, api_for, django_assert_max_num_queries):
    api = api_for(alice)
    upload = SimpleUploadedFile("orders.csv", SALES_CSV.encode("gbk"), content_type="text/csv")
    answer = api.post("/api/orders/import/", {"company": beijing.pk, "file": upload}, format="multipart")
    assert answer.status_code == 201
    body = answer.json()
    assert body["created"] == 3 and body["rejected"] >= 3 and body["direction"] == "issued"
    with django_assert_max_num_queries(6):
        listed = api.get("/api/orders/", {"company": beijing.pk}).json()
    assert listed["count"] == 3 and listed["results"][0]["order_number"].startswith("SO-")


def test_an_import_queues_a_reconciliation_over_the_orders_dates(
    beijing, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import date

    queued = []
    monkeypatch.setattr("recovery.services.reconciliation_run_create", lambda **kw: queued.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        _import(beijing, "a.csv", SALES_CSV.encode())
    assert [(q["direction"], q["period_start"], q["period_end"]) for q in queued] == [
        ("issued", date(2026, 11, 9), date(2026, 11, 10))
    ]
    with django_capture_on_commit_callbacks(execute=True):
        _import(beijing, "a.csv", SALES_CSV.encode())  # nothing changed: nothing to re-check
    assert len(queued) == 1


def test_the_api_refuses_a_file_without_order_columns_in_its_one_error_shape(beijing, alice, api_for):
    upload = SimpleUploadedFile("x.csv", "发票号码,开票日期\r\n1,2026-11-01\r\n".encode(), content_type="text/csv")
    answer = api_for(alice).post("/api/orders/import/", {"company": beijing.pk, "file": upload}, format="multipart")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid" and "订单编号" in error["fields"]["file"][0]
