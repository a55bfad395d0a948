"""Orders benchmark: 1,000,000 orders matched against 1,000,000 invoices and 1,000,000 tax records.

Each order g is invoiced by invoice g (same customer, same total, dated a few days after the order);
one order in 200 has no invoice on either side (lost from both: a gap), one in 200 only in our
books, and one in 100 names its invoice by number. The whole period lies in one outage window, so
every order is compared. Data is generated with set-based SQL (generate_series), then VACUUM ANALYZEd
and checkpointed before anything is timed.

The floor is the bare SQL that counts the orders no invoice covers: two anti-joins on (customer,
total), one per side, with no date window and no match by invoice number, measured in the same run
(fastest of four). Ours is `recovery.engine.order_gaps` writing the gaps (fastest of RUNS first runs,
commit included): the same two anti-joins plus the order's invoice number on each side, the date
window, a counterparty named only by name, and the INSERT of every gap.
"""

from __future__ import annotations

import os
import resource
import time
from datetime import date

ROWS = int(os.environ.get("BENCH_ORDERS_ROWS", "1000000"))
SCRATCH_DB = "bench_orders"
RUNS = 3

INVOICE_COLUMNS = (
    "company_id, direction, invoice_key, invoice_code, invoice_number, digital_number, issue_date, issued_at, "
    "seller_tax_id, seller_name, buyer_tax_id, buyer_name, amount, tax, total, tax_rate, invoice_type, status, "
    "batch_id, created_at, updated_at"
)
ORDER_COLUMNS = (
    "company_id, direction, order_number, order_date, counterparty_name, counterparty_tax_id, amount, tax, total, "
    "tax_rate, invoice_key, batch_id, created_at, updated_at"
)
CUSTOMERS = 5000


def _invoices(company_id: int) -> str:
    """Invoice g for order g: customer g mod CUSTOMERS, three days after the order, same total."""
    return f"""SELECT {company_id}, 'issued', lpad(g::text, 20, '0'), '', lpad(g::text, 20, '0'), '',
        DATE '2026-01-01' + (g %% 300) + 3, NULL, '91110108MA01B2C3D0', '', 'C' || (g %% {CUSTOMERS}), '',
        (g::numeric / 100 + 1), 0.13, (g::numeric / 100 + 1.13), NULL, 'special', 'normal', NULL, now(), now()"""


FLOOR_SQL = """SELECT count(*) FROM invoices_order o
    WHERE o.company_id = %(c)s AND o.direction = 'issued'
      AND NOT EXISTS (SELECT 1 FROM invoices_invoice x WHERE x.company_id = o.company_id
                      AND x.direction = o.direction AND x.buyer_tax_id = o.counterparty_tax_id AND x.total = o.total)
      AND NOT EXISTS (SELECT 1 FROM invoices_taxrecord x WHERE x.company_id = o.company_id
                      AND x.direction = o.direction AND x.buyer_tax_id = o.counterparty_tax_id AND x.total = o.total)"""


def _floor(connection, company_id: int) -> float:
    from django.db import transaction

    from bench.scratch import engine_session

    best = float("inf")
    for engine_settings in (False, True):
        with transaction.atomic(), connection.cursor() as cur:
            if engine_settings:
                engine_session(cur)
            t0 = time.perf_counter()
            cur.execute(FLOOR_SQL, {"c": company_id})
            cur.fetchone()
            best = min(best, time.perf_counter() - t0)
    return best


def _timed_run(company) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.scratch import engine_session
    from recovery import engine
    from recovery.models import ReconciliationRun

    run_ = ReconciliationRun.objects.create(
        company=company, direction="issued", period_start=date(2026, 1, 1), period_end=date(2026, 12, 31)
    )
    now = timezone.now()
    values = {
        "company": company.pk,
        "direction": "issued",
        "start": run_.period_start,
        "end": run_.period_end,
        "run": run_.pk,
        "now": now,
        **engine.EXPLANATIONS,
    }
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:  # as compare() runs it: jit off, 256MB
        engine_session(cur)
        engine.order_gaps(cur, run=run_, values=values, end=run_.period_end)
    return time.perf_counter() - t0


def run() -> dict:
    from bench.scratch import bench_company, bench_database_url

    bench_database_url(SCRATCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from recovery import engine
    from recovery.models import Gap, GapKind

    call_command("migrate", verbosity=0)
    company = bench_company()
    # The whole year is one outage window: every order is compared.
    engine.order_windows = lambda *, run, end: [(run.period_start, end)]
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE recovery_gap, recovery_alert, recovery_reconciliationrun, "
            "invoices_invoice, invoices_taxrecord, invoices_order CASCADE"
        )
        cur.execute(
            f"INSERT INTO invoices_order ({ORDER_COLUMNS}) SELECT {company.pk}, 'issued', 'SO-' || g, "
            "DATE '2026-01-01' + (g %% 300), '', 'C' || (g %% %s), g::numeric / 100 + 1, 0.13, "
            "g::numeric / 100 + 1.13, 0.13, CASE WHEN g %% 100 = 7 THEN lpad(g::text, 20, '0') ELSE '' END, "
            "NULL, now(), now() FROM generate_series(1, %s) g",
            [CUSTOMERS, ROWS],
        )
        cur.execute(
            f"INSERT INTO invoices_invoice ({INVOICE_COLUMNS}) {_invoices(company.pk)} "
            "FROM generate_series(1, %s) g WHERE g %% 200 <> 0",
            [ROWS],
        )
        cur.execute(
            f"INSERT INTO invoices_taxrecord ({INVOICE_COLUMNS}, seen_at) {_invoices(company.pk)}, now() "
            "FROM generate_series(1, %s) g WHERE g %% 200 NOT IN (0, 1)",
            [ROWS],
        )
    with connection.cursor() as cur:
        for table in ("invoices_order", "invoices_invoice", "invoices_taxrecord"):
            cur.execute(f"VACUUM ANALYZE {table}")
        cur.execute("CHECKPOINT")
    floor = _floor(connection, company.pk)
    seconds = float("inf")
    for _attempt in range(RUNS):
        with connection.cursor() as cur:
            cur.execute("TRUNCATE recovery_gap, recovery_alert, recovery_reconciliationrun CASCADE")
        seconds = min(seconds, _timed_run(company))
    floor = min(floor, _floor(connection, company.pk))
    gaps = Gap.objects.filter(company=company, kind=GapKind.ONLY_IN_ORDERS).count()
    assert gaps == ROWS // 200, gaps  # exactly the orders lost from both sides
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"orders: {ROWS} orders, {gaps} lost from both sides, {seconds:.2f}s vs floor {floor:.2f}s, peak {peak:.0f} MB"
    )
    return {
        "orders_matching": {
            "rows": ROWS,
            "gaps": gaps,
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 2) if floor else None,
            "peak_rss_mb": round(peak, 1),
            "target": 1.5,
        }
    }


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")
    print(json.dumps(run(), indent=2))
