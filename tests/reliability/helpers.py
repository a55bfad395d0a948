"""What the reliability tests check once the workers are done: gaps, nothing left over, alerts sent once."""

from __future__ import annotations

from invoices.models import BatchState, ImportBatch, TaxFetch, TaxFetchState
from notices.notify.models import Delivery, DeliveryState
from recovery.models import Alert, Gap, ReconciliationRun, RunState
from tests.conftest import wait_until


def gaps(company) -> list[tuple[str, str, str]]:
    return sorted(Gap.objects.filter(company=company).values_list("kind", "invoice_key", "status"))


def assert_settled() -> None:
    """Nothing left queued or running, nothing waiting to be sent."""

    def settled():
        return not (
            ImportBatch.objects.filter(state__in=[BatchState.QUEUED, BatchState.RUNNING]).exists()
            or TaxFetch.objects.filter(state__in=[TaxFetchState.QUEUED, TaxFetchState.RUNNING]).exists()
            or ReconciliationRun.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).exists()
            or Delivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.SENDING]).exists()
            or Alert.objects.filter(published_at__isnull=True).exists()
        )

    wait_until(settled, timeout=90)


def assert_each_alert_published_once(hook, company) -> None:
    assert not Alert.objects.filter(published_at__isnull=True).exists()
    alerts = list(Alert.objects.filter(company=company))
    assert alerts
    for alert in alerts:
        delivery = Delivery.objects.get(event_key=f"alert:{alert.pk}")  # one per target, and one target
        accepted = [r for r in hook.completed if r["headers"]["X-Portal-Delivery"] == str(delivery.uuid)]
        assert len(accepted) == 1, alert
