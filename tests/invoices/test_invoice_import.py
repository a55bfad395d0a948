"""Importing backups and tax-platform exports: encodings, spreadsheets, rejections, idempotence."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from invoices.imports.services import import_file
from invoices.models import BatchState, ImportKind, Invoice, TaxRecord
from tests.invoices.helpers import BUYER, GOOD, SELLER, csv_rows


def test_gbk_csv_from_excel_imports_with_apostrophes_and_full_width_digits(beijing):
    content = csv_rows(*GOOD).encode("gbk")
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="备份.csv", content=content
    )
    assert report.batch.state == BatchState.SUCCEEDED
    assert report.batch.rows_created == 2 and not report.rejected
    first = Invoice.objects.get(invoice_key="01100230011100000001")
    assert first.amount == Decimal("1000.00") and first.total == Decimal("1130.00")
    assert first.tax_rate == Decimal("0.1300")
    assert Invoice.objects.get(invoice_key="01100230011100000002").status == "voided"


def test_utf8_bom_csv_imports(beijing):
    content = "\ufeff".encode() + csv_rows(*GOOD).encode("utf-8")
    report = import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=content)
    assert report.batch.rows_created == 2


def test_reimporting_identical_content_changes_nothing(beijing):
    content = csv_rows(*GOOD).encode("utf-8")
    import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=content)
    before = list(Invoice.objects.values_list("pk", "updated_at"))
    again = import_file(company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=content)
    assert (again.batch.rows_created, again.batch.rows_updated, again.batch.rows_unchanged) == (0, 0, 2)
    assert list(Invoice.objects.values_list("pk", "updated_at")) == before


def test_a_changed_row_is_updated(beijing):
    import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    changed = GOOD[1].replace(",作废", ",正常")
    report = import_file(
        company=beijing,
        kind=ImportKind.BACKUP,
        direction="issued",
        filename="b2.csv",
        content=csv_rows(GOOD[0], changed).encode(),
    )
    assert (report.batch.rows_updated, report.batch.rows_unchanged) == (1, 1)
    assert Invoice.objects.get(invoice_key="01100230011100000002").status == "normal"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (
            f"011002300111,00000003,2026-13-45,{SELLER},x,{BUYER},y,10.00,1.30,11.30,13%,增值税普通发票,正常",
            "issue_date",
        ),
        (
            f"011002300111,00000004,2026-11-18,91110108MA01B2C3D1,x,{BUYER},y,10.00,1.30,11.30,13%,,正常",
            "seller_tax_id",
        ),
        (f"011002300111,00000005,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,99.99,13%,,正常", "total"),
        (f"011002300111,00000006,2026-11-18,{SELLER},x,{BUYER},y,abc,1.30,,13%,,正常", "amount"),
        (f"0110023,00000007,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,11.30,13%,,正常", "invoice_code"),
        (f"011002300111,00000008,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,11.30,13%,,遗失", "status"),
        (
            f"011002300111,00000009,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,11.30,1e399999999999999999,,正常",
            "tax_rate",
        ),
        (f"011002300111,00000010,2026-11-18,{SELLER},x,{BUYER},y,1e399999999999999999,1.30,,13%,,正常", "amount"),
        # Each amount fits the column; their sum would not.
        (f"011002300111,00000011,2026-11-18,{SELLER},x,{BUYER},y,99999999999999.99,1.00,,13%,,正常", "total"),
        # Digits to str.isdigit, not invoice digits: superscripts, circled, Arabic-Indic.
        (f"011002300111,²²²²²²²²,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,11.30,13%,,正常", "invoice_number"),
        (f"①①①①①①①①①①①①,00000012,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,11.30,13%,,正常", "invoice_code"),
        (f"011002300111,٠٠٠٠٠٠١٣,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,11.30,13%,,正常", "invoice_number"),
    ],
)
def test_bad_rows_are_rejected_with_row_column_and_reason_and_good_rows_land(beijing, row, column):
    report = import_file(
        company=beijing,
        kind=ImportKind.BACKUP,
        direction="issued",
        filename="b.csv",
        content=csv_rows(GOOD[0], row).encode(),
    )
    assert report.batch.rows_created == 1
    assert [(r.row, r.column) for r in report.rejected] == [(3, column)]
    assert report.batch.rejections.get().column == column


def test_rejection_reasons_are_chinese_by_default_and_english_on_request(beijing):
    row = f"011002300111,00000005,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,99.99,13%,,正常"
    with translation.override("zh-hans"):
        zh = import_file(
            company=beijing,
            kind=ImportKind.BACKUP,
            direction="issued",
            filename="a.csv",
            content=csv_rows(row).encode(),
        )
    with translation.override("en"):
        en = import_file(
            company=beijing,
            kind=ImportKind.BACKUP,
            direction="issued",
            filename="a.csv",
            content=csv_rows(row).encode(),
        )
    assert "价税合计" in zh.rejected[0].reason or "金额" in zh.rejected[0].reason
    assert "is not amount + tax" in en.rejected[0].reason


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"\x00\x01\x02garbage" * 10, "x.csv"),
        ("姓名,电话\n张三,123\n".encode(), "people.csv"),
        (b"PK\x03\x04not really a zip", "x.xlsx"),
        (b"plain text", "x.xlsx"),
    ],
)
def test_unreadable_files_are_refused_whole_and_store_nothing(beijing, content, filename):
    report = import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename=filename, content=content
    )
    assert report.batch.state == BatchState.FAILED
    assert report.batch.failure_reason
    assert Invoice.objects.count() == 0


def _platform_export() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "发票基础信息"
    sheet.append(
        [
            "序号",
            "发票代码",
            "发票号码",
            "数电发票号码",
            "销方识别号",
            "销方名称",
            "购方识别号",
            "购买方名称",
            "开票日期",
            "金额",
            "税额",
            "价税合计",
            "发票来源",
            "发票票种",
            "发票状态",
            "是否正数发票",
            "发票风险等级",
            "开票人",
            "备注",
        ]
    )
    sheet.append(
        [
            1,
            None,
            None,
            "26112000000000000001",
            SELLER,
            "北京华信",
            BUYER,
            "福州客户",
            "2026-11-18 10:15:00",
            0.1 + 0.2,
            0.04,
            0.34,
            "电子发票服务平台",
            "数电票（增值税专用发票）",
            "正常",
            "是",
            "正常",
            "李强",
            "",
        ]
    )
    sheet.append(
        ["合计", "-", "-", "-", None, None, None, None, None, 0.3, 0.04, 0.34, None, None, None, None, None, None, None]
    )
    workbook.create_sheet("信息汇总表")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_platform_export_xlsx_imports_as_tax_records_with_exact_cents(beijing):
    report = import_file(
        company=beijing,
        kind=ImportKind.TAX_EXPORT,
        direction="issued",
        filename="全量发票查询.xlsx",
        content=_platform_export(),
    )
    assert report.batch.state == BatchState.SUCCEEDED, report.batch.failure_reason
    assert (report.batch.rows_read, report.batch.rows_created) == (1, 1)  # the summary row is skipped
    record = TaxRecord.objects.get()
    assert record.invoice_key == "26112000000000000001"
    assert record.amount == Decimal("0.30")  # 0.1 + 0.2 from a float cell, no drift
    assert record.invoice_type == "digital_special"
    assert Invoice.objects.count() == 0


def test_command_prints_a_json_report(beijing, tmp_path, capsys):
    path = tmp_path / "b.csv"
    bad = f"011002300111,00000005,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,99.99,13%,,正常"
    path.write_bytes(csv_rows(*GOOD, bad).encode("gbk"))
    call_command("import_invoices", str(path), company=beijing.credit_code, kind="backup", json=True)
    report = json.loads(capsys.readouterr().out)
    assert report["created"] == 2 and report["updated"] == 0 and report["unchanged"] == 0
    assert report["rejected"] == 1
    assert [(r["row"], [x["column"] for x in r["reasons"]]) for r in report["rejected_rows"]] == [(4, ["价税合计"])]


def test_command_prints_a_line_per_file_then_per_rejected_row(beijing, tmp_path, capsys):
    path = tmp_path / "b.csv"
    bad = f"011002300111,00000005,2026-11-18,{SELLER},x,{BUYER},y,10.00,1.30,99.99,13%,,正常"
    path.write_bytes(csv_rows(*GOOD, bad).encode("gbk"))
    with translation.override("en"):
        call_command("import_invoices", str(path), company=beijing.credit_code, kind="backup")
    assert capsys.readouterr().out.splitlines() == [
        "b.csv: Succeeded · read 3 · created 2 · updated 0 · unchanged 0 · rejected rows 1",
        "  row 4: 价税合计: total 99.99 is not amount + tax (11.30)",
    ]


def test_command_fails_when_a_file_is_refused_whole(beijing, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"not a spreadsheet")
    with pytest.raises(CommandError):
        call_command("import_invoices", str(path), company=beijing.credit_code, kind="backup")


def test_command_names_a_missing_file_or_a_folder(beijing, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_invoices", str(tmp_path / "gone.csv"), company=beijing.credit_code, kind="backup")
    with pytest.raises(CommandError, match="is a folder"):
        call_command("import_invoices", str(tmp_path), company=beijing.credit_code, kind="backup")


def test_import_then_reconcile_finds_the_invoice_missing_from_the_tax_system(
    beijing, django_capture_on_commit_callbacks
):
    from recovery.models import Gap

    import_file(
        company=beijing, kind=ImportKind.BACKUP, direction="issued", filename="b.csv", content=csv_rows(*GOOD).encode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_file(
            company=beijing,
            kind=ImportKind.TAX_EXPORT,
            direction="issued",
            filename="t.csv",
            content=csv_rows(GOOD[0]).encode(),
        )
    kinds = set(Gap.objects.filter(company=beijing).values_list("kind", "gap_key"))
    assert ("only_in_books", "01100230011100000002") in kinds
