from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = _("Reconciliation and recovery")

    def ready(self) -> None:
        from invoices.signals import import_batch_succeeded

        import_batch_succeeded.connect(_on_import_succeeded, dispatch_uid="recovery.reconcile_after_import")


def _on_import_succeeded(sender, batch, **kwargs) -> None:
    """Queue a reconciliation of the batch's company/direction over the period it touched."""
    from django.db.models import Max, Min

    from invoices.models import ImportKind, Invoice, TaxRecord

    from .services import reconciliation_run_create

    model = Invoice if batch.kind == ImportKind.BACKUP else TaxRecord
    span = model.objects.filter(batch=batch).aggregate(lo=Min("issue_date"), hi=Max("issue_date"))
    reconciliation_run_create(
        company=batch.company,
        direction=batch.direction,
        period_start=span["lo"],
        period_end=span["hi"],
        trigger="import",
    )
