"""Import benchmark: a 1,000,000-row local-backup CSV (GBK, as Excel saves it) through our real import path.

The floor is a bare PostgreSQL `COPY` of the same file into a plain table of text columns, measured
in the same run. Ours is `invoices.imports.services.import_file` from the file on disk: hashing and keeping the
original, decoding, parsing, validating every row, staging and merging into `invoices_invoice` (a
plain CSV like this one goes through the COPY lane, `invoices/imports/copy_lane.py`).
Peak RSS is this process's (it does the import). BENCH_ROWS sets a smaller count for quick runs.
"""

from __future__ import annotations

import csv
import logging
import os
import random
import resource
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
SCRATCH_DB = "bench_import"
SELLER = ("91110108MA01B2C3D0", "北京华信科技有限公司")
HEADER = ["数电发票号码", "开票日期", "销方识别号", "销方名称", "购方识别号", "购买方名称", "金额", "税额", "价税合计",
          "税率", "发票票种", "发票状态"]  # fmt: skip
CUSTOMER_WORDS = ["东方", "南粤", "天府", "西湖", "港联", "华北", "秦川", "长江", "中原", "海峡"]
INDUSTRIES = ["电子", "物流", "软件", "贸易", "实业", "咨询", "建材", "食品"]


def _customers(count: int = 400) -> list[tuple[str, str]]:
    from outage_portal.validators import credit_code_check_character

    rng = random.Random(7)
    customers = []
    for i in range(count):
        base = f"9131010{i % 10}MA{i:04d}XY{rng.randint(0, 9)}"
        name = f"{rng.choice(['上海', '广州', '成都', '杭州', '天津'])}{rng.choice(CUSTOMER_WORDS)}"
        customers.append((base + credit_code_check_character(base), f"{name}{rng.choice(INDUSTRIES)}有限公司"))
    return customers


def write_backup_csv(path: Path, rows: int) -> None:
    """A year of 数电 invoices as an accountant's Excel export: GBK, one row per invoice, streamed."""
    rng = random.Random(42)
    customers = _customers()
    start = date(2025, 1, 1)
    with path.open("w", encoding="gbk", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for serial in range(1, rows + 1):
            day = start + timedelta(days=serial * 365 // (rows + 1))
            issued = datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59))
            buyer = customers[rng.randrange(len(customers))]
            cents = rng.randint(5_000, 50_000_000)
            rate, kind = (13, "数电票（增值税专用发票）") if serial % 3 else (6, "数电票（普通发票）")
            tax = (cents * rate + 50) // 100
            writer.writerow(
                [f"25112000{serial:012d}", issued.strftime("%Y-%m-%d %H:%M:%S"), *SELLER, *buyer,
                 f"{cents / 100:.2f}", f"{tax / 100:.2f}", f"{(cents + tax) / 100:.2f}", f"{rate}%", kind,
                 "作废" if serial % 997 == 0 else "正常"]
            )  # fmt: skip


def _copy_floor(url: str, path: Path) -> float:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_import_floor")
            cur.execute(f"CREATE TABLE bench_import_floor ({', '.join(f'c{i} text' for i in range(len(HEADER)))})")
            conn.commit()
            t0 = time.perf_counter()
            with path.open("rb") as source:
                cur.copy_expert(
                    "COPY bench_import_floor FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GBK')", source
                )
            conn.commit()
            seconds = time.perf_counter() - t0
            cur.execute("DROP TABLE bench_import_floor")
            conn.commit()
    finally:
        conn.close()
    return seconds


def _indexed_table_floor(connection, batch_id: int) -> float:
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_import_indexed")
        cur.execute("CREATE TABLE bench_import_indexed (LIKE invoices_invoice INCLUDING ALL)")
        t0 = time.perf_counter()
        cur.execute("INSERT INTO bench_import_indexed SELECT * FROM invoices_invoice WHERE batch_id = %s", [batch_id])
        seconds = time.perf_counter() - t0
        cur.execute("DROP TABLE bench_import_indexed")
    return seconds


class _PhaseLog(logging.Handler):
    """Picks the parse and merge times out of the import's own log line."""

    parse_seconds = merge_seconds = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("import batch %s: %d rows parsed"):
            _batch, _rows, parsed, merged = record.args
            self.parse_seconds, self.merge_seconds = round(parsed, 3), round(merged, 3)


def run() -> dict:
    from bench.scratch import bench_database_url

    url = bench_database_url(SCRATCH_DB)
    scratch = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")
    import django
    from django.conf import settings

    django.setup()
    # Originals kept by this run go to the scratch folder, not the deployment's private storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(scratch)}},
    }
    from django.core.management import call_command
    from django.db import connection

    from invoices.imports.services import import_file
    from invoices.models import ImportKind
    from invoices.signals import import_batch_succeeded
    from outage_portal.models import Company

    call_command("migrate", verbosity=0)
    # Measure the import alone: no reconciliation queued behind it.
    import_batch_succeeded.disconnect(dispatch_uid="recovery.reconcile_after_import")
    company, _ = Company.objects.get_or_create(credit_code=SELLER[0], defaults={"name": SELLER[1], "region": "北京"})
    with connection.cursor() as cur:  # the bench database only holds bench rows
        cur.execute("TRUNCATE invoices_invoicechange, invoices_invoice CASCADE")
    path = scratch / "backup.csv"
    t0 = time.perf_counter()
    write_backup_csv(path, ROWS)
    print(f"import: wrote {ROWS} rows ({path.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - t0:.1f}s")
    floor = _copy_floor(url, path)

    phases = _PhaseLog()
    logging.getLogger("invoices.imports.services").addHandler(phases)
    t0 = time.perf_counter()
    with path.open("rb") as stream:
        report = import_file(
            company=company, kind=ImportKind.BACKUP, direction="issued", filename="备份.csv", stream=stream
        )
    seconds = time.perf_counter() - t0
    logging.getLogger("invoices.imports.services").removeHandler(phases)
    batch = report.batch
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert batch.state == "succeeded" and batch.rows_created == ROWS, (batch.state, batch.failure_reason)
    table_floor = _indexed_table_floor(connection, batch.pk)
    print(
        f"import: {ROWS} rows, {seconds:.2f}s vs COPY {floor:.2f}s, peak {peak:.0f} MB; writing the same rows "
        f"into a table with invoices_invoice's indexes alone takes {table_floor:.2f}s"
    )
    for child in scratch.rglob("*"):
        if child.is_file():
            child.unlink()
    return {
        "import": {
            "rows": ROWS,
            "file_mb": round(batch.size / 2**20, 1),
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 2) if floor else None,
            "peak_rss_mb": round(peak, 1),
            # Not the floor, for context: INSERT … SELECT of the imported rows into an empty copy of
            # invoices_invoice with the same indexes and checks (no FKs), i.e. what the target table
            # costs to write whatever the import path does.
            "indexed_table_seconds": round(table_floor, 3),
            # Where the time goes: parsing, validating and staging (the COPY lane) vs the merge
            # transaction (including its commit, where the deferred foreign-key checks run).
            "parse_seconds": phases.parse_seconds,
            "merge_seconds": phases.merge_seconds,
            "target": 5.0,
            "rss_target_mb": 300,
        }
    }


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print(json.dumps(run(), indent=2))
