"""Demo scenario: a month of invoices for both demo companies, imported through the real import path.

The Beijing company's backup holds every invoice it issued; its tax-platform export lacks the ones
issued during the demo outage (`outage_portal.demo.beijing_outage_window`), so reconciliation shows
them as "only in our books" — the Beijing case. Xi'an's two sides agree except for one voided invoice.
Idempotent: a file already imported (same sha256) is not imported again.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from invoices.models import ImportBatch, ImportKind
from invoices.services import import_file
from outage_portal.demo import beijing_outage_window, demo_company
from outage_portal.validators import credit_code_check_character

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = ["数电发票号码", "开票日期", "销方识别号", "销方名称", "购方识别号", "购买方名称", "金额", "税额", "价税合计",
          "税率", "发票票种", "发票状态"]  # fmt: skip
CUSTOMERS = [
    "上海东方电子有限公司",
    "广州南粤物流有限公司",
    "成都天府软件有限公司",
    "杭州西湖贸易有限公司",
    "天津港联实业有限公司",
]


def _customer_code(index: int) -> str:
    base = f"91310101{index}MA1FL{index}X2"
    return base + credit_code_check_character(base)


def _invoices(key: str, seller_code: str, seller_name: str, days: int = 30, per_day: int = 8):
    """Deterministic invoices (same every run of the same day): (issued_at, row)."""
    rng = random.Random(f"{key}-{timezone.localdate(timezone=SHANGHAI)}")
    today = timezone.localdate(timezone=SHANGHAI)
    serial = 0
    for day in range(days, 0, -1):
        issue_day = today - timedelta(days=day)
        for _ in range(per_day):
            serial += 1
            issued_at = datetime.combine(issue_day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=SHANGHAI)
            customer = rng.randrange(len(CUSTOMERS))
            amount = Decimal(rng.randint(50_000, 5_000_000)) / 100
            tax = (amount * Decimal("0.13")).quantize(Decimal("0.01"))
            number = f"{issue_day:%y}{'11' if key == 'bj' else '61'}2000{serial:012d}"
            row = [number, issued_at.strftime("%Y-%m-%d %H:%M:%S"), seller_code, seller_name, _customer_code(customer),
                   CUSTOMERS[customer], f"{amount}", f"{tax}", f"{amount + tax}", "13%", "数电票（增值税专用发票）", "正常"]  # fmt: skip  # noqa: E501
            yield issued_at, row


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")  # as Excel on Chinese Windows saves it


def _import_once(stdout, *, company, kind: str, filename: str, content: bytes) -> None:
    import hashlib

    if ImportBatch.objects.filter(company=company, kind=kind, sha256=hashlib.sha256(content).hexdigest()).exists():
        return
    report = import_file(company=company, kind=kind, direction="issued", filename=filename, content=content)
    b = report.batch
    stdout.write(f"import {company.credit_code} {filename}: created {b.rows_created}, rejected {b.rows_rejected}")


def load(stdout) -> None:
    outage_start, outage_end = beijing_outage_window()
    for key in ("bj", "xa"):
        company = demo_company(key)
        invoices = list(_invoices(key, company.credit_code, company.name))
        books = [row for _at, row in invoices]
        if key == "bj":
            # The data-sync fault: the tax system lost what was issued while it was down.
            tax = [row for at, row in invoices if not (outage_start <= at < outage_end)]
        else:
            tax = [[*row[:-1], "作废"] if i == 5 else row for i, (_at, row) in enumerate(invoices)]
        _import_once(stdout, company=company, kind=ImportKind.BACKUP, filename="本地备份-销项.csv", content=_csv(books))
        _import_once(
            stdout, company=company, kind=ImportKind.TAX_EXPORT, filename="全量发票查询-销项.csv", content=_csv(tax)
        )
