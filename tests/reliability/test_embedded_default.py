"""On the embedded default `make run` uses (SQLite, kombu's filesystem broker, a worker with its beat
inside, default settings): a worker killed with SIGKILL in the middle of a background import loses the
task's message, yet once a new worker is up the same batch ends "succeeded", every row stored once,
within three minutes: the claim's lease expires and the sweeper queues the batch again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.reliability.processes import ROOT, alive, descendants, embedded_env, kill_all, manage

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]
ROWS = 30000  # about 4 MB: above IMPORT_BACKGROUND_BYTES, so the upload goes to the worker

SUBMIT = f"""
import io
from invoices.imports.services import import_submit
from outage_portal import services
from tests.invoices.helpers import HEADER as header
company = services.company_create(name="北京华信科技有限公司", credit_code="91110108MA01B2C3D0", region="北京")
rows = [
    f"011002300111,{{n:08d}},2026-11-18,91110108MA01B2C3D0,北京华信,91350100M000100Y43,福州客户,100.00,13.00,113.00,13%,增值税专用发票,正常"
    for n in range(1, {ROWS} + 1)
]
data = "\\n".join([header, *rows]).encode()
batch = import_submit(company=company, kind="backup", direction="issued", filename="big.csv", stream=io.BytesIO(data))
print(batch.pk, batch.state)
"""


def start_worker(env) -> subprocess.Popen:
    """As scripts/run.sh starts it: one worker with its beat inside, consuming every queue."""
    celery = str(Path(sys.executable).with_name("celery"))
    log = open(Path(env["VAR_DIR"]) / "worker.log", "ab")
    return subprocess.Popen(
        [celery, "-A", "outage_portal", "worker", "-B", "--loglevel=INFO", "--concurrency=2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def batch_row(db: Path, pk: int) -> dict:
    with sqlite3.connect(db, timeout=30) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "SELECT state, rows_processed, rows_created, rows_read, attempts FROM invoices_importbatch WHERE id = ?",
            [pk],
        ).fetchone()
        return dict(row)


def test_killed_worker_is_replaced_and_the_import_succeeds(tmp_path):
    env = embedded_env(tmp_path)
    db = tmp_path / "portal.sqlite3"
    manage(env, "migrate", "--no-input")
    pk = int(manage(env, "shell", "-c", SUBMIT).split()[-2])  # the last line: "<pk> <state>"
    assert batch_row(db, pk)["state"] == "queued"
    first = start_worker(env)
    tree = []
    try:
        wait_until(lambda: batch_row(db, pk)["rows_processed"] > 0, timeout=120, what="the import under way")
        tree = [first.pid, *descendants(first.pid)]
        os.killpg(first.pid, signal.SIGKILL)  # the worker, its pool and its beat: nothing is left to finish
        first.wait(timeout=10)
        killed_at = time.monotonic()
        assert batch_row(db, pk)["state"] == "running"

        second = start_worker(env)
        tree.append(second.pid)
        done = wait_until(
            lambda: (row := batch_row(db, pk))["state"] in ("succeeded", "failed") and row,
            timeout=180,
            interval=2,
            what="the batch finished",
        )
        assert time.monotonic() - killed_at < 180
        assert done["state"] == "succeeded" and done["attempts"] == 2
        assert done["rows_read"] == done["rows_created"] == ROWS
        with sqlite3.connect(db, timeout=30) as conn:
            stored, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT invoice_key) FROM invoices_invoice"
            ).fetchone()
        assert stored == distinct == ROWS
    finally:
        tree += descendants(tree[-1]) if tree else []
        for pid in tree:
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 3  # their grace to end on SIGTERM, over once they all have
        while any(alive(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        kill_all([pid for pid in tree if alive(pid)])
        if first.poll() is None:
            kill_all([first.pid, *descendants(first.pid)])
