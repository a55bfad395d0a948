from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoices.imports.orders import orders_import
from invoices.imports.report import ImportReport
from invoices.management.commands.import_invoices import _json_dumps
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
            reports.append(ImportReport(batch=batch).as_dict() | {"direction": batch.direction})
            if batch.state == BatchState.FAILED:
                refused.append(f"{name}: {batch.failure_reason}")
        if options["json"]:
            self.stdout.write(
                _json_dumps(
                    {
                        "created": sum(r["created"] for r in reports),
                        "updated": sum(r["updated"] for r in reports),
                        "unchanged": sum(r["unchanged"] for r in reports),
                        "rejected": sum(r["rejected"] for r in reports),
                        "rejected_rows": [
                            reject | {"file": r["file"]} for r in reports for reject in r["rejected_rows"]
                        ],
                        "files": reports,
                    }
                )
            )
        else:
            for r in reports:
                self.stdout.write(
                    f"{r['file']}: {r['state_label']} · {r['direction']} · read {r['read']} · created {r['created']} · "
                    f"updated {r['updated']} · unchanged {r['unchanged']} · rejected {r['rejected']}"
                    + (f" · {r['failure_reason']}" if r["failure_reason"] else "")
                )
                for reject in r["rejected_rows"]:
                    reasons = "; ".join(f"{why['column']}: {why['reason']}" for why in reject["reasons"])
                    self.stdout.write(f"  row {reject['row']}: {reasons}")
        if refused:
            raise CommandError("; ".join(refused))
