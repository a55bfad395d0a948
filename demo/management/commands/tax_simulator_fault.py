"""`manage.py tax_simulator_fault <fault> [value] [--url]`: switch a running simulator's faults."""

from __future__ import annotations

import json
from functools import partial

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outage_portal import outbound

CHANGES = {
    "outage": lambda value: {"outage": value != "off"},
    "slow": lambda value: {"slow_seconds": 0.0 if value == "off" else float(value or 5)},
    "truncate": lambda value: {"truncate": value != "off"},
    "empty": lambda value: {"empty": value != "off"},
    "fail-next": lambda value: {"fail_next": int(value or 1)},
    "retry-after": lambda value: {"retry_after": value or "10"},
}


class Command(BaseCommand):
    help = (
        "Switch a running tax-system simulator's faults: outage|truncate|empty [off], slow [SECONDS|off], "
        "fail-next [N], retry-after SECONDS|HTTP-DATE (what an outage's 503 asks clients to wait), "
        "missing-beijing [off] (hide the demo outage's Beijing invoices again; the window follows the current day), "
        "recover (clear all), show."
    )

    def add_arguments(self, parser):
        parser.add_argument("fault", choices=[*CHANGES, "missing-beijing", "recover", "show"])
        parser.add_argument("value", nargs="?", help="off, a number of seconds, or a count")
        parser.add_argument("--url", default=settings.TAX_SIMULATOR_URL)
        parser.add_argument("--token", default=settings.TAX_SIMULATOR_TOKEN)

    def handle(self, *args, fault, value, url, token, **options):
        headers = {"Authorization": f"Bearer {token}"}
        base = url.rstrip("/")
        # The operator names this simulator on the command line (or in settings): allow exactly it.
        request = partial(outbound.request, also_allow=(outbound.endpoint_of(base),))
        try:
            if fault == "show":
                response = request("GET", f"{base}/admin/faults", headers=headers, deadline=10)
            elif fault == "recover":
                response = request("POST", f"{base}/admin/faults/recover", headers=headers, deadline=10)
            else:
                if fault == "missing-beijing":
                    change = {"missing_demo": value != "off"}
                else:
                    try:
                        change = CHANGES[fault](value)
                    except ValueError:
                        raise CommandError(f"{value!r} is not a number")
                response = request(
                    "POST",
                    f"{base}/admin/faults",
                    body=json.dumps(change).encode(),
                    headers={**headers, "Content-Type": "application/json"},
                    deadline=10,
                )
        except outbound.OutboundError as exc:
            raise CommandError(f"No simulator answers at {base}: {exc.reason}")
        if response.status_code != 200:
            raise CommandError(f"The simulator answered HTTP {response.status_code}.")
        self.stdout.write(json.dumps(response.json(), ensure_ascii=False, indent=2))
