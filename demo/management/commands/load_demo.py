from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import foundation, invoices, notices, recovery, response

# In order: each module adds the part of the story its area owns, on what the ones before it made.
STEPS = (foundation, notices, invoices, recovery, response)


class Command(BaseCommand):
    help = (
        "Load the demo scenario (Beijing outage, Xi'an notices). Safe to run again: it changes nothing. "
        "Refuses to run with DEBUG off (a production portal) unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="load the demo with DEBUG off too; its users then get random passwords, printed once",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like a production portal, and the demo adds companies and users "
                "to it. Run with DEBUG=1, or pass --force if you really mean it."
            )
        for step in STEPS:
            step.load(stdout=self.stdout)
