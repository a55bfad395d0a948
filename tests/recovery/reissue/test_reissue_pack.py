"""The evidence pack: a PDF with a Chinese text layer, an XLSX of the invoices, a print view."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from notices.models import Incident, IncidentUpdate, TaxSystem
from recovery.reissue import pack, services
from tests.recovery.reissue.fixtures import PDF_BYTES, application, draft

pytestmark = pytest.mark.usefixtures("messages_in_english")


@pytest.fixture
def incident(db):
    system = TaxSystem.objects.filter(region="北京").first() or TaxSystem.objects.create(
        region="北京", name="增值税发票管理系统", slug="bj-vat-test"
    )
    start = timezone.now() - timedelta(days=6)
    incident = Incident.objects.create(
        system=system,
        title="北京数据同步故障",
        started_at=start,
        ended_at=start + timedelta(hours=30),
        state="resolved",
        impact_summary="部分发票未同步到税务系统",
    )
    IncidentUpdate.objects.create(
        incident=incident,
        state="identified",
        body_markdown="已定位为数据同步故障",
        posted_at=start + timedelta(hours=2),
    )
    return incident


@pytest.fixture
def request_with_incident(beijing, alice, gaps, incident):
    req = draft(beijing, alice, gaps, incident=incident, contact_name="王经理", counterparty_name="上海客户有限公司")
    services.reissue_evidence_add(request=req, user=alice, name="合同.pdf", content=PDF_BYTES, kind="contract")
    return req


def test_pdf_opens_and_its_text_layer_has_the_chinese(client_for, alice, request_with_incident, tmp_path):
    response = client_for(alice).get(reverse("recovery:reissue-request-pdf", args=[request_with_incident.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in (
        "北京华信科技有限公司",
        "北京数据同步故障",
        "已定位为数据同步故障",
        "上海客户有限公司",
        "110023113000000001",
        "678.00",
    ):
        assert expected in text, expected
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts
    if shutil.which("pdftoppm"):
        pdf = tmp_path / "pack.pdf"
        pdf.write_bytes(response.content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
        )
        png = next(tmp_path.glob("page*.png"))
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 1000


def test_pdf_embeds_the_cjk_truetype_font_when_installed(request_with_incident):
    if pack._find_cjk_font_file() is None:
        pytest.skip("no CJK TrueType font installed")
    reader = PdfReader(io.BytesIO(pack.request_pdf(request_with_incident)))
    embedded = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        for part in [font, *[d.get_object() for d in font.get("/DescendantFonts", [])]]:
            descriptor = part.get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                embedded.append(str(font["/BaseFont"]))
    assert embedded, "no embedded TrueType font"


def test_a_latin_font_is_never_taken_for_the_chinese_one(monkeypatch, tmp_path):
    """fontconfig names its nearest font when none has Chinese glyphs (DejaVu on a bare Debian): the
    pack would then print every Chinese character as an empty box, with nothing in its text layer."""
    latin = tmp_path / "DejaVuSans.ttf"
    latin.write_bytes(b"not Chinese")
    chinese = tmp_path / "wqy-microhei.ttc"
    chinese.write_bytes(b"Chinese")

    def font_tools(with_chinese: bool):
        def run(argv, **kwargs):
            listed = f"{chinese}\n" if with_chinese and argv[0] == "fc-list" else ""
            answer = str(latin) if argv[0] == "fc-match" else listed
            return subprocess.CompletedProcess(argv, 0, stdout=answer, stderr="")

        return run

    monkeypatch.setattr(pack, "KNOWN_CJK_FONTS", [])
    monkeypatch.setattr(pack.subprocess, "run", font_tools(with_chinese=False))
    assert pack._find_cjk_font_file() is None
    monkeypatch.setattr(pack.subprocess, "run", font_tools(with_chinese=True))
    assert pack._find_cjk_font_file() == str(chinese)


def test_font_falls_back_to_the_builtin_cid_font_with_a_warning(monkeypatch, caplog, request_with_incident):
    monkeypatch.setattr(pack, "_find_cjk_font_file", lambda: None)
    pack.cjk_font.cache_clear()
    try:
        assert pack.cjk_font() == "STSong-Light"
        assert "fonts-wqy-microhei" in caplog.text
        assert pack.request_pdf(request_with_incident).startswith(b"%PDF")
    finally:
        pack.cjk_font.cache_clear()


def test_xlsx_lists_the_invoices_with_totals(request_with_incident):
    ws = load_workbook(io.BytesIO(pack.request_xlsx(request_with_incident))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Invoice number" and len(rows) == 5  # header, three invoices, totals
    assert sum(r[8] for r in rows[1:-1]) == 678 and rows[-1][8] == 678


def test_xlsx_keeps_a_formula_looking_name_as_text(request_with_incident):
    request_with_incident.items.update(counterparty_name="=HYPERLINK(1)")
    ws = load_workbook(io.BytesIO(pack.request_xlsx(request_with_incident))).active
    assert {row[4] for row in list(ws.iter_rows(values_only=True))[1:-1]} == {"'=HYPERLINK(1)"}


def test_print_view_shows_company_incident_timeline_and_totals(client_for, fiona, request_with_incident):
    html = (
        client_for(fiona)
        .get(reverse("recovery:reissue-request-print", args=[request_with_incident.pk]))
        .content.decode()
    )
    for expected in (
        "北京华信科技有限公司",
        "北京数据同步故障",
        "已定位为数据同步故障",
        "678.00",
        "合同.pdf",
        "data-print",  # the print button (bound by static/js/print.js)
    ):
        assert expected in html


def test_deferred_filing_pdf_has_the_incident_timeline(client_for, beijing, alice, incident):
    from datetime import date

    filing = application(
        beijing,
        alice,
        period=date(2026, 11, 1),
        deadline=date(2026, 12, 15),
        reason="税务系统故障，无法按期申报",
        incident=incident,
    )
    response = client_for(alice).get(reverse("recovery:deferred-filing-pdf", args=[filing.pk]))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "税务系统故障" in text and "已定位为数据同步故障" in text
