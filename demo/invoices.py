"""Demo scenario: a month of sales and purchases for both demo companies, and the tax system's view.

One deterministic generator (`demo_invoices`) feeds both sides: the local backups imported here
and the tax-system simulator (`demo.simulator`), so the two are views of the SAME
invoices. The simulator's default fault hides the Beijing invoices issued during the demo outage
(`demo.foundation.beijing_outage_window`), so reconciliation shows them as "only in our books" —
the Beijing case — until the fault is recovered. In Xi'an one invoice is voided in the tax system.
The purchases (`demo_received_invoices`, a few a day from five suppliers) agree on both sides, so the
received direction reconciles without gaps.

Idempotent: a backup already imported (same sha256) is not imported again, a configured source is
left as it is, and fetching the same records again creates no new batch.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from demo.foundation import DEMO_COMPANIES
from outage_portal.validators import credit_code_check_character

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_DAYS = 30
PER_DAY = 8
REGION_DIGITS = {"bj": "11", "xa": "61"}
XIAN_VOIDED_INDEX = 5  # the one Xi'an invoice the tax system shows as voided
HEADER = ["数电发票号码", "开票日期", "销方识别号", "销方名称", "购方识别号", "购买方名称", "金额", "税额", "价税合计",
          "税率", "发票票种", "发票状态"]  # fmt: skip
RECORD_FIELDS = ["digital_number", "issued_at", "seller_tax_id", "seller_name", "buyer_tax_id", "buyer_name",
                 "amount", "tax", "total", "tax_rate", "invoice_type", "status"]  # fmt: skip
RECEIVED_PER_DAY = (0, 3)  # purchases: a few a day, some days none
# (name, region digits of its invoice numbers, rate, invoice type): what a trading or tech company buys.
SUPPLIERS = [
    ("北京京东世纪贸易有限公司", "11", "13%", "数电票（增值税专用发票）"),
    ("中国联合网络通信有限公司", "11", "6%", "数电票（增值税专用发票）"),
    ("顺丰速运有限公司", "44", "6%", "数电票（普通发票）"),
    ("陕西延长石油（集团）有限责任公司", "61", "13%", "数电票（增值税专用发票）"),
    ("上海浦东物业管理有限公司", "31", "9%", "数电票（普通发票）"),
]
CUSTOMERS = [
    "上海东方电子有限公司",
    "广州南粤物流有限公司",
    "成都天府软件有限公司",
    "杭州西湖贸易有限公司",
    "天津港联实业有限公司",
]


@dataclass(frozen=True)
class DemoInvoice:
    issued_at: datetime
    record: dict  # RECORD_FIELDS -> text, as the platform writes them

    def row(self) -> list[str]:
        return [self.record[name] for name in RECORD_FIELDS]


def _customer_code(index: int) -> str:
    base = f"91310101{index}MA1FL{index}X2"
    return base + credit_code_check_character(base)


def _supplier_code(index: int) -> str:
    base = f"91{SUPPLIERS[index][1]}01000MA0LP{index}Y7"
    return base + credit_code_check_character(base)


def _issue_time(rng: random.Random, day: date) -> datetime:
    """A time of day in office hours, drawn from the day's own generator."""
    return datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=SHANGHAI)


def _invoice(
    *,
    number: str,
    issued_at: datetime,
    seller: tuple[str, str],
    buyer: tuple[str, str],
    amount: Decimal,
    rate: str,
    invoice_type: str,
) -> DemoInvoice:
    """One normal invoice as the platform writes it; `seller` and `buyer` are (tax ID, name)."""
    tax = (amount * Decimal(rate.rstrip("%")) / 100).quantize(Decimal("0.01"))
    record = {
        "digital_number": number,
        "issued_at": issued_at.strftime("%Y-%m-%d %H:%M:%S"),
        "seller_tax_id": seller[0],
        "seller_name": seller[1],
        "buyer_tax_id": buyer[0],
        "buyer_name": buyer[1],
        "amount": f"{amount}",
        "tax": f"{tax}",
        "total": f"{amount + tax}",
        "tax_rate": rate,
        "invoice_type": invoice_type,
        "status": "正常",
    }
    return DemoInvoice(issued_at=issued_at, record=record)


def demo_today() -> date:
    return timezone.localdate(timezone=SHANGHAI)


def demo_invoices(key: str, *, today: date | None = None) -> list[DemoInvoice]:
    """The invoices a demo company issued in the DEMO_DAYS before `today`, in issue order.

    Each day is seeded on its own, so an invoice's number and amounts depend only on its day:
    a simulator started on another day still agrees about the days both cover."""
    spec = next(c for c in DEMO_COMPANIES if c.key == key)
    today = today or demo_today()
    invoices = []
    for day in range(DEMO_DAYS, 0, -1):
        issue_day = today - timedelta(days=day)
        rng = random.Random(f"{key}-{issue_day.isoformat()}")
        for index in range(1, PER_DAY + 1):
            issued_at = _issue_time(rng, issue_day)
            customer = rng.randrange(len(CUSTOMERS))
            invoices.append(
                _invoice(
                    number=f"{issue_day:%y}{REGION_DIGITS[key]}2000{issue_day:%m%d}{index:08d}",
                    issued_at=issued_at,
                    seller=(spec.credit_code, spec.name),
                    buyer=(_customer_code(customer), CUSTOMERS[customer]),
                    amount=Decimal(rng.randint(50_000, 5_000_000)) / 100,
                    rate="13%",
                    invoice_type="数电票（增值税专用发票）",
                )
            )
    invoices.sort(key=lambda invoice: (invoice.issued_at, invoice.record["digital_number"]))
    return invoices


def demo_received_invoices(key: str, *, today: date | None = None) -> list[DemoInvoice]:
    """The purchase invoices a demo company received in the DEMO_DAYS before `today`, in issue order;
    seeded per day like the sales, so the backups and the simulator agree."""
    spec = next(c for c in DEMO_COMPANIES if c.key == key)
    today = today or demo_today()
    invoices = []
    for day in range(DEMO_DAYS, 0, -1):
        issue_day = today - timedelta(days=day)
        rng = random.Random(f"{key}-received-{issue_day.isoformat()}")
        for index in range(1, rng.randint(*RECEIVED_PER_DAY) + 1):
            supplier = rng.randrange(len(SUPPLIERS))
            name, region, rate, invoice_type = SUPPLIERS[supplier]
            issued_at = _issue_time(rng, issue_day)
            invoices.append(
                _invoice(
                    # The supplier numbers its invoices; the buyer's region digit keeps the two companies' apart.
                    number=f"{issue_day:%y}{region}2{REGION_DIGITS[key][0]}{supplier}0{issue_day:%m%d}{index:08d}",
                    issued_at=issued_at,
                    seller=(_supplier_code(supplier), name),
                    buyer=(spec.credit_code, spec.name),
                    amount=Decimal(rng.randint(20_000, 2_000_000)) / 100,
                    rate=rate,
                    invoice_type=invoice_type,
                )
            )
    invoices.sort(key=lambda invoice: (invoice.issued_at, invoice.record["digital_number"]))
    return invoices


def tax_system_invoices(key: str, *, direction: str = "issued", today: date | None = None) -> list[DemoInvoice]:
    """What the tax system holds for the same invoices before any fault: in Xi'an one sale is voided;
    the purchases are exactly the backups'."""
    if direction == "received":
        return demo_received_invoices(key, today=today)
    invoices = demo_invoices(key, today=today)
    if key == "xa":
        voided = invoices[XIAN_VOIDED_INDEX]
        invoices[XIAN_VOIDED_INDEX] = DemoInvoice(voided.issued_at, {**voided.record, "status": "作废"})
    return invoices


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")  # as Excel on Chinese Windows saves it


def _import_once(stdout, *, company, kind: str, direction: str, filename: str, content: bytes) -> None:
    import hashlib

    from invoices.imports.services import import_file
    from invoices.models import ImportBatch

    if ImportBatch.objects.filter(company=company, kind=kind, sha256=hashlib.sha256(content).hexdigest()).exists():
        return
    report = import_file(company=company, kind=kind, direction=direction, filename=filename, content=content)
    b = report.batch
    stdout.write(f"import {company.credit_code} {filename}: created {b.rows_created}, rejected {b.rows_rejected}")


def load(stdout) -> None:
    from django.conf import settings

    from demo import simulator
    from demo.foundation import demo_company
    from invoices import sources
    from invoices.models import Direction, ImportKind, TaxSource, TaxSourceKind
    from invoices.sources.fetch import tax_source_save

    # The simulator must answer before the backups are imported: each import queues a
    # reconciliation, and reconciling fetches from the company's source first.
    running = simulator.ensure_running(settings.TAX_SIMULATOR_URL, token=settings.TAX_SIMULATOR_TOKEN)
    if not running:
        stdout.write(
            f"tax-system simulator: nothing answers at {settings.TAX_SIMULATOR_URL} and the port is taken; "
            "tax records will be fetched once it runs (python manage.py run_tax_simulator)."
        )
    companies = {key: demo_company(key) for key in ("bj", "xa")}
    for company in companies.values():
        if not TaxSource.objects.filter(company=company).exists():
            tax_source_save(
                company=company,
                kind=TaxSourceKind.SIMULATOR,
                base_url="",  # the portal's simulator, wherever TAX_SIMULATOR_URL puts it
                credential=settings.TAX_SIMULATOR_TOKEN,
            )
    for key, company in companies.items():
        for direction, invoices, filename in (
            (Direction.ISSUED, demo_invoices(key), "本地备份-销项.csv"),
            (Direction.RECEIVED, demo_received_invoices(key), "本地备份-进项.csv"),
        ):
            books = [invoice.row() for invoice in invoices]
            _import_once(
                stdout, company=company, kind=ImportKind.BACKUP, direction=direction, filename=filename,
                content=_csv(books),
            )  # fmt: skip
    if not running:
        return
    start, end = sources.default_period()
    for company in companies.values():
        for direction in Direction.values:
            try:
                report = sources.refresh_tax_records(company=company, direction=direction, start=start, end=end)
            except sources.SourceError as exc:
                stdout.write(f"fetch {company.credit_code} {direction}: failed: {exc.reason}")
            else:
                if report is not None:
                    stdout.write(f"fetch {company.credit_code} {direction}: {report.summary()}")
