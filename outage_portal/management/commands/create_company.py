from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from outage_portal import services


class Command(BaseCommand):
    help = "Create a company (taxpayer). The unified social credit code is checked with its GB 32100 checksum."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--credit-code", required=True)
        parser.add_argument("--region", required=True)

    def handle(self, *args, name, credit_code, region, **options):
        try:
            company = services.company_create(name=name, credit_code=credit_code, region=region)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {company} (id {company.pk})"))
