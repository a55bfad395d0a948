from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoices.imports import services
from invoices.imports.report import reports_print
from invoices.models import BatchState, Direction
from outage_portal.models import Company

KINDS = {"backup": "backup", "tax-export": "tax_export"}


class Command(BaseCommand):
    help = (
        "Import invoice files (CSV, XLSX, e-invoice XML or OFD) for a company: local backups into its own "
        "records, or the tax platform's export into what the tax system shows. Exit 0 when every file was processed "
        "(rejected rows included), non-zero when a file is refused as a whole. A file read to its end that stored "
        "nothing (every row rejected, or no invoice rows) is reported as such, not as a success."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--company", required=True, help="unified social credit code")
        parser.add_argument("--kind", required=True, choices=list(KINDS))
        parser.add_argument("--direction", default=Direction.ISSUED, choices=Direction.values)
        parser.add_argument("--json", action="store_true", help="print a JSON report")

    def handle(self, *args, files, company, kind, direction, **options):
        as_json = options["json"]
        target = Company.objects.filter(credit_code=company.strip().upper()).first()
        if target is None:
            raise CommandError(f"No company with credit code {company}")
        reports, refused = [], []
        for name in files:
            path = Path(name)
            if path.is_dir():
                raise CommandError(f"{name} is a folder; name the files in it")
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            with path.open("rb") as stream:  # streamed: backups can be hundreds of MB
                report = services.import_file(
                    company=target, kind=KINDS[kind], direction=direction, filename=path.name, stream=stream
                )
            reports.append(report)
            if report.batch.state == BatchState.FAILED:
                refused.append(f"{name}: {report.batch.failure_reason}")
        reports_print(reports, self.stdout.write, as_json=as_json)
        if refused:
            raise CommandError("; ".join(refused))
