from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Tax systems, notices and incidents")

    def ready(self):
        # Status: cache invalidation and history-day receivers, and the nightly task (Celery's
        # autodiscovery looks in notices.tasks and notices.notify.tasks only).
        from notices.status import signals, tasks  # noqa: F401
