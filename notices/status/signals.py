"""Keep the derived status fresh when notices, incidents, incident updates or tax systems change.

The status page's cache gets a new version at once and again after the commit (a page rendered
in between from data read before the commit must not outlive it). After the commit, the days a
window or incident touches (before and after the change, so a moved window clears its old days)
are recomputed. Changes made with `queryset.update()` bypass signals: call
`notices.status.derived.status_days_refresh_span` and `notices.status.cache.invalidate` after them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from notices.models import Incident, IncidentUpdate, MaintenanceNotice, TaxSystem
from notices.status import cache as status_cache
from notices.status import derived


def _span(instance) -> tuple[int, object, object] | None:
    if isinstance(instance, MaintenanceNotice):
        return instance.system_id, instance.window_start, instance.window_end
    if isinstance(instance, Incident):
        return instance.system_id, instance.started_at, instance.ended_at
    return None


def _refresh_after_commit(spans) -> None:
    status_cache.invalidate()

    def refresh():
        for system_id, start, end in {span for span in spans if span and span[1]}:
            derived.status_days_refresh_span(system_id=system_id, start=start, end=end)
        status_cache.invalidate()

    transaction.on_commit(refresh)


@receiver(pre_save, sender=MaintenanceNotice, dispatch_uid="status-notice-pre-save")
@receiver(pre_save, sender=Incident, dispatch_uid="status-incident-pre-save")
def remember_old_span(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).first()
    instance._status_old_span = _span(old) if old else None


@receiver(post_save, sender=MaintenanceNotice, dispatch_uid="status-notice-saved")
@receiver(post_save, sender=Incident, dispatch_uid="status-incident-saved")
@receiver(post_delete, sender=MaintenanceNotice, dispatch_uid="status-notice-deleted")
@receiver(post_delete, sender=Incident, dispatch_uid="status-incident-deleted")
def refresh_status(sender, instance, raw=False, **kwargs):
    if raw:
        return
    _refresh_after_commit([getattr(instance, "_status_old_span", None), _span(instance)])


@receiver(post_save, sender=IncidentUpdate, dispatch_uid="status-update-saved")
@receiver(post_delete, sender=IncidentUpdate, dispatch_uid="status-update-deleted")
@receiver(post_save, sender=TaxSystem, dispatch_uid="status-system-saved")  # added, renamed, retired
@receiver(post_delete, sender=TaxSystem, dispatch_uid="status-system-deleted")
def refresh_status_page(sender, instance, raw=False, **kwargs):
    if raw:
        return
    status_cache.invalidate()
    transaction.on_commit(status_cache.invalidate)
