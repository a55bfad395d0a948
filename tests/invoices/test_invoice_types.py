"""Every invoice type the national platform exports, read from the labels files really carry.

Labels come with the platform's renames (全电 → 数电 → 电子发票), either width of brackets, spaces and
the platform's type codes; the portal's own labels, in both languages, import back; an unknown label
is refused naming the closest types. Received-invoice exports hold travel and toll invoices, which
lack fields other invoices have: they import as the platform exports them.
"""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import Workbook

from invoices.imports.parsers import clean_invoice_type
from invoices.imports.services import import_file
from invoices.invoice_types import lookup, normalise_label
from invoices.models import PLATFORM_CODES, BatchState, ImportKind, Invoice, InvoiceType, TaxRecord
from outage_portal.validators import credit_code_check_character

pytestmark = pytest.mark.django_db

OURS = "91110108MA01B2C3D0"  # the Beijing company of the fixtures
CUSTOMER = "91350100M000100Y43"


def credit_code(first17: str) -> str:
    return first17 + credit_code_check_character(first17)


RAILWAY = credit_code("91110000717825966")  # a railway group's credit code
AIRLINE = credit_code("91110000710930245")
HIGHWAY = credit_code("91320000134780321")
DEALER = credit_code("91110105MA00ABCDE")
HEADER = "发票代码,发票号码,数电发票号码,开票日期,销方识别号,销方名称,购方识别号,购买方名称,金额,税额,价税合计,税率,发票票种,发票状态"  # noqa: E501


def digital(serial: int) -> str:
    return f"2511200000000{serial:07d}"


def issued_row(serial: int, label: str) -> str:
    return (
        f",,{digital(serial)},2025-03-01 09:30:00,{OURS},北京华信科技有限公司,{CUSTOMER},福州闽江贸易有限公司,"
        f"1000.00,130.00,1130.00,13%,{label},正常"
    )


def import_csv(company, rows: list[str], *, encoding="gbk", kind=ImportKind.BACKUP, direction="issued"):
    content = ("\r\n".join([HEADER, *rows]) + "\r\n").encode(encoding)
    return import_file(company=company, kind=kind, direction=direction, filename="备份.csv", content=content)


# --- labels -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("数电发票（增值税专用发票）", InvoiceType.DIGITAL_SPECIAL),
        ("电子发票(增值税专用发票)", InvoiceType.DIGITAL_SPECIAL),
        ("电子发票（增值税专用发票）", InvoiceType.DIGITAL_SPECIAL),
        ("全电发票（增值税专用发票）", InvoiceType.DIGITAL_SPECIAL),
        ("数电票（增值税专用发票）", InvoiceType.DIGITAL_SPECIAL),
        ("数电专票", InvoiceType.DIGITAL_SPECIAL),
        (" 数电发票 ( 增值税专用发票 ) ", InvoiceType.DIGITAL_SPECIAL),
        ("全电发票（普通发票）", InvoiceType.DIGITAL_ORDINARY),
        ("数电票(普通发票)", InvoiceType.DIGITAL_ORDINARY),
        ("电子发票（普通发票）", InvoiceType.DIGITAL_ORDINARY),
        ("数电普票", InvoiceType.DIGITAL_ORDINARY),
        ("增值税专用发票", InvoiceType.SPECIAL),
        ("增值税普通发票", InvoiceType.ORDINARY),
        ("增值税电子专用发票", InvoiceType.E_SPECIAL),
        ("增值税电子普通发票", InvoiceType.E_ORDINARY),
        ("增值税普通发票（卷票）", InvoiceType.ROLL),
        ("增值税普通发票(卷式)", InvoiceType.ROLL),
        ("增值税电子普通发票（通行费）", InvoiceType.TOLL),
        ("通行费电子普通发票", InvoiceType.TOLL),
        ("机动车销售统一发票", InvoiceType.MOTOR_VEHICLE),
        ("二手车销售统一发票", InvoiceType.USED_VEHICLE),
        ("电子发票（机动车销售统一发票）", InvoiceType.DIGITAL_MOTOR_VEHICLE),
        ("数电发票(二手车销售统一发票)", InvoiceType.DIGITAL_USED_VEHICLE),
        ("纸质发票（增值税专用发票）", InvoiceType.DIGITAL_PAPER_SPECIAL),
        ("纸质发票（普通发票）", InvoiceType.DIGITAL_PAPER_ORDINARY),
        ("电子发票（铁路电子客票）", InvoiceType.RAILWAY_TICKET),
        ("数电票（铁路电子客票）", InvoiceType.RAILWAY_TICKET),
        ("铁路电子客票", InvoiceType.RAILWAY_TICKET),
        ("电子发票（航空运输电子客票行程单）", InvoiceType.AIR_ITINERARY),
        ("航空运输电子客票行程单", InvoiceType.AIR_ITINERARY),
    ],
)
def test_labels_in_every_spelling_the_platform_and_tools_use_resolve(label, expected):
    assert lookup(label) == expected


def test_the_prefix_of_a_digital_invoice_is_never_dropped_into_a_paper_type():
    # Without its prefix "电子发票（增值税专用发票）" would read as the paper 增值税专用发票.
    assert lookup("电子发票（增值税专用发票）") != lookup("增值税专用发票")
    assert normalise_label("电子发票（普通发票）") == normalise_label("数电发票(普通发票)")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("01", InvoiceType.SPECIAL),
        ("1", InvoiceType.SPECIAL),  # a spreadsheet dropped the zero
        ("03", InvoiceType.MOTOR_VEHICLE),
        ("04", InvoiceType.ORDINARY),
        ("08", InvoiceType.E_SPECIAL),
        ("10", InvoiceType.E_ORDINARY),
        ("11", InvoiceType.ROLL),
        ("14", InvoiceType.TOLL),
        ("15", InvoiceType.USED_VEHICLE),
        ("51", InvoiceType.RAILWAY_TICKET),
        ("61", InvoiceType.AIR_ITINERARY),
        ("81", InvoiceType.DIGITAL_SPECIAL),
        ("82.0", InvoiceType.DIGITAL_ORDINARY),  # through a float
        ("83", InvoiceType.DIGITAL_MOTOR_VEHICLE),
        ("84", InvoiceType.DIGITAL_USED_VEHICLE),
        ("85", InvoiceType.DIGITAL_PAPER_SPECIAL),
        ("86", InvoiceType.DIGITAL_PAPER_ORDINARY),
    ],
)
def test_the_platforms_type_codes_resolve(code, expected):
    assert lookup(code) == expected


def test_every_type_has_a_platform_code_and_codes_are_distinct():
    assert set(PLATFORM_CODES) == set(InvoiceType.values)
    assert len(set(PLATFORM_CODES.values())) == len(PLATFORM_CODES)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_label_the_portal_displays_imports_back(beijing, client_for, alice, language):
    """Each type, shown by the invoice list in either language, imported from what it shows."""
    for serial, kind in enumerate(InvoiceType, start=1):
        Invoice.objects.create(
            company=beijing, direction="issued", invoice_key=digital(serial), digital_number=digital(serial),
            issue_date="2025-03-01", seller_tax_id=OURS, amount=Decimal("1000.00"), tax=Decimal("130.00"),
            total=Decimal("1130.00"), invoice_type=kind.value,
        )  # fmt: skip
    page = client_for(alice).get("/invoices/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    with translation.override(language):
        shown = {kind.value: str(kind.label) for kind in InvoiceType}
    for label in shown.values():
        assert label in page
    Invoice.objects.all().delete()
    with translation.override(language):
        report = import_csv(beijing, [issued_row(n, shown[k.value]) for n, k in enumerate(InvoiceType, 1)])
    assert report.batch.state == BatchState.SUCCEEDED, report.rejected
    stored = dict(Invoice.objects.values_list("invoice_key", "invoice_type"))
    assert stored == {digital(n): kind.value for n, kind in enumerate(InvoiceType, start=1)}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ["未知发票票种“数电发票（专用）”", "最接近的已知票种", "数电发票（增值税专用发票）"]),
        ("en", ["unknown invoice type “数电发票（专用）”", "closest known types", "Digital special invoice"]),
    ],
)
def test_an_unknown_label_is_refused_naming_the_closest_types(language, expected):
    with translation.override(language):
        value, problem = clean_invoice_type("数电发票（专用）", default_type=InvoiceType.DIGITAL_ORDINARY)
    assert value is None
    for part in expected:
        assert part in problem


def test_an_unknown_label_in_a_file_rejects_its_row_with_the_suggestion(beijing):
    with translation.override("zh-hans"):
        report = import_csv(beijing, [issued_row(1, "数电发票（增值税专用发票）"), issued_row(2, "增值税专票")])
    assert report.batch.rows_created == 1 and report.batch.rows_rejected == 1
    (row,) = report.rejected_rows
    assert row["row"] == 3 and row["reasons"][0]["column"] == "发票票种"
    assert "增值税专用发票" in row["reasons"][0]["reason"]


def test_a_half_digital_backup_labelled_as_common_tools_write_imports_whole(beijing):
    labels = ["数电发票（增值税专用发票）", "增值税专用发票", "数电发票（普通发票）", "增值税电子普通发票"]
    rows = [issued_row(n, labels[n % len(labels)]) for n in range(1, 41)]
    report = import_csv(beijing, rows)
    assert (report.batch.rows_created, report.batch.rows_rejected) == (40, 0)
    assert Invoice.objects.filter(invoice_type=InvoiceType.DIGITAL_SPECIAL).count() == 10


# --- received invoices: travel and toll --------------------------------------------------------------
RECEIVED = [
    # A supplier's 数电 special invoice.
    f",,{digital(1)},2025-03-03 10:12:45,{DEALER},北京汽车销售有限公司,{OURS},北京华信科技有限公司,"
    "1000.00,130.00,1130.00,13%,数电发票（增值税专用发票）,正常",
    # A railway e-ticket: the carrier's ID left empty, as the export leaves it for some.
    f",,{digital(2)},2025-03-04 08:01:12,,中国铁路北京局集团有限公司,{OURS},北京华信科技有限公司,"
    "504.59,45.41,550.00,9%,电子发票（铁路电子客票）,正常",
    # Another with the railway's ID.
    f",,{digital(3)},2025-03-05 18:20:00,{RAILWAY},中国铁路上海局集团有限公司,{OURS},北京华信科技有限公司,"
    "229.36,20.64,250.00,9%,电子发票（铁路电子客票）,正常",
    # An air itinerary: its total also carries the development fund (50.00), which bears no VAT.
    f",,{digital(4)},2025-03-06 07:45:00,{AIRLINE},中国国际航空股份有限公司,{OURS},北京华信科技有限公司,"
    "1009.17,90.83,1150.00,9%,电子发票（航空运输电子客票行程单）,正常",
    # A toll invoice that bears VAT, with an invoice code and number.
    f"032002400111,10000001,,2025-03-07 12:00:00,{HIGHWAY},江苏京沪高速公路有限公司,{OURS},北京华信科技有限公司,"
    "97.09,2.91,100.00,3%,增值税电子普通发票（通行费）,正常",
    # A toll invoice without VAT (不征税): the tax printed as stars.
    f"032002400111,10000002,,2025-03-07 12:30:00,{HIGHWAY},江苏京沪高速公路有限公司,{OURS},北京华信科技有限公司,"
    "35.00,***,35.00,不征税,通行费电子普通发票,正常",
    # A motor vehicle invoice bought by the company.
    f"011002400222,00001234,,2025-03-08 15:00:00,{DEALER},北京汽车销售有限公司,{OURS},北京华信科技有限公司,"
    "150000.00,19500.00,169500.00,13%,机动车销售统一发票,正常",
]


def test_a_received_gbk_export_with_travel_and_toll_invoices_imports_every_row(beijing):
    report = import_csv(beijing, RECEIVED, kind=ImportKind.TAX_EXPORT, direction="received")
    assert report.batch.state == BatchState.SUCCEEDED, report.rejected
    assert (report.batch.rows_read, report.batch.rows_created, report.batch.rows_rejected) == (7, 7, 0)
    records = {r.invoice_key: r for r in TaxRecord.objects.filter(company=beijing, direction="received")}
    railway = records[digital(2)]
    assert railway.invoice_type == InvoiceType.RAILWAY_TICKET and railway.seller_tax_id == ""
    air = records[digital(4)]
    assert air.invoice_type == InvoiceType.AIR_ITINERARY
    assert (air.amount, air.tax, air.total) == (Decimal("1009.17"), Decimal("90.83"), Decimal("1100.00"))
    toll = records["03200240011110000002"]
    assert toll.invoice_type == InvoiceType.TOLL and toll.tax == Decimal("0.00") and toll.tax_rate is None
    assert records["01100240022200001234"].invoice_type == InvoiceType.MOTOR_VEHICLE


def test_a_missing_seller_id_still_rejects_an_ordinary_invoice(beijing):
    row = RECEIVED[0].replace(DEALER, "", 1)
    report = import_csv(beijing, [row], kind=ImportKind.TAX_EXPORT, direction="received")
    assert report.batch.state == BatchState.REJECTED
    assert report.rejected_rows[0]["reasons"][0]["column"] == "销方识别号"


def test_a_person_buying_a_car_is_named_by_an_identity_card_number(beijing):
    row = (
        f"011002400222,00001235,,2025-03-08 15:00:00,{OURS},北京华信科技有限公司,11010519491231002X,张三,"
        "150000.00,19500.00,169500.00,13%,机动车销售统一发票,正常"
    )
    report = import_csv(beijing, [row])
    assert report.batch.rows_created == 1, report.rejected
    assert Invoice.objects.get().buyer_tax_id == "11010519491231002X"


PLATFORM_HEADER = [
    "序号", "发票代码", "发票号码", "数电发票号码", "销方识别号", "销方名称", "购方识别号", "购买方名称", "开票日期",
    "金额", "税额", "价税合计", "发票来源", "发票票种", "发票状态", "是否正数发票", "发票风险等级", "开票人", "备注",
]  # fmt: skip


def platform_xlsx(rows: list[list]) -> bytes:
    """A workbook shaped like the platform's 全量发票查询 export: a title line, the header, the rows, a
    summary line, and a second sheet of line items."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "发票基础信息"
    sheet.append(["取得发票（全量发票查询导出）"])
    sheet.append(PLATFORM_HEADER)
    for number, row in enumerate(rows, start=1):
        sheet.append([number, *row])
    sheet.append(["合计", "-", "-", "-", "", "", "", "", "", 2000, 100, 2100])
    workbook.create_sheet("发票明细信息").append(["数电发票号码", "货物或应税劳务名称"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_platforms_received_xlsx_export_with_travel_invoices_imports(beijing):
    at = datetime(2025, 3, 4, 8, 1, 12)
    rows = [
        ["", "", digital(11), "", "中国铁路北京局集团有限公司", OURS, "北京华信科技有限公司", at,
         504.59, 45.41, 550, "电子发票服务平台", "电子发票（铁路电子客票）", "正常", "是", "正常", "", ""],
        ["", "", digital(12), AIRLINE, "中国国际航空股份有限公司", OURS, "北京华信科技有限公司", at,
         1009.17, 90.83, 1150, "电子发票服务平台", "电子发票（航空运输电子客票行程单）", "正常", "是", "正常", "", ""],
        ["", "", digital(13), DEALER, "北京汽车销售有限公司", OURS, "北京华信科技有限公司", at,
         1000, 130, 1130, "电子发票服务平台", "数电发票（增值税专用发票）", "正常", "是", "正常", "王会计", ""],
        ["032002400111", "10000003", "", HIGHWAY, "江苏京沪高速公路有限公司", OURS, "北京华信科技有限公司", at,
         97.09, 2.91, 100, "增值税发票管理系统", "增值税电子普通发票（通行费）", "正常", "是", "正常", "", ""],
    ]  # fmt: skip
    report = import_file(
        company=beijing,
        kind=ImportKind.TAX_EXPORT,
        direction="received",
        filename="全量发票查询.xlsx",
        content=platform_xlsx(rows),
    )
    assert report.batch.state == BatchState.SUCCEEDED, report.rejected
    assert (report.batch.rows_created, report.batch.rows_rejected) == (4, 0)
    types = dict(TaxRecord.objects.values_list("invoice_key", "invoice_type"))
    assert types == {
        digital(11): InvoiceType.RAILWAY_TICKET,
        digital(12): InvoiceType.AIR_ITINERARY,
        digital(13): InvoiceType.DIGITAL_SPECIAL,
        "03200240011110000003": InvoiceType.TOLL,
    }
    assert report.batch.columns["invoice_type"] == "发票票种"


def test_statuses_as_the_platform_words_them_and_invoices_at_several_rates_import(beijing):
    rows = [
        issued_row(1, "数电发票（增值税专用发票）").replace(",正常", ",已红冲-部分"),
        issued_row(2, "数电发票（增值税专用发票）").replace(",正常", ",已红冲-全额"),
        issued_row(3, "数电发票（普通发票）").replace(",正常", ",已作废"),
        issued_row(4, "数电发票（普通发票）").replace(",13%,", ",13%、6%,"),
    ]
    report = import_csv(beijing, rows)
    assert report.batch.rows_created == 4, report.rejected
    stored = dict(Invoice.objects.values_list("invoice_key", "status"))
    assert [stored[digital(n)] for n in (1, 2, 3)] == ["red_letter", "red_letter", "voided"]
    assert Invoice.objects.get(invoice_key=digital(4)).tax_rate is None


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("数电航空运输电子客票行程单", InvoiceType.AIR_ITINERARY),
        ("数电票（航空运输电子客票行程单）", InvoiceType.AIR_ITINERARY),
        ("全电发票（铁路电子客票）", InvoiceType.RAILWAY_TICKET),
        ("机动车销售电子统一发票", InvoiceType.DIGITAL_MOTOR_VEHICLE),
        ("收费公路通行费增值税电子普通发票", InvoiceType.TOLL),
        ("ｄｉｇｉｔａｌ＿ｓｐｅｃｉａｌ", InvoiceType.DIGITAL_SPECIAL),  # full-width
    ],
)
def test_further_spellings_resolve(label, expected):
    assert lookup(label) == expected


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_status_labels_the_portal_displays_import_back(language):
    from invoices.imports.parsers import clean_status
    from invoices.models import InvoiceStatus

    with translation.override(language):
        for status in InvoiceStatus:
            assert clean_status(str(status.label)) == (status.value, "")
