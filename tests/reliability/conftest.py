"""Real processes for the fault tests: Celery workers on private queues (one prefix per test, so
follow-up tasks stay with them), with short leases and a fast sweeper, and helpers to stop them
in the middle of their work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from outage_portal.celery import app as celery_app
from tests.conftest import database_url_for_tests
from tests.reliability.processes import ROOT, alive, descendants, wait_for_other_sessions_to_close

# Short enough for a test to wait out, long enough for a loaded machine's heartbeat to keep up.
FAST_JOBS = {
    "JOB_LEASE_SECONDS": "4",
    "JOB_SWEEP_SECONDS": "2",
    "JOB_QUEUED_SECONDS": "20",
    "NOTIFY_HTTP_CONNECT_TIMEOUT": "1",
    "NOTIFY_HTTP_READ_TIMEOUT": "3",
    "NOTIFY_LEASE_SECONDS": "6",
    "NOTIFY_RETRY_BASE_SECONDS": "1",
    "NOTIFY_SWEEP_GRACE_SECONDS": "2",
}


class Worker:
    """`celery worker` (optionally with beat) consuming `queues` of this test's prefix."""

    def __init__(self, *, prefix: str, var_dir: Path, env: dict[str, str]):
        self.prefix = prefix
        self.var_dir = var_dir
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.supervised = None
        self.restarts = 0
        self.log = var_dir / f"worker-{uuid.uuid4().hex[:6]}.log"

    def start(self, *, queues: tuple[str, ...] = (), concurrency: int = 2, beat: bool = True, **env) -> Worker:
        self.started_with = {"queues": queues, "concurrency": concurrency, "beat": beat and self.beat is None, **env}
        celery = str(Path(sys.executable).with_name("celery"))
        command = [celery, "-A", "outage_portal", "worker", "--pool=prefork", f"--concurrency={concurrency}"]
        command += ["--loglevel=INFO", "--without-gossip", "--without-mingle", "-n", f"{uuid.uuid4().hex[:8]}@%h"]
        if queues:  # else every queue of the prefix (settings.CELERY_TASK_QUEUES)
            command += ["-Q", ",".join(self.prefix + q for q in queues)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            # A process of its own, so killing the pool leaves the sweepers running; started once per
            # Worker (a second start() after a kill reuses it rather than leaving one behind).
            if beat and (self.beat is None or self.beat.poll() is not None):
                self.beat = subprocess.Popen(
                    [celery, "-A", "outage_portal", "beat", "--loglevel=INFO"],
                    cwd=ROOT, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        return self

    def supervise(self) -> None:
        """Start the worker again whenever it exits, as a process manager (compose's `restart:`) does."""
        import threading

        self.supervised = threading.Event()

        def watch():
            while not self.supervised.wait(0.5):
                if self.proc is not None and self.proc.poll() is not None:
                    self.restarts += 1
                    self.start(**self.started_with)

        threading.Thread(target=watch, daemon=True).start()

    def kill_pool(self) -> list[int]:
        """SIGKILL the pool's processes (those running tasks): the worker replaces them."""
        killed = [pid for pid in descendants(self.proc.pid) if "celery" in _cmdline(pid)]
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def stop(self) -> None:
        if self.supervised is not None:
            self.supervised.set()
        for proc in (self.beat, self.proc):
            if proc is None or proc.poll() is not None:
                continue
            # The test is over: nothing a warm shutdown would finish matters, so do not wait for it.
            tree = descendants(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            for pid in tree:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture
def workers(transactional_db, settings, tmp_path):
    """workers(**env) -> a Worker (not started) sharing this test's database, private storage and
    queue prefix; every worker is stopped after the test."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    settings.CELERY_QUEUE_PREFIX = prefix  # what this process sends follows the same routes
    settings.NOTIFY_QUEUE = ""
    celery_app.conf.task_always_eager = False
    env = {
        **os.environ,
        **FAST_JOBS,
        "DATABASE_URL": database_url_for_tests(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_QUEUE_PREFIX": prefix,
        "NOTIFY_QUEUE": "",
        "VAR_DIR": str(tmp_path),  # its private storage is this test's (tmp_path / "private")
        "TAX_SOURCE_RETRY_BACKOFF_MS": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    started: list[Worker] = []

    def make(**extra) -> Worker:
        # The servers this test allowed (its receivers, the simulator), as they stand when it starts.
        allowed = {"OUTBOUND_ALLOW": ",".join(settings.OUTBOUND_ALLOW)}
        worker = Worker(prefix=prefix, var_dir=tmp_path, env={**env, **allowed, **extra})
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()
    celery_app.conf.task_always_eager = True
    wait_for_other_sessions_to_close()


def waiting_on_lock() -> list[int]:
    """The PostgreSQL sessions (pids) waiting for a lock this test holds."""
    with connection.cursor() as cursor:
        # pg_locks is read afresh each time; pg_stat_activity would be one snapshot per transaction.
        cursor.execute("SELECT DISTINCT pid FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")
        return [pid for (pid,) in cursor.fetchall()]
