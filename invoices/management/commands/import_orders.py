from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoices.imports.orders import orders_import
from invoices.imports.report import ImportReport, reports_print
from invoices.models import BatchState, Direction
from outage_portal.models import Company


class Command(BaseCommand):
    help = (
        "Import order or contract lists (CSV or XLSX) for a company, so reconciliation can find invoices lost from "
        "both our books and the tax system. Exit 0 when every file was processed (rejected rows included), "
        "non-zero when a file is refused as a whole."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--company", required=True, help="unified social credit code")
        parser.add_argument(
            "--direction",
            choices=Direction.values,
            help="sales (issued) or purchases (received); by default from the headers (客户 or 供应商)",
        )
        parser.add_argument("--json", action="store_true", help="print a JSON report")

    def handle(self, *args, files, company, direction, **options):
        target = Company.objects.filter(credit_code=company.strip().upper()).first()
        if target is None:
            raise CommandError(f"No company with credit code {company}")
        reports, refused = [], []
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            with path.open("rb") as stream:
                batch = orders_import(company=target, filename=path.name, stream=stream, direction=direction)
            reports.append(ImportReport(batch=batch))
            if batch.state == BatchState.FAILED:
                refused.append(f"{name}: {batch.failure_reason}")
        reports_print(reports, self.stdout.write, as_json=options["json"], rejected_label="rejected")
        if refused:
            raise CommandError("; ".join(refused))
