from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagePortalConfig(AppConfig):
    name = "outage_portal"
    verbose_name = _("Accounts and companies")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from outage_portal import apitokens, checks  # noqa: F401  (registers deploy checks)
        from outage_portal.middleware import session_touch

        # The idle clock starts at sign-in, so the first request after it needs no session write.
        def touch(sender, request=None, **kwargs):
            if getattr(request, "session", None) is not None:
                session_touch(request.session)

        user_logged_in.connect(touch, weak=False, dispatch_uid="session-idle-touch")

        apitokens.connect()
