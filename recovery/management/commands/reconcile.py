"""`manage.py reconcile --company <credit code> [--direction issued|received]
[--from 2025-11-01 --to 2025-11-30 | --month 2025-11 | --from 2025-11] [--json]`."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from invoices.models import Direction
from outage_portal.models import Company
from recovery.models import GapKind, RunState, RunTrigger
from recovery.periods import parse_period
from recovery.services import reconciliation_run_create, reconciliation_run_execute

NOTHING_EXIT_CODE = 3  # the period held no records: not a failure, but no comparison either


def run_report(run) -> dict:
    """What the command prints with --json (also what the text output says)."""
    return {
        "run": run.pk,
        "state": run.state,
        "direction": run.direction,
        "period": {
            "start": run.period_start.isoformat(),
            "end": run.period_end.isoformat(),
            "from_records": run.period_from_records,
        },
        "compared": {"invoices": run.invoices_compared, "tax_records": run.tax_records_compared},
        "gaps": {kind: int(run.counts.get(kind, 0)) for kind in GapKind.values},
        "new_gaps": run.new_gaps,
        "resolved_gaps": run.resolved_gaps,
        "note": run.failure_reason,
    }


class Command(BaseCommand):
    help = (
        "Run one reconciliation now and print its period, how many records of each side it compared and "
        "the gaps per kind. Without a period it covers the span of the company's records in that direction. "
        f"Exits with {NOTHING_EXIT_CODE} when the period holds no record on either side."
    )

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="Unified social credit code")
        parser.add_argument("--direction", choices=Direction.values, default=Direction.ISSUED)
        parser.add_argument("--from", dest="start", default="", help="First day (2025-11-01), or a month (2025-11)")
        parser.add_argument("--to", dest="end", default="", help="Last day (2025-11-30), or a month (2025-12)")
        parser.add_argument("--month", default="", help="One month, e.g. 2025-11")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, company, direction, start, end, month, as_json, **options):
        found = Company.objects.filter(credit_code=company.strip().upper()).first()
        if found is None:
            raise CommandError(f"No company with credit code {company}.")
        try:
            period_start, period_end = parse_period(start=start, end=end, month=month)
            run = reconciliation_run_create(
                company=found,
                direction=direction,
                period_start=period_start,
                period_end=period_end,
                trigger=RunTrigger.COMMAND,
                enqueue=False,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        run = reconciliation_run_execute(run_id=run.pk)
        if run.state == RunState.FAILED:
            raise CommandError(_("Reconciliation failed: %(reason)s") % {"reason": run.failure_reason})
        report = run_report(run)
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        else:
            self.stdout.write(f"{run.get_state_display()} · {run.get_direction_display()}")
            period = {"start": report["period"]["start"], "end": report["period"]["end"]}
            if run.period_from_records:
                self.stdout.write(_("Period: %(start)s – %(end)s (the span of the records)") % period)
            else:
                self.stdout.write(_("Period: %(start)s – %(end)s") % period)
            self.stdout.write(
                _("Compared: %(invoices)s invoices in our books, %(records)s records in the tax system")
                % {"invoices": run.invoices_compared, "records": run.tax_records_compared}
            )
            if run.state != RunState.NOTHING:
                for kind, label in GapKind.choices:
                    self.stdout.write(f"{label}: {report['gaps'][kind]}")
            if run.failure_reason:
                self.stdout.write(run.failure_reason)
        if run.state == RunState.NOTHING:
            raise CommandError(
                _("Nothing to compare in %(start)s – %(end)s.")
                % {"start": report["period"]["start"], "end": report["period"]["end"]},
                returncode=NOTHING_EXIT_CODE,
            )
