"""`manage.py reconcile --company <credit code> [--direction issued|received] [--json]`."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from invoices.models import Direction
from outage_portal.models import Company
from recovery.models import GapKind, RunState, RunTrigger
from recovery.services import reconciliation_run_create, reconciliation_run_execute


class Command(BaseCommand):
    help = "Run one reconciliation now and print the counts per gap kind."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="Unified social credit code")
        parser.add_argument("--direction", choices=Direction.values, default=Direction.ISSUED)
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, company, direction, as_json, **options):
        found = Company.objects.filter(credit_code=company.strip().upper()).first()
        if found is None:
            raise CommandError(f"No company with credit code {company}.")
        run = reconciliation_run_create(company=found, direction=direction, trigger=RunTrigger.COMMAND, enqueue=False)
        run = reconciliation_run_execute(run_id=run.pk)
        counts = {kind: int(run.counts.get(kind, 0)) for kind in GapKind.values}
        if run.state != RunState.SUCCEEDED:
            raise CommandError(f"Reconciliation failed: {run.failure_reason}")
        if as_json:
            self.stdout.write(json.dumps(counts))
        else:
            for kind, label in GapKind.choices:
                self.stdout.write(f"{label}: {counts[kind]}")
