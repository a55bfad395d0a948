"""Exports a finance reader opens in Excel: their language, numbers that sum, dates that sort."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from recovery.reissue import pack
from tests.recovery.reissue.fixtures import draft, make_gaps

INTERNAL_CODES = ("only_in_books", "only_in_tax_system", "amount_mismatch", "acknowledged", "issued", "received")


def _gaps(beijing, monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    return make_gaps(beijing)


def test_gap_csv_speaks_chinese_with_names_not_codes(client_for, alice, beijing, monkeypatch):
    _gaps(beijing, monkeypatch)
    text = client_for(alice).get(reverse("recovery:recovery-gap-export-csv")).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:7] == ["公司", "方向", "类型", "发票号码", "开票日期", "风险金额", "状态"]
    first = rows[1]
    assert first[0] == "北京华信科技有限公司"  # the name, not the credit code
    assert first[1] == "销项（开具）" and first[2] == "仅在我方账簿" and first[6] == "待处理"
    assert first[4] == "2026-11-10" and first[5] in {"113.00", "226.00", "339.00"}
    assert "税务系统" in first[-1] and "Rules" not in first[-1]  # the explanation in the reader's language
    for code in (*INTERNAL_CODES, "open"):
        assert code not in {cell for row in rows for cell in row}
    assert "91110108MA01B2C3D0" not in text


def test_gap_xlsx_has_numbers_dates_widths_a_frozen_header_and_totals(client_for, alice, beijing, monkeypatch):
    _gaps(beijing, monkeypatch)
    content = client_for(alice).get(reverse("recovery:recovery-gap-export-xlsx")).content
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "公司" and ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width >= 20 and ws.column_dimensions["K"].width >= 40
    body = rows[1:-1]
    assert len(body) == 3
    assert all(isinstance(r[5], (int, float)) for r in body)  # amounts Excel can sum
    assert all(isinstance(r[4], datetime) and r[4].date() == date(2026, 11, 10) for r in body)
    assert ws.cell(row=2, column=6).number_format == "#,##0.00"
    assert ws.cell(row=2, column=5).number_format == "yyyy-mm-dd"
    totals = rows[-1]
    assert totals[0] == "合计（3 行）" and Decimal(str(totals[5])) == Decimal("678.00")
    assert not {c for r in rows for c in r if isinstance(c, str)} & set(INTERNAL_CODES)


def test_an_english_reader_gets_english_headers(client_for, alice, beijing, monkeypatch):
    _gaps(beijing, monkeypatch)
    client = client_for(alice)
    client.cookies["django_language"] = "en"
    text = client.get(reverse("recovery:recovery-gap-export-csv"), HTTP_ACCEPT_LANGUAGE="en").content.decode(
        "utf-8-sig"
    )
    header, first = list(csv.reader(io.StringIO(text)))[:2]
    assert header[:3] == ["Company", "Direction", "Kind"]
    assert first[2] == "Only in our books" and first[6] == "Open"


def test_the_reissue_packs_sheet_is_headed_in_chinese_and_totalled(alice, beijing, monkeypatch):
    gaps = _gaps(beijing, monkeypatch)
    req = draft(beijing, alice, gaps)
    with translation.override("zh-hans"):  # as the pack view renders it for a Chinese reader
        ws = load_workbook(io.BytesIO(pack.request_xlsx(req))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("发票号码", "发票代码", "发票号码（8位）", "开票日期")
    assert ws.freeze_panes == "A2"
    assert rows[-1][0] == "合计（3 行）" and Decimal(str(rows[-1][8])) == Decimal("678.00")
    assert isinstance(rows[1][3], datetime)


def test_rejected_rows_csv_is_headed_in_the_readers_language(client_for, alice, beijing):
    from invoices.models import ImportBatch, ImportRejection

    batch = ImportBatch.objects.create(company=beijing, kind="backup", direction="issued", original_name="a.csv")
    ImportRejection.objects.create(batch=batch, row=4, column="total", reason="金额不是数字")
    text = client_for(alice).get(reverse("invoices:import-rejections-csv", args=[batch.pk])).content.decode("utf-8-sig")
    assert text.splitlines()[0] == "行,列,原因"
