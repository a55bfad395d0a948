"""Demo scenario: a month of invoices for both demo companies, and the tax system's view of them.

One deterministic generator (`demo_invoices`) feeds both sides: the local backups imported here
and the tax-system simulator (`invoices.sources.simulator`), so the two are views of the SAME
invoices. The simulator's default fault hides the Beijing invoices issued during the demo outage
(`outage_portal.demo.beijing_outage_window`), so reconciliation shows them as "only in our books" —
the Beijing case — until the fault is recovered. In Xi'an one invoice is voided in the tax system.

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

from outage_portal.demo import DEMO_COMPANIES
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
            issued_at = datetime.combine(issue_day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=SHANGHAI)
            customer = rng.randrange(len(CUSTOMERS))
            amount = Decimal(rng.randint(50_000, 5_000_000)) / 100
            tax = (amount * Decimal("0.13")).quantize(Decimal("0.01"))
            number = f"{issue_day:%y}{REGION_DIGITS[key]}2000{issue_day:%m%d}{index:08d}"
            record = {
                "digital_number": number,
                "issued_at": issued_at.strftime("%Y-%m-%d %H:%M:%S"),
                "seller_tax_id": spec.credit_code,
                "seller_name": spec.name,
                "buyer_tax_id": _customer_code(customer),
                "buyer_name": CUSTOMERS[customer],
                "amount": f"{amount}",
                "tax": f"{tax}",
                "total": f"{amount + tax}",
                "tax_rate": "13%",
                "invoice_type": "数电票（增值税专用发票）",
                "status": "正常",
            }
            invoices.append(DemoInvoice(issued_at=issued_at, record=record))
    invoices.sort(key=lambda invoice: (invoice.issued_at, invoice.record["digital_number"]))
    return invoices


def tax_system_invoices(key: str, *, today: date | None = None) -> list[DemoInvoice]:
    """What the tax system holds for the same invoices before any fault: in Xi'an one is voided."""
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


def _import_once(stdout, *, company, kind: str, filename: str, content: bytes) -> None:
    import hashlib

    from invoices.models import ImportBatch
    from invoices.services import import_file

    if ImportBatch.objects.filter(company=company, kind=kind, sha256=hashlib.sha256(content).hexdigest()).exists():
        return
    report = import_file(company=company, kind=kind, direction="issued", filename=filename, content=content)
    b = report.batch
    stdout.write(f"import {company.credit_code} {filename}: created {b.rows_created}, rejected {b.rows_rejected}")


def load(stdout) -> None:
    from django.conf import settings

    from invoices import sources
    from invoices.models import Direction, ImportKind, TaxSource, TaxSourceKind
    from invoices.sources import simulator
    from invoices.sources.fetch import tax_source_save
    from outage_portal.demo import demo_company

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
        books = [invoice.row() for invoice in demo_invoices(key)]
        _import_once(stdout, company=company, kind=ImportKind.BACKUP, filename="本地备份-销项.csv", content=_csv(books))
    if not running:
        return
    start, end = sources.default_period()
    for company in companies.values():
        try:
            report = sources.refresh_tax_records(company=company, direction=Direction.ISSUED, start=start, end=end)
        except sources.SourceError as exc:
            stdout.write(f"fetch {company.credit_code}: failed: {exc.reason}")
        else:
            if report is not None:
                stdout.write(f"fetch {company.credit_code}: {report.summary()}")
