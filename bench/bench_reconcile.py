"""Reconciliation benchmark: 1,000,000 invoices against 1,000,000 tax records on PostgreSQL.

1% of invoices are missing from the tax system, 1% of tax records are missing from the books, and
0.5% of pairs differ in amount. Data is generated with set-based SQL (generate_series). The floor is
a bare SQL full outer join over the same rows, measured in the same run.

Honest measurement: both tables are VACUUM ANALYZEd before anything is timed (hint bits set, pages
marked all-visible — the engine's duplicate check reads an index only when vacuum has done that, as
autovacuum does after a bulk import), then checkpointed. The floor is the fastest of four runs of the
bare join: with the server's defaults and with the engine's session settings (jit off, work_mem
256MB), before and after the engine runs; the engine's time is likewise the fastest of RUNS first
runs (gaps table emptied before each), commit included. The rerun (another run over unchanged data,
every gap found again) is reported as its own entry, `reconciliation_rerun`.

Not like for like: the floor runs in one process (a FULL hash join cannot run in parallel in
PostgreSQL 15, and the issue defines the floor as that bare join). The engine's first statement uses
PostgreSQL's parallel worker processes (recovery/engine.py, `_parallel_passes`): the join cut into
two slices of the invoice key (ranges placed by a page sample, each a merge join in key order) and the
duplicate check run at the same time, on this 2-core machine sharing both cores. So the ratio
compares our wall-clock time on every core PostgreSQL may use against one process doing less work; it
is not a measure of CPU spent (ours is higher: the duplicate check comes on top). With
max_parallel_workers_per_gather = 0 the engine runs everything in one process (1.3 times the floor on
this machine, merge joins included). The parallel plan needs both cores: anything
else running on the machine hurts it more than the floor.
"""

from __future__ import annotations

import os
import resource
import time
from datetime import date

ROWS = int(os.environ.get("BENCH_RECONCILE_ROWS", "1000000"))
SCRATCH_DB = "bench_reconcile"
# The machine is shared and noisy: every timing is the best of four, ours (RUNS first runs) as well as
# the floor's (two settings, before and after the engine runs).
RUNS = 4


COLUMNS = (
    "company_id, direction, invoice_key, invoice_code, invoice_number, digital_number, issue_date, issued_at, "
    "seller_tax_id, seller_name, buyer_tax_id, buyer_name, amount, tax, total, tax_rate, invoice_type, status, "
    "batch_id, created_at, updated_at"
)


def _select(company_id: int, *, bump: str) -> str:
    # amount unique per key (no accidental duplicates); `bump` adds to amount and total on some rows.
    return f"""SELECT {company_id}, 'issued', lpad(g::text, 18, '0'), '', lpad(g::text, 18, '0'), '',
        DATE '2026-01-01' + (g %% 300), NULL, '91110108MA01B2C3D0', '', 'B' || (g %% 5000), '',
        (g::numeric / 100 + 1) + {bump}, 0.13, (g::numeric / 100 + 1.13) + {bump}, NULL, 'special', 'normal',
        NULL, now(), now()"""


FLOOR_SQL = """SELECT count(*) FROM (SELECT i.invoice_key, t.invoice_key FROM
     (SELECT * FROM invoices_invoice WHERE company_id = %s AND direction = 'issued') i
     FULL OUTER JOIN (SELECT * FROM invoices_taxrecord WHERE company_id = %s AND direction = 'issued') t
     ON t.invoice_key = i.invoice_key
   WHERE i.id IS NULL OR t.id IS NULL OR i.total <> t.total) x"""


def _floor(connection, company_id: int) -> float:
    """The fastest bare full outer join, with the server's settings and with the engine's."""
    from django.db import transaction

    from bench.scratch import engine_session

    best = float("inf")
    for engine_settings in (False, True):
        with transaction.atomic(), connection.cursor() as cur:
            if engine_settings:
                engine_session(cur)
            t0 = time.perf_counter()
            cur.execute(FLOOR_SQL, [company_id, company_id])
            cur.fetchone()
            best = min(best, time.perf_counter() - t0)
    return best


def _timed_run(company, now=None) -> float:
    from django.db import transaction
    from django.utils import timezone

    from recovery import engine
    from recovery.models import ReconciliationRun

    run_ = ReconciliationRun.objects.create(
        company=company, direction="issued", period_start=date(2026, 1, 1), period_end=date(2026, 12, 31)
    )
    t0 = time.perf_counter()
    with transaction.atomic():  # the commit (deferred foreign-key checks) is part of writing the gaps
        engine.compare(run=run_, now=now or timezone.now())
    return time.perf_counter() - t0


def run() -> dict:
    from bench.scratch import bench_company, bench_database_url

    bench_database_url(SCRATCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from recovery.models import Gap

    call_command("migrate", verbosity=0)
    company = bench_company()
    with connection.cursor() as cur:  # the scratch tables only hold bench rows; no ORM cascade collection
        cur.execute(
            "TRUNCATE recovery_gap, recovery_alert, recovery_reconciliationrun, "
            "invoices_invoice, invoices_taxrecord CASCADE"
        )
    missing_each = ROWS // 100
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO invoices_invoice ({COLUMNS}) {_select(company.pk, bump='0')} FROM generate_series(1, %s) g",
            [ROWS],
        )
        # Tax side: drop 1% of ours, add 1% of its own, bump 0.5% amounts.
        bump = "CASE WHEN g %% 200 = 1 THEN 1 ELSE 0 END"
        cur.execute(
            f"INSERT INTO invoices_taxrecord ({COLUMNS}, seen_at) {_select(company.pk, bump=bump)}, now() "
            "FROM generate_series(1, %s) g WHERE g %% 100 <> 0",
            [ROWS + missing_each],
        )
    with connection.cursor() as cur:  # VACUUM cannot run inside a transaction block; autocommit here
        cur.execute("VACUUM ANALYZE invoices_invoice")
        cur.execute("VACUUM ANALYZE invoices_taxrecord")
        cur.execute("CHECKPOINT")  # so that flushing the generated rows is timed in neither the floor nor ours
    floor = _floor(connection, company.pk)
    seconds = float("inf")
    for _attempt in range(RUNS):  # each a first run: no gaps recorded yet
        with connection.cursor() as cur:
            cur.execute("TRUNCATE recovery_gap, recovery_alert, recovery_reconciliationrun CASCADE")
        seconds = min(seconds, _timed_run(company))
    rerun_seconds = min(_timed_run(company) for _attempt in range(RUNS))  # every gap found again
    floor = min(floor, _floor(connection, company.pk))
    gaps = Gap.objects.filter(company=company).count()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"reconciliation: {ROWS} rows, {gaps} gaps, {seconds:.2f}s (rerun {rerun_seconds:.2f}s) "
        f"vs floor {floor:.2f}s, peak {peak:.0f} MB"
    )
    return {
        "reconciliation": {
            "rows": ROWS,
            "gaps": gaps,
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 2) if floor else None,
            "peak_rss_mb": round(peak, 1),
            "target": 1.5,
        },
        "reconciliation_rerun": {
            "rows": ROWS,
            "gaps": gaps,
            "seconds": round(rerun_seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(rerun_seconds / floor, 2) if floor else None,
            "peak_rss_mb": round(peak, 1),
        },
    }


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")
    print(json.dumps(run(), indent=2))
