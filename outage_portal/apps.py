from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagePortalConfig(AppConfig):
    name = "outage_portal"
    verbose_name = _("Accounts and companies")

    def ready(self) -> None:
        from outage_portal import apitokens, checks  # noqa: F401  (registers deploy checks)

        apitokens.connect()
