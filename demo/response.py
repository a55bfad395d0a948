"""Demo: the Beijing company's response to the data-sync fault, in progress.

Its order list for the two outage days is imported: most orders are covered by invoices in our books,
three have no invoice on either side (lost from both), which reconciliation then shows. The response
has its first steps ticked and invoicing paused; one customer was asked for copies and answered with
an e-invoice XML file, imported into our books. Idempotent: nothing is added twice.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

ORDERS_FILE = "销售订单-故障期间.csv"
# (customer index, amount, note): the orders whose invoices vanished from both sides.
LOST = [(0, Decimal("8765.40"), "SO-L1"), (0, Decimal("12600.00"), "SO-L2"), (3, Decimal("4321.00"), "SO-L3")]
LOST_NUMBER_DIGITS = "99000001"  # the lost invoice the customer sends back names this number


def _lost_invoice_number(day) -> str:
    return f"{day:%y}112000{day:%m%d}{LOST_NUMBER_DIGITS}"


def _orders_csv(today) -> bytes:
    from demo.foundation import beijing_outage_window
    from demo.invoices import CUSTOMERS, _customer_code, demo_invoices

    start, end = beijing_outage_window()
    days = {start.date(), end.date()}
    rows = []
    for n, invoice in enumerate(i for i in demo_invoices("bj", today=today) if i.issued_at.date() in days):
        r = invoice.record
        number = r["digital_number"] if n % 3 == 0 else ""  # some order lines name their invoice
        rows.append(
            [f"SO-{invoice.issued_at:%Y%m%d}-{n + 1:03d}", invoice.issued_at.date().isoformat(), r["buyer_name"],
             r["buyer_tax_id"], r["amount"], "13%", r["tax"], r["total"], number]
        )  # fmt: skip
    day = start.date()
    for index, amount, suffix in LOST:
        tax = (amount * Decimal("0.13")).quantize(Decimal("0.01"))
        number = _lost_invoice_number(day) if suffix == "SO-L1" else ""
        rows.append(
            [f"SO-{day:%Y%m%d}-{suffix}", day.isoformat(), CUSTOMERS[index], _customer_code(index), f"{amount}",
             "13%", f"{tax}", f"{amount + tax}", number]
        )  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["订单编号", "订单日期", "客户名称", "纳税人识别号", "金额", "税率", "税额", "价税合计", "发票号码"]
    )
    writer.writerows(rows)
    return out.getvalue().encode("gbk")  # as Excel saves it on Chinese Windows


def _einvoice_xml(*, number: str, issued_at, seller, buyer, amount: Decimal) -> bytes:
    tax = (amount * Decimal("0.13")).quantize(Decimal("0.01"))
    stamp = issued_at.strftime("%Y-%m-%d %H:%M:%S")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EInvoice>
  <Header><EIid>{number}</EIid>
    <InherentLabel><EInvoiceType><LabelCode>01</LabelCode><LabelName>增值税专用发票</LabelName></EInvoiceType></InherentLabel>
  </Header>
  <EInvoiceData>
    <SellerInformation><SellerIdNum>{seller[0]}</SellerIdNum><SellerName>{seller[1]}</SellerName></SellerInformation>
    <BuyerInformation><BuyerIdNum>{buyer[0]}</BuyerIdNum><BuyerName>{buyer[1]}</BuyerName></BuyerInformation>
    <BasicInformation><TotalAmWithoutTax>{amount}</TotalAmWithoutTax><TotalTaxAm>{tax}</TotalTaxAm>
      <TotalTax-includedAmount>{amount + tax}</TotalTax-includedAmount>
      <RequestTime>{stamp}</RequestTime></BasicInformation>
    <IssuItemInformation><ItemName>*电子设备*工控机</ItemName><Amount>{amount}</Amount><TaxRate>0.13</TaxRate>
      <ComTaxAm>{tax}</ComTaxAm></IssuItemInformation>
  </EInvoiceData>
  <TaxSupervisionInfo><InvoiceNumber>{number}</InvoiceNumber><IssueTime>{stamp}</IssueTime></TaxSupervisionInfo>
</EInvoice>
""".encode()


def load(stdout) -> None:
    import hashlib

    from demo.foundation import beijing_outage_window, demo_company
    from demo.invoices import CUSTOMERS, _customer_code, demo_today
    from demo.reissue import _beijing_incident
    from invoices.imports.orders import orders_import
    from invoices.models import Direction, ImportBatch, ImportKind
    from outage_portal.models import User
    from recovery.models import Gap, GapKind, GapStatus
    from recovery.periods import default_period
    from recovery.services import reconciliation_run_create, reconciliation_run_execute
    from response import services
    from response.models import IncidentResponse, Step

    company = demo_company("bj")
    accountant = User.objects.get(username="bj_accountant")
    incident = _beijing_incident()
    if incident is None:
        stdout.write("response demo: no Beijing incident, skipped")
        return
    today = demo_today()
    content = _orders_csv(today)
    if not ImportBatch.objects.filter(
        company=company, kind=ImportKind.ORDERS, sha256=hashlib.sha256(content).hexdigest()
    ).exists():
        batch = orders_import(
            company=company, filename=ORDERS_FILE, stream=io.BytesIO(content), direction=Direction.ISSUED,
            user=accountant,
        )  # fmt: skip
        stdout.write(f"orders {company.credit_code}: {batch.rows_created} orders imported")
        start, end = default_period()
        run = reconciliation_run_create(
            company=company, direction=Direction.ISSUED, period_start=start, period_end=end, enqueue=False
        )
        run = reconciliation_run_execute(run_id=run.pk)
        stdout.write(f"reconciliation {company.credit_code} issued: {run.counts.get(GapKind.ONLY_IN_ORDERS, 0)} "
                     "orders lost from both sides")  # fmt: skip
    if IncidentResponse.objects.filter(company=company, incident=incident).exists():
        return
    response = services.incident_response_open(company=company, user=accountant, incident=incident)
    services.incident_response_update(
        response=response, user=accountant, scope_departments="销售部（华北区）、财务部开票岗"
    )
    notes = {
        Step.CONFIRM_SCOPE: "已致电12366确认：北京地区数电票数据同步故障，影响数电专票开具后的上传。",
        Step.RECORD_START: "故障自上午09:30开始，开具的发票在税务系统中查询不到。",
        Step.CHECK_BACKUPS: "本地开票软件备份完整，已导入；订单清单已导入用于比对。",
        Step.COMPARE: "比对完成：备份中有、税务系统中没有的发票若干；另有3笔订单两侧均无发票。",
    }
    steps = {s.step: s for s in response.steps.all()}
    for step, note in notes.items():
        services.response_step_set(step=steps[step], user=accountant, done=True, note=note)
    services.invoicing_pause(
        company=company, user=accountant, reason="税务系统故障期间暂停开票，待数据恢复并核对后再开。", response=response
    )
    lost = list(
        Gap.objects.filter(
            company=company, kind=GapKind.ONLY_IN_ORDERS, status=GapStatus.OPEN, order__counterparty_name=CUSTOMERS[0]
        ).select_related("order")
    )
    if lost:
        [request] = services.counterparty_requests_prepare(
            company=company, user=accountant, gaps=lost, response=response
        )
        services.counterparty_request_send(request=request, user=accountant)
        start, _end = beijing_outage_window()
        day = start.date()
        xml = _einvoice_xml(
            number=_lost_invoice_number(day),
            issued_at=start + timedelta(hours=1),
            seller=(company.credit_code, company.name),
            buyer=(_customer_code(0), CUSTOMERS[0]),
            amount=LOST[0][1],
        )
        services.counterparty_copy_add(
            request=request, user=accountant, name=f"{_lost_invoice_number(day)}.xml", content=xml
        )
        services.response_step_set(
            step=steps[Step.ASK_COUNTERPARTIES],
            user=accountant,
            done=False,
            note="已向上海东方电子发函，收到1张电子发票。",
        )
    stdout.write(f"incident response {company.credit_code}: in progress, invoicing paused")
