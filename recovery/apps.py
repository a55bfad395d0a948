from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = _("Reconciliation and recovery")

    def ready(self) -> None:
        from invoices.signals import import_batch_succeeded

        import_batch_succeeded.connect(_on_import_succeeded, dispatch_uid="recovery.reconcile_after_import")


def _on_import_succeeded(sender, batch, **kwargs) -> None:
    """Queue a reconciliation of the batch's company/direction over the period it touched (in runs of
    at most RECONCILIATION_MAX_SPAN_DAYS each, so a backup of several years is compared whole)."""
    from invoices.models import ImportBatch

    from .periods import chunks
    from .services import reconciliation_run_create

    span = ImportBatch.objects.values("issued_from", "issued_to").get(pk=batch.pk)
    if span["issued_from"] is None or span["issued_to"] is None:
        periods = [(None, None)]  # the records' span
    else:
        periods = chunks(span["issued_from"], span["issued_to"])
    for start, end in periods:
        reconciliation_run_create(
            company=batch.company, direction=batch.direction, period_start=start, period_end=end, trigger="import"
        )
