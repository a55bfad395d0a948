"""Demo: for the Beijing gaps, a submitted and an approved reissue request, a hand-issued invoice and a
deferred-filing draft. Idempotent: each piece is created only when it is not there yet."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from demo.foundation import beijing_outage_window, demo_company
from invoices.models import Direction
from outage_portal.models import User
from recovery.deferred import services as deferred_services
from recovery.deferred.models import DeferredFiling
from recovery.models import OPEN_GAP_STATES, Gap, GapKind
from recovery.reissue import services
from recovery.reissue.models import HandIssuedInvoice, ReissueItem, ReissueRequest, ReviewState


def _beijing_incident():
    from notices.models import Incident

    start, end = beijing_outage_window()
    return (
        Incident.objects.filter(started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .filter(Q(system__region="北京"))
        .order_by("started_at")
        .first()
    )


def load(stdout) -> None:
    company = demo_company("bj")
    accountant = User.objects.get(username="bj_accountant")
    reviewer = User.objects.get(username="bj_reviewer")
    incident = _beijing_incident()
    # Idempotent by author: once the demo accountant has requests, the demo leaves them alone.
    if not ReissueRequest.objects.filter(company=company, created_by=accountant).exists():
        taken = ReissueItem.objects.exclude(gap=None).values("gap_id")
        gaps = list(
            Gap.objects.filter(company=company, kind=GapKind.ONLY_IN_BOOKS, status__in=OPEN_GAP_STATES)
            .exclude(pk__in=taken)
            .order_by("issue_date", "invoice_key")[:6]
        )
        if len(gaps) >= 2:
            half = len(gaps) // 2
            for part, approve in ((gaps[:half], False), (gaps[half:], True)):
                req = services.reissue_request_create(
                    company=company,
                    user=accountant,
                    gaps=part,
                    incident=incident,
                    reason_detail="税务系统数据同步故障期间开具的发票未同步到税务系统，申请补开。",
                    counterparty_name="上海东方电子有限公司",
                    contact_name="陈经理",
                    contact_phone="021-5555 0101",
                )
                services.reissue_request_submit(request=req, user=accountant)
                if approve:
                    services.reissue_request_approve(request=req, user=reviewer, comment="材料齐全，同意补开。")
                stdout.write(f"reissue request {req.number}: {req.get_state_display()} ({len(part)} invoices)")
        else:
            stdout.write("reissue requests: no Beijing gaps to cover (run the invoices demo first)")

    start, _end = beijing_outage_window()
    outage_day = timezone.localtime(start).date()
    if not HandIssuedInvoice.objects.filter(company=company, invoice_key="110023113099000001").exists():
        services.hand_issued_invoice_record(
            company=company,
            user=accountant,
            invoice_code="1100231130",
            invoice_number="99000001",
            issue_date=outage_day,
            counterparty_name="天津港联实业有限公司",
            amount=Decimal("8000.00"),
            tax=Decimal("1040.00"),
            incident=incident,
            note="停机期间手工开具，待系统恢复后补录。",
            direction=Direction.ISSUED,
        )
        stdout.write("hand-issued invoice 110023113099000001 recorded")

    if not DeferredFiling.objects.filter(company=company, created_by=accountant).exists():
        from notices.models import FilingDeadline

        today = timezone.localdate()
        upcoming = FilingDeadline.objects.filter(Q(region="北京") | Q(region=""), deadline__gte=today)
        deadline = upcoming.order_by("deadline").first()
        period = deadline.period if deadline else (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        due = deadline.deadline if deadline else today.replace(day=15) if today.day < 15 else today + timedelta(days=5)
        application = deferred_services.deferred_filing_create(
            company=company,
            user=accountant,
            period=period,
            tax_type=deadline.tax_type if deadline else "增值税",
            deadline=due,
            requested_deadline=due + timedelta(days=10),
            reason="电子税务局故障覆盖申报期最后几天，无法按期完成增值税申报，申请延期申报。",
            incident=incident,
            filing_deadline=deadline,
        )
        stdout.write(f"deferred filing {application.number}: {ReviewState(application.state).label}")
