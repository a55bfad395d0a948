"""The curve: import and reconcile at 0.1M, 1M and 3M rows, so costs that grow faster than the rows show.

Each size runs in its own process (its peak RSS is its own) on a scratch database emptied first: write
the GBK backup CSV of `bench_import.py`, import it through `invoices.imports.services.import_file` (timed),
derive the tax system's records from the imported rows with SQL (1 % missing, 1 % extra, 0.5 % with
another total; not timed), VACUUM ANALYZE, then one reconciliation run over the year (timed, commit
included). Per size: seconds, seconds per million rows and peak RSS. Targets: seconds per million
rows at the largest size within 1.3× of the smallest's, peak RSS within 1.2×.

BENCH_GROWTH_SCALE multiplies every size (0.01 for a quick look: 1k, 10k and 30k rows).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCALE = float(os.environ.get("BENCH_GROWTH_SCALE", "1"))
SIZES = [int(n * SCALE) for n in (100_000, 1_000_000, 3_000_000)]
SCRATCH_DB = "bench_growth"
TIME_TARGET, RSS_TARGET = 1.3, 1.2

TAX_COLUMNS = (
    "company_id, direction, invoice_key, invoice_code, invoice_number, digital_number, issue_date, issued_at, "
    "seller_tax_id, seller_name, buyer_tax_id, buyer_name, amount, tax, total, tax_rate, invoice_type, status, "
    "batch_id, created_at, updated_at"
)


def one_size(rows: int) -> dict:
    """Run in a fresh process: import then reconcile `rows` rows."""
    from bench.scratch import bench_database_url

    bench_database_url(SCRATCH_DB)
    scratch = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    import django
    from django.conf import settings

    django.setup()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(scratch)}},
    }
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.bench_import import SELLER, write_backup_csv
    from bench.scratch import bench_company
    from invoices.imports.services import import_file
    from invoices.models import ImportKind
    from invoices.signals import import_batch_succeeded
    from recovery import engine
    from recovery.models import Gap, ReconciliationRun

    call_command("migrate", verbosity=0)
    import_batch_succeeded.disconnect(dispatch_uid="recovery.reconcile_after_import")  # the run is timed apart
    company = bench_company(SELLER[0], SELLER[1])
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE recovery_gap, recovery_alert, recovery_reconciliationrun, invoices_invoicechange, "
            "invoices_invoice, invoices_taxrecord CASCADE"
        )
    path = scratch / "backup.csv"
    write_backup_csv(path, rows)
    t0 = time.perf_counter()
    with path.open("rb") as stream:
        report = import_file(
            company=company, kind=ImportKind.BACKUP, direction="issued", filename="备份.csv", stream=stream
        )
    import_seconds = time.perf_counter() - t0
    assert report.batch.state == "succeeded" and report.batch.rows_created == rows, report.batch.failure_reason
    path.unlink()
    # The tax system's side: every 100th invoice missing, every 200th with another total, and one
    # record in 100 of its own (another number).
    source = (
        "SELECT company_id, direction, {key}, invoice_code, invoice_number, digital_number, issue_date, issued_at, "
        "seller_tax_id, seller_name, buyer_tax_id, buyer_name, {amount}, tax, {total}, tax_rate, invoice_type, "
        "status, batch_id, created_at, updated_at, now() FROM invoices_invoice WHERE company_id = %s AND {where}"
    )
    with connection.cursor() as cur:
        for key, amount, total, where in (
            ("invoice_key", "CASE WHEN id %% 200 = 1 THEN amount + 1 ELSE amount END",
             "CASE WHEN id %% 200 = 1 THEN total + 1 ELSE total END", "id %% 100 <> 0"),
            ("'X' || invoice_key", "amount", "total", "id %% 100 = 50"),
        ):  # fmt: skip
            select = source.format(key=key, amount=amount, total=total, where=where)
            cur.execute(f"INSERT INTO invoices_taxrecord ({TAX_COLUMNS}, seen_at) {select}", [company.pk])
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE invoices_invoice")
        cur.execute("VACUUM ANALYZE invoices_taxrecord")
        cur.execute("CHECKPOINT")
    run = ReconciliationRun.objects.create(
        company=company, direction="issued", period_start=date(2025, 1, 1), period_end=date(2025, 12, 31)
    )
    t0 = time.perf_counter()
    with transaction.atomic():
        engine.compare(run=run, now=timezone.now())
    reconcile_seconds = time.perf_counter() - t0
    gaps = Gap.objects.filter(company=company).count()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = import_seconds + reconcile_seconds
    return {
        "rows": rows,
        "gaps": gaps,
        "import_seconds": round(import_seconds, 3),
        "reconcile_seconds": round(reconcile_seconds, 3),
        "seconds": round(seconds, 3),
        "seconds_per_million": round(seconds / rows * 1_000_000, 3),
        "peak_rss_mb": round(peak, 1),
    }


def run() -> dict:
    sizes = []
    for rows in SIZES:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--size", str(rows)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        size = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"growth: {rows} rows, import {size['import_seconds']:.1f}s, reconcile {size['reconcile_seconds']:.1f}s, "
            f"{size['seconds_per_million']:.1f} s/M, peak {size['peak_rss_mb']:.0f} MB"
        )
        sizes.append(size)
    first, last = sizes[0], sizes[-1]
    return {
        "growth": {
            "sizes": sizes,
            "rows": last["rows"],
            "seconds": last["seconds"],
            "peak_rss_mb": last["peak_rss_mb"],
            # How much dearer a million rows is at the largest size than at the smallest, and how much
            # more memory the largest needs.
            "time_growth": round(last["seconds_per_million"] / first["seconds_per_million"], 2),
            "rss_growth": round(last["peak_rss_mb"] / first["peak_rss_mb"], 2),
            "time_target": TIME_TARGET,
            "rss_target": RSS_TARGET,
        }
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")
    if sys.argv[1:2] == ["--size"]:
        print(json.dumps(one_size(int(sys.argv[2]))))
    else:
        print(json.dumps(run(), indent=2))
