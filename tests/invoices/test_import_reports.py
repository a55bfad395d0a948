"""An import's report as a finance user reads it: rejected rows counted as rows, each with all its
reasons, columns named as the file's own header names them, and a file that stored nothing never
shown as a success, on the pages, in the API and from the command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import Workbook

from invoices.imports import copy_lane
from invoices.imports.services import import_file
from invoices.models import BatchState, ImportKind, Invoice

pytestmark = pytest.mark.django_db

SELLER = "91110108MA01B2C3D0"
BUYER = "91350100M000100Y43"
# Headers as another tool writes them: 销售方纳税人识别号 rather than 销方识别号, 发票类型 for the type.
HEADER = "数电发票号码,开票日期,销售方纳税人识别号,销售方名称,购买方纳税人识别号,购买方名称,金额,税额,价税合计,税率,发票类型,发票状态"  # noqa: E501


def row(
    serial: int, *, seller=SELLER, amount="1000.00", tax="130.00", total="1130.00", kind="数电发票（增值税专用发票）"
):
    return (
        f"2511200000000{serial:07d},2025-03-01 09:30:00,{seller},北京华信科技有限公司,{BUYER},福州闽江贸易有限公司,"
        f"{amount},{tax},{total},13%,{kind},正常"
    )


def csv(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("gbk")


def run(company, content: bytes, filename="备份.csv"):
    return import_file(company=company, kind=ImportKind.BACKUP, direction="issued", filename=filename, content=content)


TWO_PROBLEMS = row(2, seller="91110108MA01B2C3D1", kind="增值税专票")  # a wrong check digit and an unknown type


def test_a_row_with_two_problems_is_one_rejected_row_with_two_reasons(beijing):
    report = run(beijing, csv(row(1), TWO_PROBLEMS, row(3, total="9.99")))
    batch = report.batch
    assert (batch.rows_read, batch.rows_created, batch.rows_rejected) == (3, 1, 2)
    assert batch.rejections.count() == 3
    assert [(r["row"], [x["column"] for x in r["reasons"]]) for r in report.rejected_rows] == [
        (3, ["销售方纳税人识别号", "发票类型"]),
        (4, ["价税合计"]),
    ]


def test_columns_are_named_by_the_files_own_header_in_the_xlsx_too(beijing):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["发票号码", "开票日期", "销方识别号", "金额", "税额", "价税合计", "发票票种"])
    sheet.append(["12345678", "2025-03-01", SELLER, 100, 13, 113, "数电发票（专用）"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = run(beijing, buffer.getvalue(), "导出.xlsx")
    assert report.rejected_rows == [
        {"row": 2, "reasons": [{"column": "发票票种", "reason": report.rejected[0].reason}]},
    ]


def test_a_duplicate_in_a_digital_file_names_its_number_column(beijing):
    report = run(beijing, csv(row(1), row(1)))
    assert report.rejected_rows[0]["reasons"][0]["column"] == "数电发票号码"


def test_the_copy_lane_names_columns_by_the_header_too(beijing, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY lane is PostgreSQL's")
    monkeypatch.setattr(copy_lane, "COPY_BLOCK", 2000)  # a file over one block goes through the pipeline
    monkeypatch.setattr(copy_lane, "READ_BYTES", 1000)
    rows = [row(n) for n in range(1, 40)]
    rows[20] = TWO_PROBLEMS.replace("0000002,", "0000099,")
    report = run(beijing, csv(*rows))
    assert (report.batch.rows_created, report.batch.rows_rejected) == (38, 1)
    assert [x["column"] for x in report.rejected_rows[0]["reasons"]] == ["销售方纳税人识别号", "发票类型"]


# --- nothing stored is not a success -------------------------------------------------------------------
def test_a_file_whose_every_row_is_rejected_is_not_a_success(beijing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = run(beijing, csv(TWO_PROBLEMS, row(3, total="9.99")))
    batch = report.batch
    assert batch.state == BatchState.REJECTED and batch.rows_rejected == 2
    assert not Invoice.objects.exists()
    from recovery.models import ReconciliationRun

    assert not ReconciliationRun.objects.exists()  # nothing stored: nothing to reconcile


def test_a_file_with_a_header_and_no_rows_is_empty_not_a_success(beijing):
    batch = run(beijing, csv()).batch
    assert (batch.state, batch.rows_read) == (BatchState.EMPTY, 0)


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [
        ("zh-hans", ["全部行被拒绝", "未存入任何发票", "销售方纳税人识别号", "发票类型"], "成功"),
        ("en", ["All rows rejected", "Nothing was stored", "销售方纳税人识别号", "发票类型"], "Succeeded"),
    ],
)
def test_the_pages_show_an_all_rejected_batch_honestly(client_for, alice, beijing, language, shown, not_shown):
    batch = run(beijing, csv(TWO_PROBLEMS)).batch
    client = client_for(alice)
    detail = client.get(f"/imports/{batch.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    listing = client.get("/imports/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for text in shown:
        assert text in detail
    assert shown[0] in listing
    assert not_shown not in detail and not_shown not in listing
    assert 'rowspan="2"' in detail  # one row, two reasons
    rejected_csv = client.get(f"/imports/{batch.pk}/rejected-rows.csv").content.decode("utf-8-sig")
    assert "销售方纳税人识别号" in rejected_csv and "seller_tax_id" not in rejected_csv


def test_the_report_page_costs_the_same_queries_however_many_rows_were_rejected(client_for, alice, beijing):
    client = client_for(alice)
    few = run(beijing, csv(TWO_PROBLEMS)).batch
    many = run(beijing, csv(*[row(n, total="1.00") for n in range(1, 60)])).batch
    counts = []
    for batch in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/imports/{batch.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_api_reports_the_state_rows_and_header_columns(api_for, alice, beijing):
    batch = run(beijing, csv(row(1), TWO_PROBLEMS)).batch
    with translation.override("en"):
        body = api_for(alice).get(f"/api/imports/{batch.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["state"], body["rows_rejected"]) == ("succeeded", 1)
    assert [r["column"] for r in body["rejections"]] == ["销售方纳税人识别号", "发票类型"]
    rejected = run(beijing, csv(TWO_PROBLEMS.replace("0000002,", "0000003,"))).batch
    body = api_for(alice).get(f"/api/imports/{rejected.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["state"], body["state_display"]) == ("rejected", "All rows rejected")


def test_the_command_reports_rows_and_an_all_rejected_file_honestly(beijing, tmp_path, capsys):
    path = tmp_path / "备份.csv"
    path.write_bytes(csv(TWO_PROBLEMS))
    with translation.override("zh-hans"):
        call_command("import_invoices", str(path), company=beijing.credit_code, kind="backup")
    out = capsys.readouterr().out
    assert "全部行被拒绝" in out and "成功" not in out and "rejected rows 1" in out
    assert "销售方纳税人识别号" in out and "发票类型" in out
    call_command("import_invoices", str(path), company=beijing.credit_code, kind="backup", json=True)
    report = json.loads(capsys.readouterr().out)
    (file_report,) = report["files"]
    assert (file_report["state"], file_report["rejected"]) == ("rejected", 1)
    assert len(report["rejected_rows"][0]["reasons"]) == 2


def test_headers_other_tools_write_are_read_and_named_back(beijing):
    header = "*发票代码,*发票号码,开票日期,购买方统一社会信用代码/纳税人识别号,购方名称,合计金额,合计税额,价税合计,税率,发票种类,销售方统一社会信用代码/纳税人识别号"  # noqa: E501
    rows = [
        f"011002400111,00000001,2025-03-01,{BUYER},福州闽江贸易有限公司,100.00,13.00,113.00,13%,专票,{SELLER}",
        f"011002400111,00000002,2025-03-01,{BUYER},福州闽江贸易有限公司,100.00,13.00,113.00,*,普票,{SELLER}",
        f"011002400111,00000003,2025-03-01,{BUYER},福州闽江贸易有限公司,100.00,13.00,113.00,13%,专票,",
    ]
    report = run(beijing, ("\r\n".join([header, *rows]) + "\r\n").encode("gbk"))
    assert (report.batch.rows_created, report.batch.rows_rejected) == (2, 1)
    assert report.rejected_rows[0]["reasons"][0]["column"] == "销售方统一社会信用代码/纳税人识别号"
    assert Invoice.objects.get(invoice_number="00000002").tax_rate is None
