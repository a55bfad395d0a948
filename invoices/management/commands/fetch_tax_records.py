"""`manage.py fetch_tax_records --company <credit code> [--direction] [--from --to] [--json]`."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from invoices import sources
from invoices.models import Direction
from invoices.sources.fetch import tax_records_fetch_directions
from outage_portal.models import Company


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (use YYYY-MM-DD)")


class Command(BaseCommand):
    help = (
        "Fetch what the tax system shows for a company from its configured source (API or simulator) into "
        "its tax-system records. All-or-nothing: with --direction both (the default) the issued and the received "
        "invoices are one unit, so if either fails nothing from this fetch is stored (records from earlier fetches "
        "stay). Exits non-zero with the reason on failure."
    )

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="unified social credit code")
        parser.add_argument("--direction", choices=[*Direction.values, "both"], default="both")
        parser.add_argument("--from", dest="start", help="first issue date, YYYY-MM-DD (default: 90 days ago)")
        parser.add_argument("--to", dest="end", help="last issue date, YYYY-MM-DD (default: today)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print a JSON report")

    def handle(self, *args, company, direction, start, end, as_json, **options):
        found = Company.objects.filter(credit_code=company.strip().upper()).first()
        if found is None:
            raise CommandError(f"No company with credit code {company}.")
        default_start, default_end = sources.default_period()
        period_start = _date(start) if start else default_start
        period_end = _date(end) if end else default_end
        if period_end < period_start:
            raise CommandError("--to is before --from.")
        report: dict = {"company": found.credit_code, "from": str(period_start), "to": str(period_end)}
        directions = list(Direction.values) if direction == "both" else [direction]
        try:
            fetched = tax_records_fetch_directions(
                company=found, directions=directions, start=period_start, end=period_end
            )
        except sources.SourceError as exc:
            raise CommandError(
                f"Fetching {' and '.join(directions)} invoices of {found.credit_code} failed, nothing stored: "
                f"{exc.reason}"
            )
        for one, one_report in fetched.items():
            report[one] = one_report.as_dict()
            if not as_json:
                self.stdout.write(f"{found.credit_code} {one} {period_start} – {period_end}: {one_report.summary()}")
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
