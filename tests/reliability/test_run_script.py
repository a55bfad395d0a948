"""`make run` (scripts/run.sh) stops every process it started on SIGTERM and SIGHUP, as on Ctrl-C, and
when whoever started it goes away (make passes SIGTERM on to it, but not SIGHUP)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess

import pytest

from tests.conftest import free_port, wait_until
from tests.reliability.processes import ROOT, alive, cmdline, descendants, embedded_env, kill_all, manage

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run-var")
    manage(embedded_env(folder), "migrate", "--no-input")
    return folder


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _hangups_heard() -> None:
    """In the child, before run.sh starts: hang-ups as a terminal's shell hears them. Started under
    `nohup` (as CI may be), this test's processes would pass on an ignored SIGHUP, and a shell cannot
    trap a signal ignored when it started: run.sh would rightly go on running."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _started(var_dir, *, through_parent: bool):
    port, simulator = free_port(), free_port()
    env = embedded_env(var_dir, HOST="127.0.0.1", PORT=str(port), SIMULATOR_PORT=str(simulator))
    env.pop("TAX_SIMULATOR_URL", None)
    command = ["bash", "-c", "./scripts/run.sh & wait"] if through_parent else ["./scripts/run.sh"]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_hangups_heard,
    )

    def everything_up():
        tree = descendants(proc.pid)
        worker = any("celery" in cmdline(pid) and " worker" in cmdline(pid) for pid in tree)
        return tree if worker and _listening(port) and _listening(simulator) else None

    return proc, wait_until(everything_up, timeout=120, what="web server, simulator and worker up")


@pytest.mark.parametrize(
    ("sig", "through_parent"),
    [(signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGHUP, True)],
    ids=["sigterm", "sighup", "parent-hung-up"],
)
def test_run_stops_every_process_it_started(var_dir, sig, through_parent):
    proc, tree = _started(var_dir, through_parent=through_parent)
    # Each child's process group too: on failure, what a child started after `tree` was taken goes with it.
    groups = {os.getpgid(pid) for pid in tree if alive(pid)}
    try:
        assert len(tree) >= 4  # the simulator, the web server, the worker and its pool (and beat)
        os.kill(proc.pid, sig)
        wait_until(lambda: not [pid for pid in tree if alive(pid)], timeout=40, what="every child gone")
        proc.wait(timeout=10)
    finally:
        kill_all([pid for pid in [proc.pid, *tree] if alive(pid)])
        for group in groups:
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
