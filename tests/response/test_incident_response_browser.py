"""In a real browser, the Beijing playbook: an accountant imports the order list, reconciliation finds
invoices lost from both sides, she starts the company's response, pauses invoicing (every member sees
it), asks the customer for copies, receives the e-invoice file back, and accepts another lost invoice
into a reissue request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from invoices.models import Direction, Invoice
from notices import services as notices
from notices.models import TaxSystem
from recovery import services as recovery
from recovery.models import Gap, GapKind
from response import services
from response.models import CounterpartyRequest, IncidentResponse, RequestState
from tests.invoices.einvoices import BUYER, DIGITAL_NUMBER, einvoice_xml

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/hh")


def _orders_csv() -> bytes:
    day = timezone.localdate() - timedelta(days=1)
    rows = [
        "订单编号,订单日期,客户名称,纳税人识别号,金额,税率,税额,价税合计,发票号码",
        f"SO-001,{day},{BUYER[1]},{BUYER[0]},1000.00,13%,130.00,1130.00,{DIGITAL_NUMBER}",
        f"SO-002,{day},{BUYER[1]},{BUYER[0]},2000.00,13%,260.00,2260.00,",
        f"SO-003,{day},天津滨海物流有限公司,91120116MA05JQ8W27,500.00,6%,30.00,530.00,",
        f"SO-004,昨天,{BUYER[1]},{BUYER[0]},1.00,13%,,,",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("gbk")


def test_the_beijing_playbook_in_the_browser(page, login, beijing, alice, fiona, monkeypatch, tmp_path):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)
    cache.set(services.PAUSED_CACHE_KEY, [])
    SHOTS.mkdir(exist_ok=True)
    # Transactional tests flush the tables, seeded rows included: bring the one we need back.
    beijing_vat, _ = TaxSystem.objects.get_or_create(
        slug="beijing-vat-invoice",
        defaults={"region": "北京", "name": "增值税发票管理系统", "functions": ["issue", "query", "certify"]},
    )
    incident = notices.incident_open(
        system=beijing_vat,
        title="北京增值税发票系统数据同步故障",
        functions=["issue"],
        started_at=timezone.now() - timedelta(days=2),
        message="数据同步异常",
    )
    base = page.base_url
    login(alice)

    # 1. The order list (GBK, Chinese headers) goes in with a row-level report.
    page.goto(f"{base}/response/orders/import/")
    page.select_option("select[name=company]", str(beijing.pk))
    page.set_input_files(
        "input[name=files]", files=[{"name": "销售订单.csv", "mimeType": "text/csv", "buffer": _orders_csv()}]
    )
    page.click("#order-import-form button[type=submit]")
    page.wait_for_selector("#rejection-table")
    assert "SO-004" not in page.content() and page.locator("#rejection-table tbody tr").count() >= 1

    # 2. Reconciliation finds the orders no invoice covers on either side.
    run = recovery.reconciliation_run_create(company=beijing, direction=Direction.ISSUED, enqueue=False)
    recovery.reconciliation_run_execute(run_id=run.pk)
    assert Gap.objects.filter(kind=GapKind.ONLY_IN_ORDERS).count() == 3
    page.goto(f"{base}/response/orders/")
    assert page.locator("#proposal-table tbody tr[data-order]").count() == 3
    page.screenshot(path=str(SHOTS / "orders.png"), full_page=True)

    # 3. The response: start it, tick a step with a note, pause invoicing.
    page.goto(f"{base}/response/")
    page.click("#waiting-table button")
    page.wait_for_selector("#checklist")
    step = page.locator('#checklist li[data-step="check_backups"]')
    step.locator("input[name=note]").fill("本地备份完整")
    step.locator("button[name=done]").click()
    page.wait_for_selector('#checklist li[data-step="check_backups"][data-done="1"]')
    page.fill("#pause-form input[name=reason]", "等待税务局确认故障范围")
    page.click("#pause-form button")
    page.wait_for_selector("#invoicing-paused")
    assert page.locator('#checklist li[data-step="pause_invoicing"][data-done="1"]').count() == 1

    # 4. Ask the Fuzhou customer for copies of its two lost invoices.
    for gap in Gap.objects.filter(order__counterparty_tax_id=BUYER[0]):
        page.check(f'#response-gaps input[value="{gap.pk}"]')
    page.click("#prepare-requests")
    page.wait_for_selector("#letter")
    assert "福州闽江贸易有限公司" in page.locator("#letter").inner_text()
    page.screenshot(path=str(SHOTS / "request.png"), full_page=True)
    page.fill("#send-email", "finance@minjiang.example")
    page.click("#send-form button")
    page.wait_for_selector("#copy-form")
    assert [m.to for m in mail.outbox] == [["finance@minjiang.example"]]
    xml = tmp_path / "发票.xml"
    xml.write_bytes(einvoice_xml())
    page.set_input_files("#copy-form input[type=file]", str(xml))
    page.click("#copy-form button")
    page.wait_for_selector("#request-items .received a")
    assert CounterpartyRequest.objects.get().state == RequestState.RECEIVED
    assert Invoice.objects.filter(invoice_key=DIGITAL_NUMBER).exists()

    # 5. The last lost invoice goes into a reissue request.
    page.goto(f"{base}/response/orders/")
    page.locator('#proposal-table tr[data-order="SO-003"] button[value=reissue]').click()
    page.wait_for_url("**/recovery/reissue/**")

    # 6. A colleague in finance sees the pause in every page header, in Chinese.
    page.click("#logout")
    page.wait_for_url("**/accounts/login/**")
    login(fiona)
    page.goto(f"{base}/invoices/")
    banner = page.locator("#invoicing-paused").inner_text()
    assert "已暂停开票" in banner and "等待税务局确认故障范围" in banner
    response = IncidentResponse.objects.get()
    page.goto(f"{base}/response/{response.pk}/")
    page.screenshot(path=str(SHOTS / "response.png"), full_page=True)
    assert page.locator("#timeline li").count() >= 4
    cache.set(services.PAUSED_CACHE_KEY, [])
    assert incident.pk == response.incident_id
