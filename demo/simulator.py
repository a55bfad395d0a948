"""A tax-system simulator: a small HTTP service serving the demo companies' invoices as the tax
system sees them, with faults that can be switched at runtime.

Protocol (what `invoices.sources.client.TaxApiClient` speaks):

    GET  /health                                     no auth; {"status": "ok", "simulator": true, "faults": {...}}
    GET  /api/v1/taxpayers/<credit code>/invoices    Bearer token; ?direction&from&to&page&page_size
    GET  /admin/faults                               Bearer token; the current faults
    POST /admin/faults                               Bearer token; JSON, e.g. {"outage": true} or {"slow_seconds": 5}
    POST /admin/faults/recover                       Bearer token; clears every fault, missing invoices come back

Faults: `outage` (every API call answers 503 with `Retry-After: <retry_after>`, 10 seconds unless set
to other seconds or an HTTP date), `slow_seconds` (each API call waits first),
`truncate` (pages hold half of what they declare), `empty` (every query answers nothing),
`fail_next` (the next N API calls answer 503, then it recovers by itself) and `missing` (invoices of
a taxpayer issued inside a time window are silently left out — the Beijing data-sync fault) and
`missing_demo` (the same for the demo's Beijing outage window, which follows the current day; on by
default).

The data is deterministic (`demo.invoices.tax_system_invoices`): sales and purchases of the DEMO_DAYS
before the current day (taken per request), so the portal's demo backups and the simulator describe
the same invoices however long it runs. The simulator
needs no database.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from invoices.sources.client import retry_after_seconds

MAX_SPAN_DAYS = 31
MAX_PAGE_SIZE = 500
API_PREFIX = "/api/v1/taxpayers/"
DEFAULT_RETRY_AFTER = "10"
KNOWN_FAULTS = frozenset(
    {"outage", "slow_seconds", "truncate", "empty", "fail_next", "retry_after", "missing", "missing_demo"}
)


@dataclass
class MissingWindow:
    taxpayer: str
    start: datetime
    end: datetime

    def as_dict(self) -> dict:
        return {"taxpayer": self.taxpayer, "start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass
class Faults:
    outage: bool = False
    slow_seconds: float = 0.0
    truncate: bool = False
    empty: bool = False
    fail_next: int = 0
    retry_after: str = DEFAULT_RETRY_AFTER
    missing: list[MissingWindow] = field(default_factory=list)
    # Hide the demo outage's Beijing invoices, in a window that follows the current day.
    missing_demo: bool = False

    def as_dict(self) -> dict:
        return {
            "outage": self.outage,
            "slow_seconds": self.slow_seconds,
            "truncate": self.truncate,
            "empty": self.empty,
            "fail_next": self.fail_next,
            "retry_after": self.retry_after,
            "missing": [window.as_dict() for window in self.missing],
            "missing_demo": self.missing_demo,
        }

    def update(self, data: dict) -> None:
        """Apply a partial change from the admin endpoint; ValueError names what is wrong."""
        if not isinstance(data, dict):
            raise ValueError('send a JSON object, e.g. {"outage": true}')
        unknown = set(data) - KNOWN_FAULTS
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}")
        for name in ("outage", "truncate", "empty", "missing_demo"):
            if name in data:
                if not isinstance(data[name], bool):
                    raise ValueError(f"{name} must be true or false")
                setattr(self, name, data[name])
        if "slow_seconds" in data:
            value = data["slow_seconds"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 600:
                raise ValueError("slow_seconds must be a number of seconds from 0 to 600")
            self.slow_seconds = float(value)
        if "fail_next" in data:
            value = data["fail_next"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("fail_next must be a whole number ≥ 0")
            self.fail_next = value
        if "retry_after" in data:
            value = data["retry_after"]
            text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
            if retry_after_seconds(text) is None:  # what the client could not read, the simulator refuses
                raise ValueError("retry_after must be whole seconds or an HTTP date (Wed, 25 Nov 2026 18:00:00 GMT)")
            self.retry_after = text
        if "missing" in data:
            windows = []
            for item in data["missing"] or []:
                try:
                    window = MissingWindow(
                        taxpayer=str(item["taxpayer"]),
                        start=datetime.fromisoformat(item["start"]),
                        end=datetime.fromisoformat(item["end"]),
                    )
                except (KeyError, TypeError, ValueError):
                    raise ValueError("each missing window needs taxpayer, start and end (ISO 8601 with zone)")
                if window.start.tzinfo is None or window.end.tzinfo is None or window.end <= window.start:
                    raise ValueError("a missing window needs zone-aware start < end")
                windows.append(window)
            self.missing = windows


class TaxSimulator:
    """The simulated tax system's state: its data (per taxpayer and direction, issue order) and its faults.

    "Today" is taken on every request (unless fixed for a test), so a simulator left running overnight
    keeps describing the same invoices as a `load_demo` run the next morning, and the demo's Beijing
    data-sync window (`missing_demo`) moves with it."""

    def __init__(self, *, token: str, today: date | None = None, beijing_missing: bool = True):
        from demo.foundation import DEMO_COMPANIES

        self.token = token
        self.fixed_today = today
        self.lock = threading.Lock()
        self.requests_served = 0
        self.beijing = next(spec.credit_code for spec in DEMO_COMPANIES if spec.key == "bj")
        self.taxpayers = {spec.credit_code: spec.key for spec in DEMO_COMPANIES}
        self._data_day: date | None = None
        self._data: dict[tuple[str, str], list[tuple[datetime, dict]]] = {}
        self.faults = Faults(missing_demo=beijing_missing)

    @property
    def today(self) -> date:
        from demo.invoices import demo_today

        return self.fixed_today or demo_today()

    @property
    def demo_missing(self) -> MissingWindow:
        """The demo outage's Beijing data-sync window, as of today."""
        from demo.foundation import beijing_outage_window

        start, end = beijing_outage_window()
        return MissingWindow(taxpayer=self.beijing, start=start, end=end)

    def data(self, taxpayer: str, direction: str) -> list[tuple[datetime, dict]]:
        """The tax system's records of a taxpayer, regenerated when the day changes."""
        from demo.invoices import tax_system_invoices

        today = self.today
        with self.lock:
            if self._data_day != today:
                self._data = {
                    (code, one): [
                        (invoice.issued_at, invoice.record)
                        for invoice in tax_system_invoices(key, direction=one, today=today)
                    ]
                    for code, key in self.taxpayers.items()
                    for one in ("issued", "received")
                }
                self._data_day = today
            return self._data[(taxpayer, direction)]

    def recover(self) -> None:
        with self.lock:
            self.faults = Faults()

    def missing_windows(self) -> list[MissingWindow]:
        with self.lock:
            windows = list(self.faults.missing)
            follow_demo = self.faults.missing_demo
        return [*windows, self.demo_missing] if follow_demo else windows

    def invoices(self, taxpayer: str, direction: str, start: date, end: date) -> list[dict]:
        """The invoices the tax system shows for the query, faults applied. The data-sync fault loses
        invoices the taxpayer issued (sales); its purchases are complete."""
        with self.lock:
            if self.faults.empty:
                return []
        missing = [w for w in self.missing_windows() if w.taxpayer == taxpayer] if direction == "issued" else []
        return [
            record
            for issued_at, record in self.data(taxpayer, direction)
            if start <= issued_at.date() <= end and not any(w.start <= issued_at < w.end for w in missing)
        ]


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, simulator: TaxSimulator, *, log=None):
        super().__init__(address, SimulatorHandler)
        self.simulator = simulator
        self.log = log
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.stopping.set()  # wakes requests sleeping in the "slow" fault
        self.shutdown()
        self.server_close()


class SimulatorHandler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        if self.server.log:
            self.server.log(f"{self.address_string()} {format % args}")

    # --- plumbing ---------------------------------------------------------------------------------
    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        self._send(status, {"error": {"code": HTTPStatus(status).phrase, "message": message}}, headers)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization", "") == f"Bearer {self.server.simulator.token}":
            return True
        self._error(401, "missing or wrong access token", {"WWW-Authenticate": "Bearer"})
        return False

    def _read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")

    # --- routes -----------------------------------------------------------------------------------
    def do_GET(self):
        simulator = self.server.simulator
        url = urlsplit(self.path)
        if url.path == "/health":
            with simulator.lock:
                faults = simulator.faults.as_dict()
            windows = [window.as_dict() for window in simulator.missing_windows()]
            today = str(simulator.today)
            return self._send(
                200, {"status": "ok", "simulator": True, "today": today, "faults": faults, "missing": windows}
            )
        if url.path == "/admin/faults":
            if self._authorised():
                with simulator.lock:
                    self._send(200, {**simulator.faults.as_dict(), "requests_served": simulator.requests_served})
            return None
        if url.path.startswith(API_PREFIX) and url.path.endswith("/invoices"):
            return self._invoices(url.path[len(API_PREFIX) : -len("/invoices")], parse_qs(url.query))
        return self._error(404, f"no such endpoint: {url.path}")

    def do_POST(self):
        simulator = self.server.simulator
        path = urlsplit(self.path).path
        if path not in ("/admin/faults", "/admin/faults/recover"):
            return self._error(404, f"no such endpoint: {path}")
        if not self._authorised():
            return None
        if path == "/admin/faults/recover":
            simulator.recover()
        else:
            try:
                data = self._read_json()
                with simulator.lock:
                    simulator.faults.update(data)
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                return self._error(400, str(exc))
        with simulator.lock:
            return self._send(200, simulator.faults.as_dict())

    def _invoices(self, taxpayer: str, query: dict) -> None:
        simulator = self.server.simulator
        with simulator.lock:
            simulator.requests_served += 1
            faults = simulator.faults
            slow, outage, truncate = faults.slow_seconds, faults.outage, faults.truncate
            retry_after = faults.retry_after
            fail_now = faults.fail_next > 0
            if fail_now:
                faults.fail_next -= 1
        if slow:
            self.server.stopping.wait(slow)
        if outage or fail_now:
            maintenance = "系统维护中，请稍后再试 (the tax system is under maintenance)"
            # A planned outage says when to come back; a passing blip (fail_next) does not.
            return self._error(503, maintenance, {"Retry-After": retry_after} if outage else None)
        if not self._authorised():
            return None
        if taxpayer not in simulator.taxpayers:
            return self._error(404, f"unknown taxpayer {taxpayer}")

        def one(name: str, default: str | None = None) -> str | None:
            values = query.get(name)
            return values[0] if values else default

        try:
            direction = one("direction", "issued")
            if direction not in ("issued", "received"):
                raise ValueError("direction must be issued or received")
            start = date.fromisoformat(one("from") or "")
            end = date.fromisoformat(one("to") or "")
            page = int(one("page", "1"))
            page_size = int(one("page_size", "100"))
        except ValueError as exc:
            return self._error(400, f"bad query: {exc} (need direction, from, to as YYYY-MM-DD, page, page_size)")
        if end < start or (end - start).days >= MAX_SPAN_DAYS:
            return self._error(400, f"a query spans 1 to {MAX_SPAN_DAYS} days")
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            return self._error(400, f"page starts at 1 and page_size is 1 to {MAX_PAGE_SIZE}")
        invoices = simulator.invoices(taxpayer, direction, start, end)
        chunk = invoices[(page - 1) * page_size : page * page_size]
        if truncate:
            chunk = chunk[: len(chunk) // 2]  # a proxy cutting the answer short: declared total unchanged
        return self._send(
            200,
            {
                "taxpayer": taxpayer,
                "direction": direction,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "page": page,
                "page_size": page_size,
                "total": len(invoices),
                "invoices": chunk,
            },
        )


def serve_in_thread(*, host: str = "127.0.0.1", port: int = 0, token: str, **simulator_options) -> SimulatorServer:
    """Start a simulator on a background thread (port 0: any free port); `server.stop()` ends it."""
    server = SimulatorServer((host, port), TaxSimulator(token=token, **simulator_options))
    threading.Thread(target=server.serve_forever, name=f"tax-simulator-{server.server_address[1]}", daemon=True).start()
    return server


def answers_at(base_url: str, timeout: float = 1.0) -> bool:
    """Whether a tax-system simulator answers at base_url (the operator's TAX_SIMULATOR_URL)."""
    from outage_portal import outbound

    try:
        response = outbound.request(
            "GET", f"{base_url.rstrip('/')}/health", deadline=timeout, also_allow=(outbound.endpoint_of(base_url),)
        )
        return response.status_code == 200 and response.json().get("simulator") is True
    except (outbound.OutboundError, ValueError, AttributeError):
        return False


_in_process: SimulatorServer | None = None


def ensure_running(base_url: str, *, token: str) -> bool:
    """Make sure a simulator answers at base_url: use the one running there, or start one in this
    process on that port (it lives as long as the process, e.g. one `load_demo`). False when the port
    is taken by something else."""
    global _in_process
    if answers_at(base_url):
        return True
    url = urlsplit(base_url)
    try:
        _in_process = serve_in_thread(host=url.hostname or "127.0.0.1", port=url.port or 80, token=token)
    except OSError:
        return False
    return True


def stop_in_process() -> None:
    """Stop the simulator `ensure_running` started in this process, if it started one."""
    global _in_process
    if _in_process is not None:
        _in_process.stop()
        _in_process = None
