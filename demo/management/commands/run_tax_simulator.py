"""`manage.py run_tax_simulator --port N`: the tax-system simulator the demo companies fetch from."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.simulator import SimulatorServer, TaxSimulator


class Command(BaseCommand):
    help = (
        "Serve the demo companies' invoices as the tax system sees them (JSON API, token auth, paging). "
        "Faults are switched by the flags below or at runtime: POST /admin/faults, POST /admin/faults/recover."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.SIMULATOR_PORT, help="0 picks a free port")
        parser.add_argument("--token", default=settings.TAX_SIMULATOR_TOKEN, help="the Bearer token it accepts")
        parser.add_argument("--outage", action="store_true", help="every API call answers 503")
        parser.add_argument("--slow", type=float, default=0.0, metavar="SECONDS", help="wait before each answer")
        parser.add_argument("--truncate", action="store_true", help="pages hold half of what they declare")
        parser.add_argument("--empty", action="store_true", help="every query answers no invoices")
        parser.add_argument(
            "--recovered",
            action="store_true",
            help="start without the Beijing data-sync fault (the outage's invoices are not missing)",
        )
        parser.add_argument("--quiet", action="store_true", help="do not log each request")

    def handle(self, *args, host, port, token, outage, slow, truncate, empty, recovered, quiet, **options):
        if not token:
            raise CommandError("--token must not be empty.")
        simulator = TaxSimulator(token=token, beijing_missing=not recovered)
        try:
            simulator.faults.update({"outage": outage, "slow_seconds": slow, "truncate": truncate, "empty": empty})
        except ValueError as exc:
            raise CommandError(str(exc))
        if not 0 <= port <= 65535:
            raise CommandError(f"--port {port} is not a TCP port (0–65535; 0 picks a free one).")
        try:
            server = SimulatorServer((host, port), simulator, log=None if quiet else self.stdout.write)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}")
        self.stdout.write(f"Tax-system simulator listening on {server.url}/ (token {token!r})")
        self.stdout.write(f"Faults: {simulator.faults.as_dict()}")
        self.stdout.flush()
        stopped = threading.Event()

        def stop(signum, frame):
            stopped.set()

        signal.signal(signal.SIGTERM, stop)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        self.stdout.write("Tax-system simulator stopped.")
