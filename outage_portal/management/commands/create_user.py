import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from outage_portal import services
from outage_portal.models import Company, Role, User


class Command(BaseCommand):
    help = (
        "Create a user (or add a role to an existing one) in a company. The password comes from the "
        "PORTAL_USER_PASSWORD environment variable or an interactive prompt."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--company", help="unified social credit code of the company")
        parser.add_argument("--role", choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--notice-admin",
            action="store_true",
            help="may post notices and incidents site-wide",
        )

    def handle(self, *args, username, company, role, email, notice_admin, **options):
        if bool(company) != bool(role):
            raise CommandError("--company and --role go together")
        target = None
        if company:
            target = Company.objects.filter(credit_code=company.strip().upper()).first()
            if target is None:
                raise CommandError(f"No company with credit code {company}")
        try:
            with transaction.atomic():
                user = User.objects.filter(username=username).first()
                if user is None:
                    password = os.environ.get("PORTAL_USER_PASSWORD") or self._prompt_password()
                    user = services.user_create(username=username, password=password, email=email)
                    self.stdout.write(self.style.SUCCESS(f"Created user {username}"))
                if notice_admin:
                    services.user_grant_notice_admin(user=user)
                if target:
                    services.membership_grant(user=user, company=target, role=role)
                    self.stdout.write(self.style.SUCCESS(f"{username} is {role} of {target}"))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

    def _prompt_password(self) -> str:
        if not os.isatty(0):
            raise CommandError("Set PORTAL_USER_PASSWORD or run interactively to enter a password")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match")
        if not first:
            raise CommandError("The password must not be empty")
        return first
