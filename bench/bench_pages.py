"""Pages at volume: what finance staff of a big company wait for, with 50 companies' history loaded.

A scratch database holds 3,000,000 invoices and 3,000,000 tax records over 50 companies: one holds
1,000,000 of each, with 25,000 open gaps and as many resolved ones (2.5 % each), the other 49 share
the rest, each with gaps in the same proportion; every company has 90 days of hourly reconciliation
runs and a year of daily backup imports. Rows are written with set-based SQL (generate_series),
then VACUUM ANALYZEd, and kept between runs of the same size (a marker row says which size).

gunicorn serves the project with `bench/pages_settings.py`: the same settings plus a middleware that
sends each request's server time (`Server-Timing`) and query count (`X-Queries`). Eight clients
(threads, each a `requests` session signed in as a finance user of the big company) request each page
in turn; p50/p95 are of the server's time, so neither queueing for a worker nor the client counts.

Entries `page_<name>`: `p50_ms`, `p95_ms`, `queries`, `target` (p95 ≤ 150 ms).
Knobs: BENCH_PAGES_SCALE (default 1; 0.033 loads 1/30 of the rows), BENCH_PAGES_REQUESTS (per page,
default 80), BENCH_PAGES_CLIENTS (default 8), BENCH_PAGES_WORKERS (gunicorn workers, default: cores).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCALE = float(os.environ.get("BENCH_PAGES_SCALE", "1"))
TOTAL_ROWS = int(3_000_000 * SCALE)
BIG_ROWS = int(1_000_000 * SCALE)
COMPANIES = 50
RUN_HOURS = 90 * 24
BACKUP_DAYS = 365
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", "80"))
CLIENTS = int(os.environ.get("BENCH_PAGES_CLIENTS", "8"))
WORKERS = int(os.environ.get("BENCH_PAGES_WORKERS", str(os.cpu_count() or 2)))
TARGET_P95_MS = 150
SCRATCH_DB = "bench_pages"
COUNTERPARTIES = 5000

COLUMNS = (
    "company_id, direction, invoice_key, invoice_code, invoice_number, digital_number, issue_date, issued_at, "
    "seller_tax_id, seller_name, buyer_tax_id, buyer_name, amount, tax, total, tax_rate, invoice_type, status, "
    "batch_id, created_at, updated_at"
)
GAP_COLUMNS = (
    "company_id, direction, kind, gap_key, invoice_key, invoice_id, issue_date, amount_at_risk, rule, explanation, "
    "status, decision, decision_reason, incident_kind, incident_title, incident_url, first_seen_run_id, "
    "last_seen_run_id, resolved_by_run_id, first_seen_at, last_seen_at, resolved_at"
)


def _company_of(ids: list[int]) -> str:
    """Row g's company: the first `BIG_ROWS` rows are the big company's, the rest dealt round the others."""
    others = ",".join(str(i) for i in ids[1:])
    return f"CASE WHEN g <= {BIG_ROWS} THEN {ids[0]} ELSE (ARRAY[{others}])[1 + (g - {BIG_ROWS}) %% {len(ids) - 1}] END"


def _records(ids: list[int]) -> str:
    return f"""SELECT {_company_of(ids)}, 'issued', lpad(g::text, 20, '0'), '', lpad(g::text, 20, '0'), '',
        DATE '2025-01-01' + (g %% 700), NULL, '91110108MA01B2C3D0', '', 'C' || (g %% {COUNTERPARTIES}),
        '客户' || (g %% {COUNTERPARTIES}) || '有限公司', (g %% 100000)::numeric / 10 + 1, 0.13,
        (g %% 100000)::numeric / 10 + 1.13, NULL, 'special', 'normal', NULL, now(), now()"""


def _load(ids: list[int], runs: dict[int, int]) -> None:
    """Invoices, tax records (the same invoices) and gaps: one in 40 open, one in 40 resolved."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO invoices_invoice ({COLUMNS}) {_records(ids)} FROM generate_series(1, %s) g", [TOTAL_ROWS]
        )
        cur.execute(
            f"INSERT INTO invoices_taxrecord ({COLUMNS}, seen_at) {_records(ids)}, now() FROM generate_series(1, %s) g",
            [TOTAL_ROWS],
        )
        last_run = (
            "(ARRAY["
            + ",".join(str(runs[c]) for c in ids)
            + "])[array_position(ARRAY["
            + ",".join(str(c) for c in ids)
            + "], i.company_id)]"
        )
        # First seen over the last 60 days (so the dashboard's 30-day trend moves); resolved ones a
        # week after they were found.
        cur.execute(
            f"""INSERT INTO recovery_gap ({GAP_COLUMNS})
            SELECT i.company_id, 'issued', 'only_in_books', i.invoice_key, i.invoice_key, i.id, i.issue_date,
                i.total, 'exact', '', CASE WHEN s.open THEN 'open' ELSE 'resolved' END, '', '', '', '', '',
                {last_run}, {last_run}, CASE WHEN s.open THEN NULL ELSE {last_run} END,
                s.found, now() - (i.id %% 7) * interval '1 hour',
                CASE WHEN s.open THEN NULL ELSE s.found + interval '7 days' END
            FROM invoices_invoice i,
                LATERAL (SELECT (i.id / 20) %% 2 = 0 AS open,
                         now() - (i.id %% 60) * interval '1 day' - interval '8 days' AS found) s
            WHERE i.id %% %s = 0""",
            [20],
        )


def prepare() -> None:
    """Run in a subprocess with the benchmark's settings: load the rows once per size, sign in."""
    import django

    django.setup()
    from datetime import date, timedelta

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from invoices.models import BatchState, ImportBatch, ImportKind
    from outage_portal.models import Company, Membership, Role, User
    from recovery.models import Gap, ReconciliationRun, RunState, RunTrigger

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_pages_size (rows bigint)")
        cur.execute("SELECT rows FROM bench_pages_size")
        loaded = cur.fetchone()
    if not loaded or loaded[0] != TOTAL_ROWS:
        started = time.perf_counter()
        now = timezone.now()
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE recovery_gap, recovery_alert, recovery_reconciliationrun, invoices_importbatch, "
                "invoices_invoice, invoices_taxrecord, bench_pages_size CASCADE"
            )
        with transaction.atomic():
            Company.objects.filter(credit_code__startswith="91110108MA").delete()
            companies = Company.objects.bulk_create(
                Company(name=f"基准公司{i:02d}", credit_code=f"91110108MA{i:06d}XY", region="北京")
                for i in range(COMPANIES)
            )
            ids = [c.pk for c in companies]
            runs: dict[int, int] = {}
            for company in companies:
                made = ReconciliationRun.objects.bulk_create(
                    ReconciliationRun(
                        company=company,
                        direction="issued",
                        period_start=date(2025, 1, 1),
                        period_end=date(2026, 12, 1),
                        state=RunState.SUCCEEDED,
                        trigger=RunTrigger.SCHEDULE,
                        started_at=now - timedelta(hours=h),
                        finished_at=now - timedelta(hours=h),
                    )
                    for h in range(RUN_HOURS, -1, -1)
                )
                runs[company.pk] = made[-1].pk
                ImportBatch.objects.bulk_create(
                    ImportBatch(
                        company=company,
                        kind=ImportKind.BACKUP,
                        state=BatchState.SUCCEEDED,
                        original_name=f"备份-{d}.csv",
                        finished_at=now - timedelta(days=d),
                        rows_read=1000,
                        rows_created=1000,
                    )
                    for d in range(BACKUP_DAYS, -1, -1)
                )
            _load(ids, runs)
            with connection.cursor() as cur:
                cur.execute("INSERT INTO bench_pages_size VALUES (%s)", [TOTAL_ROWS])
        with connection.cursor() as cur:
            for table in ("invoices_invoice", "invoices_taxrecord", "recovery_gap", "recovery_gapsummary",
                          "recovery_reconciliationrun", "invoices_importbatch"):  # fmt: skip
                cur.execute(f"VACUUM ANALYZE {table}")
            cur.execute("CHECKPOINT")
        print(f"pages: loaded {TOTAL_ROWS} invoices in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    big = Company.objects.get(credit_code=f"91110108MA{0:06d}XY")
    user, _ = User.objects.get_or_create(username="bench-finance")
    Membership.objects.get_or_create(user=user, company=big, role=Role.FINANCE)
    client = Client()
    client.force_login(user)
    gaps = Gap.objects.filter(company=big)
    invoices = BIG_ROWS
    gap = gaps.filter(status="open").order_by("-id").values_list("pk", flat=True).first()
    print(
        json.dumps(
            {
                "session": client.cookies["sessionid"].value,
                "gap": gap,
                "gap_pages": -(-gaps.count() // 50),
                "invoice_pages": -(-invoices // 50),
            }
        )
    )


def pages(info: dict) -> dict[str, str]:
    return {
        "dashboard": "/",
        "gaps": "/recovery/gaps/",
        "gaps_filtered": "/recovery/gaps/?status=open&kind=only_in_books&direction=issued",
        "gaps_dated": "/recovery/gaps/?issued_from=2025-03-01&issued_to=2025-03-31",
        "gaps_late": f"/recovery/gaps/?page={info['gap_pages'] - 1}",
        "gap": f"/recovery/gaps/{info['gap']}/",
        "invoices": "/invoices/",
        "invoices_filtered": "/invoices/?issued_from=2025-03-01&issued_to=2025-03-31&counterparty=客户1234有限公司",
        "invoices_late": f"/invoices/?page={info['invoice_pages'] - 1}",
        "imports": "/imports/",
        "api_gaps": "/api/gaps/",
        "api_gaps_late": f"/api/gaps/?page={info['gap_pages'] - 1}",
        "api_runs": "/api/reconciliation-runs/",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _measure(base: str, path: str, session_id: str) -> dict:
    """CLIENTS threads share REQUESTS requests of `path`; each answer's own server time and queries."""
    import requests

    timings: list[float] = []
    queries: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_client = max(1, REQUESTS // CLIENTS)

    def client():
        with requests.Session() as http:
            http.cookies.set("sessionid", session_id)
            for _ in range(per_client):
                response = http.get(base + path, timeout=300, allow_redirects=False)
                with lock:
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}")
                        continue
                    timing = response.headers["Server-Timing"]
                    timings.append(float(timing.split("dur=")[1]))
                    queries.append(int(response.headers["X-Queries"]))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{path} answered {failures[:3]}")
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return {
        "path": path,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(cuts[94], 1),
        "queries": statistics.mode(queries),  # a worker's first request of a session may run one more
        "requests": len(timings),
        "target": TARGET_P95_MS,
        "rows": TOTAL_ROWS,
        "big_company_rows": BIG_ROWS,
        "clients": CLIENTS,
        "workers": WORKERS,
    }


def _env(database_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.pages_settings",
        "DEBUG": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(ROOT / "var" / "bench-pages"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def run() -> dict:
    from bench.scratch import scratch_database_url

    url = os.environ.get("DATABASE_URL", "")
    server = url.rpartition("/")[0] if url.startswith("postgres") else "postgres://root@127.0.0.1:5432"
    env = _env(scratch_database_url(SCRATCH_DB, server=server))
    python = sys.executable
    prepared = subprocess.run(
        [python, str(Path(__file__).resolve()), "--prepare"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    if prepared.returncode:
        raise RuntimeError("preparing the data failed")
    info = json.loads(prepared.stdout.strip().splitlines()[-1])
    port = _free_port()
    gunicorn = str(Path(python).with_name("gunicorn"))
    server_process = subprocess.Popen(
        [gunicorn, "outage_portal.wsgi:application", "--workers", str(WORKERS), "--worker-class", "sync",
         "--timeout", "300", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    entries = {}
    try:
        import requests

        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(base + "/health/", timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        for name, path in pages(info).items():
            for _ in range(WORKERS):  # each worker's first request of the page is not what people wait for
                requests.get(base + path, cookies={"sessionid": info["session"]}, timeout=300)
            entry = _measure(base, path, info["session"])
            entries[f"page_{name}"] = entry
            print(f"page_{name}: p50 {entry['p50_ms']} ms, p95 {entry['p95_ms']} ms, {entry['queries']} queries",
                  file=sys.stderr)  # fmt: skip
    finally:
        server_process.terminate()
        try:
            server_process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server_process.kill()
    return entries


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        sys.path.insert(0, str(ROOT))
        prepare()
    else:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(run(), indent=2, ensure_ascii=False))
