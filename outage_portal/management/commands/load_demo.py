from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Load the demo scenario (Beijing outage, Xi'an notices). Safe to run again: it changes nothing."

    def handle(self, *args, **options):
        for step in settings.DEMO_SCENARIO_STEPS:
            import_string(step)(stdout=self.stdout)
