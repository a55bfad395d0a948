"""Status-page benchmark: /status/ under concurrent load against a bare Django view on the same server.

gunicorn (2 sync workers) serves the project over a scratch database holding 20 systems, 500
maintenance notices and 200 incidents with 120 days of history rows. A small load generator (pure
Python: processes × threads, one connection per request, as sync workers close them) measures
requests/s for the bare constant view (bench/urls.py) and for /status/, alternating, best of
each. ratio = status requests/s ÷ bare requests/s; target ≥ 0.9.

The database is SQLite under var/ by default, or a scratch `bench_status` database next to
DATABASE_URL's when that is PostgreSQL. The cache is Redis when REDIS_URL is set, else the file cache.
Knobs: BENCH_STATUS_SECONDS (per round, default 5), BENCH_STATUS_CLIENTS (default 8).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SYSTEMS, NOTICES, INCIDENTS, ACTIVE_INCIDENTS = 20, 500, 200, 3
SECONDS = float(os.environ.get("BENCH_STATUS_SECONDS", "5"))
CLIENTS = int(os.environ.get("BENCH_STATUS_CLIENTS", "8"))
PROCESSES = 2
ROUNDS = 3  # alternating bare / status rounds; the best of each counts (other load on the machine is noise)
SCRATCH_DB = "bench_status"


def _database_url() -> str:
    from bench.scratch import scratch_database_url

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return scratch_database_url(SCRATCH_DB, server=url.rpartition("/")[0])
    path = ROOT / "var" / "bench-status" / "status.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _env(database_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # The portal's settings with the bench's URLconf, which adds the constant view (bench/urls.py).
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(ROOT / "var" / "bench-status"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def prepare() -> None:
    """Run in a subprocess (its own Django settings): demo-sized notices, incidents and history rows."""
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from notices.models import Incident, IncidentUpdate, MaintenanceNotice, TaxSystem
    from notices.status import derived
    from notices.status.models import StatusDay

    call_command("migrate", verbosity=0)
    now = timezone.now()
    with transaction.atomic():
        StatusDay.objects.all().delete()
        IncidentUpdate.objects.all().delete()
        Incident.objects.all().delete()
        MaintenanceNotice.objects.all().delete()
        systems = list(TaxSystem.objects.order_by("sort_order", "pk"))
        TaxSystem.objects.filter(pk__in=[s.pk for s in systems[SYSTEMS:]]).update(is_active=False)
        systems = systems[:SYSTEMS]
        TaxSystem.objects.filter(pk__in=[s.pk for s in systems]).update(is_active=True)
        start = now - timedelta(days=120)
        MaintenanceNotice.objects.bulk_create(
            MaintenanceNotice(
                system=systems[i % SYSTEMS],
                title=f"{systems[i % SYSTEMS].region}增值税发票管理系统停机维护 第{i}号",
                window_start=start + timedelta(hours=6 * i),
                window_end=start + timedelta(hours=6 * i + 4),
                functions=["issue", "query", "certify"],
                body_markdown="维护期间暂停开具、查询、认证。",
                body_html="<p>维护期间暂停开具、查询、认证。</p>",
                state="cancelled" if i % 25 == 0 else "scheduled",
            )
            for i in range(NOTICES)
        )
        incidents = Incident.objects.bulk_create(
            Incident(
                system=systems[i % SYSTEMS],
                title=f"{systems[i % SYSTEMS].region}发票数据同步故障 第{i}号",
                started_at=start + timedelta(hours=14 * i),
                ended_at=None if i >= INCIDENTS - ACTIVE_INCIDENTS else start + timedelta(hours=14 * i + 3),
                severity=["minor", "major", "critical"][i % 3],
                functions=["issue", "download"],
                state="investigating" if i >= INCIDENTS - ACTIVE_INCIDENTS else "resolved",
                impact_summary="部分发票未同步至税务系统。",
            )
            for i in range(INCIDENTS)
        )
        IncidentUpdate.objects.bulk_create(
            IncidentUpdate(
                incident=incident,
                state="identified",
                body_markdown="已定位故障原因。",
                body_html="<p>已定位故障原因。</p>",
                posted_at=incident.started_at + timedelta(minutes=20),
            )
            for incident in incidents
        )
    derived.status_days_refresh_recent(now=now, days=121)

    # One uncached render (what a change costs the first visitor after it), best of five, in-process.
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from notices.status import cache as status_cache

    client, renders = Client(HTTP_HOST="127.0.0.1"), []
    for _ in range(5):
        status_cache.invalidate()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            assert client.get("/status/").status_code == 200
            renders.append(time.perf_counter() - started)
    status_cache.invalidate()
    print(json.dumps({"uncached_render_seconds": min(renders), "uncached_queries": len(queries)}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, *, gzip: bool = False) -> tuple[int, bytes]:
    accept = "Accept-Encoding: gzip\r\n" if gzip else ""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}Connection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    return int(data.split(b" ", 2)[1]), data


def _hit(port: int, request: bytes, view: memoryview) -> tuple[int, bytes]:
    """One request as cheaply as Python can make it (the client shares the CPUs with the server):
    read into the thread's reusable buffer, keep the status code and the head of the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        received = sock.recv_into(view)
        code = int(bytes(view[9:12])) if received >= 12 else 0
        head = bytes(view[: min(received, 2048)])
        while sock.recv_into(view):
            pass
    return code, head


def _csrf_cookie(head: bytes) -> bytes:
    marker = b"Set-Cookie: csrftoken="
    start = head.find(marker)
    if start < 0:
        return b""
    start += len(marker)
    return b"csrftoken=" + head[start : head.index(b";", start)]


def _client(args) -> tuple[int, int, list[float]]:
    """One process: `threads` clients requesting `path` until `seconds` pass. Returns (ok, failed,
    each successful request's latency in seconds)."""
    port, path, seconds, threads = args
    deadline = time.monotonic() + seconds
    # What a browser sends: it accepts gzip (and keeps the CSRF cookie, see loop()).
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n"
    ).encode()
    counts = [0, 0]
    latencies: list[float] = []
    lock = threading.Lock()

    def loop():
        # Like a browser refreshing the page: keep the CSRF cookie the first response sets.
        view = memoryview(bytearray(1 << 20))
        ok = failed = 0
        cookie = b""
        mine: list[float] = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                if cookie:
                    code, _head = _hit(port, request.replace(b"\r\n\r\n", b"\r\nCookie: " + cookie + b"\r\n\r\n"), view)
                else:
                    code, head = _hit(port, request, view)
                    cookie = _csrf_cookie(head)
                ok, failed = (ok + 1, failed) if code == 200 else (ok, failed + 1)
                if code == 200:
                    mine.append(time.perf_counter() - started)
            except OSError:
                failed += 1
        with lock:
            counts[0] += ok
            counts[1] += failed
            latencies.extend(mine)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return counts[0], counts[1], latencies


def _server_pids(pid: int) -> list[int]:
    try:
        return [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    except OSError:
        return [pid]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the server's processes used so far (immune to other load on the machine)."""
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def _load(port: int, path: str, seconds: float, server_pid: int | None = None) -> dict:
    # Forked processes (nothing pickled: bench/run.py loads this file outside sys.modules).
    context = multiprocessing.get_context("fork")
    queue = context.SimpleQueue()
    args = (port, path, seconds, max(1, CLIENTS // PROCESSES))
    pids = _server_pids(server_pid) if server_pid else []
    cpu_before = _cpu_seconds(pids)
    started = time.monotonic()
    clients = [context.Process(target=lambda: queue.put(_client(args))) for _ in range(PROCESSES)]
    for client in clients:
        client.start()
    results = [queue.get() for _ in clients]
    for client in clients:
        client.join()
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds(pids) - cpu_before
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    latencies = sorted(t for r in results for t in r[2])
    # Client latency on loopback (the clients share the CPUs with the server): the slowest 1 % of answers.
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    return {
        "requests": ok,
        "failed": failed,
        "rps": ok / elapsed,
        "server_cpu_per_request": cpu / max(ok, 1),
        "p99_seconds": p99,
    }


def _rss_mb(pid: int) -> float:
    """Resident memory of gunicorn's master and workers together."""
    total = 0
    for p in _server_pids(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def run() -> dict:
    database_url = _database_url()
    env = _env(database_url)
    python = sys.executable
    prepared = subprocess.run(
        [python, str(Path(__file__).resolve()), "--prepare"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if prepared.returncode:
        raise RuntimeError(f"preparing the data failed:\n{prepared.stderr}")
    uncached = json.loads(prepared.stdout.strip().splitlines()[-1])
    port = _free_port()
    gunicorn = str(Path(python).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "outage_portal.wsgi:application", "--workers", "2", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                code, _ = _get(port, "/bench/constant/")
                if code == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        code, body = _get(port, "/status/")
        if code != 200 or "增值税发票管理系统".encode() not in body:
            raise RuntimeError(f"/status/ answered {code}")
        code, compressed = _get(port, "/status/", gzip=True)
        if code != 200 or b"Content-Encoding: gzip" not in compressed:
            raise RuntimeError("/status/ did not answer gzip")
        import gzip

        if "增值税发票管理系统" not in gzip.decompress(compressed.split(b"\r\n\r\n", 1)[1]).decode():
            raise RuntimeError("/status/ gzip body does not decode to the page")
        gzip_bytes = len(compressed.split(b"\r\n\r\n", 1)[1])
        page_bytes = len(body)
        _load(port, "/status/", 1.0)  # warm both workers' caches
        _load(port, "/bench/constant/", 1.0)
        bare, page = [], []
        for _round in range(ROUNDS):
            bare.append(_load(port, "/bench/constant/", SECONDS, server.pid))
            page.append(_load(port, "/status/", SECONDS, server.pid))
        rss = _rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    best_bare = max(bare, key=lambda r: r["rps"])
    best_page = max(page, key=lambda r: r["rps"])
    return {
        "status_page": {
            "name": "status_page",
            "ratio": round(best_page["rps"] / best_bare["rps"], 3),
            "target": 0.9,
            "higher_is_better": True,
            "seconds": 1 / best_page["rps"],
            "floor_seconds": 1 / best_bare["rps"],
            "requests": sum(r["requests"] for r in page),
            "failed": sum(r["failed"] for r in page + bare),
            "rps": round(best_page["rps"], 1),
            "floor_rps": round(best_bare["rps"], 1),
            # Of the round with the best requests/s: 99 % of /status/ answers came at least this fast.
            "p99_ms": round(1000 * best_page["p99_seconds"], 1),
            "floor_p99_ms": round(1000 * best_bare["p99_seconds"], 1),
            # CPU the server spent per request (not wall time): what the page costs, whatever else runs.
            "server_cpu_ms": round(1000 * min(r["server_cpu_per_request"] for r in page), 3),
            "floor_server_cpu_ms": round(1000 * min(r["server_cpu_per_request"] for r in bare), 3),
            "uncached_render_seconds": round(uncached["uncached_render_seconds"], 4),
            "uncached_queries": uncached["uncached_queries"],
            "page_bytes": page_bytes,
            "gzip_bytes": gzip_bytes,
            "peak_rss_mb": rss,
            "systems": SYSTEMS,
            "notices": NOTICES,
            "incidents": INCIDENTS,
            "clients": CLIENTS,
            "database": database_url.split(":", 1)[0],
            "cache": "redis" if os.environ.get("REDIS_URL") else "file",
        }
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        sys.path.insert(0, str(ROOT))
        prepare()
    else:
        print(json.dumps(run(), indent=2, ensure_ascii=False))
