from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponseConfig(AppConfig):
    name = "response"
    verbose_name = _("Incident response")

    def ready(self) -> None:
        from recovery.reissue import pack

        from .letters import pack_sections

        # The company's response goes into the evidence pack and the deferred-filing application.
        pack.PACK_SECTIONS.append(pack_sections)
