"""System checks that keep a production deployment honest."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def check_production_services(app_configs, **kwargs):
    warnings = []
    if settings.IS_SQLITE:
        warnings.append(
            Warning(
                "DATABASE_URL is not set: the portal runs on SQLite.",
                hint="Set DATABASE_URL=postgres://… for production.",
                id="outage_portal.W001",
            )
        )
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "REDIS_URL is not set: Celery uses the single-machine filesystem broker.",
                hint="Set REDIS_URL=redis://… for production.",
                id="outage_portal.W002",
            )
        )
    return warnings
