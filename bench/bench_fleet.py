"""Fleet: beat's hourly reconciliation for 50 companies, with one worker process and with two.

Beat's hourly entry (`recovery.tasks.reconcile_all_companies`) queues one run per company and
direction over the default period; a worker on the reconciliation queue executes each
(`recovery.services.reconciliation_run_execute`, as `reconciliation_run_execute_task` does). Here the
queue is a local one: the runs are created by the beat entry itself (its messages dropped) and
executed by one process, then (a new hour's runs) by two processes taking run ids in turn. The data is
the page benchmark's (`bench_pages.py`: 3M invoices over 50 companies, one with 1M), in a scratch
database of its own; a first hour, untimed, records every gap, so the timed hours are what an
unchanged hour costs. Sizes follow BENCH_PAGES_SCALE.

Entry `fleet`: seconds for all runs with one process and with two, the speed-up, and the longest
single run (the big company's: a floor no number of workers lowers).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRATCH_DB = "bench_fleet"


def _hour() -> list[int]:
    """Beat's hourly entry, its messages dropped: the ids of the runs it queued."""
    from recovery import tasks
    from recovery.models import ReconciliationRun

    newest = ReconciliationRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    tasks.reconciliation_run_execute_task.delay = lambda *args, **kwargs: None
    tasks.reconcile_all_companies()
    return list(ReconciliationRun.objects.filter(pk__gt=newest).order_by("pk").values_list("pk", flat=True))


def _execute(ids, durations) -> None:
    from recovery.services import reconciliation_run_execute

    for run_id in iter(ids.get, None):
        started = time.perf_counter()
        reconciliation_run_execute(run_id=run_id)
        durations.put(time.perf_counter() - started)


def _timed_hour(processes: int) -> tuple[float, float]:
    """Wall time for one hour's runs with `processes` workers, and the longest single run."""
    from django.db import connections

    ids = _hour()
    connections.close_all()  # each forked worker opens its own connection
    context = multiprocessing.get_context("fork")
    queue, durations = context.Queue(), context.Queue()
    for run_id in ids:
        queue.put(run_id)
    for _ in range(processes):
        queue.put(None)
    started = time.perf_counter()
    workers = [context.Process(target=_execute, args=(queue, durations)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    longest = max(durations.get() for _ in ids)
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, longest


def run() -> dict:
    from bench.bench_pages import BIG_ROWS, COMPANIES, TOTAL_ROWS
    from bench.scratch import scratch_database_url

    url = os.environ.get("DATABASE_URL", "")
    server = url.rpartition("/")[0] if url.startswith("postgres") else "postgres://root@127.0.0.1:5432"
    os.environ["DATABASE_URL"] = scratch_database_url(SCRATCH_DB, server=server)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.pages_settings", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, str(HERE / "bench_pages.py"), "--prepare"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import django

    django.setup()
    from recovery.models import RunState

    _timed_hour(2)  # the first hour records every gap; the timed hours find them again
    one, longest = _timed_hour(1)
    two, _ = _timed_hour(2)
    from recovery.models import ReconciliationRun

    failed = ReconciliationRun.objects.filter(state=RunState.FAILED).count()
    runs = COMPANIES * 2
    print(f"fleet: {runs} runs, one process {one:.1f}s, two {two:.1f}s, longest run {longest:.1f}s, {failed} failed")
    return {
        "fleet": {
            "companies": COMPANIES,
            "runs": runs,
            "rows": TOTAL_ROWS,
            "big_company_rows": BIG_ROWS,
            "seconds": round(one, 3),
            "two_process_seconds": round(two, 3),
            "speedup": round(one / two, 2) if two else None,
            "longest_run_seconds": round(longest, 3),
            "failed_runs": failed,
            # No floor: the hour's budget is the measure (an hourly schedule must finish within the hour).
            "floor_seconds": 3600,
            "ratio": round(one / 3600, 4),
            "target": 1.0,
        }
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")
    print(json.dumps(run(), indent=2))
