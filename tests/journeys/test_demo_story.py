"""The product's story end to end, on the demo: the Beijing outage's missing
invoices show up as gaps attributed to the incident, an alert is delivered, and once the tax system
(the simulator) recovers, the next run resolves them: the reissue requests for those invoices are
withdrawn (submitted) or flagged (approved), and whoever was alerted hears that the gaps resolved."""

from __future__ import annotations

from django.core import mail
from django.core.management import call_command

from invoices.models import Direction
from notices.models import Incident
from notices.notify.models import Delivery, DeliveryState
from outage_portal.models import Company
from recovery import services as recovery
from recovery.models import Alert, Gap, GapKind, GapStatus, RunState
from recovery.reissue.models import ReissueRequest, ReviewState
from response.models import CounterpartyCopy

BEIJING = "91110108MA01B2C3D0"


def test_beijing_outage_gaps_are_attributed_alerted_and_resolved_after_recovery(
    demo_with_simulator, settings, django_capture_on_commit_callbacks
):
    beijing = Company.objects.get(credit_code=BEIJING)
    incident = Incident.objects.get(system__region="北京", title__contains="数据同步故障")
    # An invoice a customer sent back during the company's response was lost from both sides: the tax
    # system lacks it even after it recovers (it goes to a reissue request), so it is not among these.
    copied = CounterpartyCopy.objects.exclude(batch=None).values("batch")
    missing = Gap.objects.filter(company=beijing, kind=GapKind.ONLY_IN_BOOKS, direction=Direction.ISSUED).exclude(
        invoice__batch__in=copied
    )
    assert missing.count() >= 10
    assert set(missing.values_list("incident_kind", "incident_id")) == {("incident", incident.pk)}
    assert set(missing.values_list("incident_url", flat=True)) == {incident.get_absolute_url()}

    alert = Alert.objects.filter(company=beijing).earliest("created_at")  # the first run's, after the backup
    assert alert.published_at is not None
    emailed = Delivery.objects.get(event_key=f"alert:{alert.pk}", email="bj_finance@example.com")
    assert emailed.state == DeliveryState.DELIVERED
    emailed_subjects = [
        m.subject for m in mail.outbox if "bj_finance@example.com" in m.to and beijing.name in m.subject
    ]
    assert any(str(missing.count()) in subject for subject in emailed_subjects)
    alerts = Alert.objects.filter(company=beijing).count()

    call_command(
        "tax_simulator_fault", "recover", "--url", demo_with_simulator, "--token", settings.TAX_SIMULATOR_TOKEN
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = recovery.reconciliation_run_create(company=beijing, direction=Direction.ISSUED, enqueue=False)
        run = recovery.reconciliation_run_execute(run_id=run.pk)
    assert run.state == RunState.SUCCEEDED
    assert not missing.filter(status__in=[GapStatus.OPEN, GapStatus.ACKNOWLEDGED]).exists()
    assert set(missing.values_list("resolved_by_run", flat=True)) <= {run.pk, None}
    assert missing.filter(resolved_by_run=run).exists()
    assert Alert.objects.filter(company=beijing).count() == alerts  # resolving raises no new alert

    # The loop closes: the submitted request is withdrawn (its requester told), the approved one flagged
    # and blocked until someone confirms, and the finance user who got the alert hears of it.
    requests = {
        r.state: r for r in ReissueRequest.objects.filter(company=beijing, created_by__username="bj_accountant")
    }
    assert set(requests) == {ReviewState.WITHDRAWN, ReviewState.APPROVED}
    assert not requests[ReviewState.APPROVED].items.filter(original_seen_at=None).exists()
    assert any(requests[ReviewState.WITHDRAWN].number in m.subject for m in mail.outbox)
    told = Delivery.objects.get(event_key=f"resolved:{run.pk}", email="bj_finance@example.com")
    assert told.state == DeliveryState.DELIVERED
    assert requests[ReviewState.APPROVED].number in told.payload["body"]
