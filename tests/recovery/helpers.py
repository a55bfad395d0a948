"""Books, tax records and runs for the reconciliation tests (and the tests of what builds on a run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from invoices.keys import invoice_key
from invoices.models import Direction, Invoice, TaxRecord
from recovery import services
from recovery.models import Gap, GapKind, GapStatus, ReconciliationRun, RunState

DAY = date(2026, 11, 10)
START, END = date(2026, 11, 1), date(2026, 11, 30)


def _fields(company, *, code="1100231130", number="1", digital="", **extra):
    amount = Decimal(extra.pop("amount", "100.00"))
    tax = Decimal(extra.pop("tax", "13.00"))
    return {
        "company": company,
        "direction": Direction.ISSUED,
        "invoice_key": invoice_key(code=code, number=number, digital_number=digital),
        "invoice_code": code,
        "invoice_number": number,
        "digital_number": digital,
        "issue_date": extra.pop("issue_date", DAY),
        "seller_tax_id": extra.pop("seller", "91110108MA01B2C3D0"),
        "buyer_tax_id": extra.pop("buyer", f"91310000MA{number[-8:]:0>8}"),
        "amount": amount,
        "tax": tax,
        "total": amount + tax,
        "invoice_type": "special",
        **extra,
    }


def book(company, **kw):
    return Invoice.objects.create(**_fields(company, **kw))


def tax(company, **kw):
    return TaxRecord.objects.create(seen_at=timezone.now(), **_fields(company, **kw))


def run(company, **kw):
    r = services.reconciliation_run_create(
        company=company, direction=Direction.ISSUED, period_start=START, period_end=END, enqueue=False, **kw
    )
    return services.reconciliation_run_execute(run_id=r.pk)


def kinds(company):
    return sorted(Gap.objects.filter(company=company).values_list("kind", "invoice_key"))


def _gaps(company, n, *, start=0, **extra):
    """n open gaps of every kind in turn, written at once (as a long-running company has them)."""
    run = ReconciliationRun.objects.create(
        company=company,
        direction=Direction.ISSUED,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        state=RunState.SUCCEEDED,
    )
    now = timezone.now()
    kinds = list(GapKind.values)
    Gap.objects.bulk_create(
        [
            Gap(
                company=company,
                direction=Direction.ISSUED,
                kind=extra.get("kind", kinds[i % len(kinds)]),
                gap_key=f"K{i:08d}",
                invoice_key=extra.get("invoice_key", f"K{i:08d}"),
                issue_date=date(2026, 11, 10),
                amount_at_risk=Decimal("10.00"),
                first_seen_run=run,
                last_seen_run=run,
                first_seen_at=now,
                last_seen_at=now,
            )
            for i in range(start, start + n)
        ],
        batch_size=5000,
    )
    return run


def gaps_in_every_state(company, n) -> list[int]:
    """n gaps, every third resolved (at times out of step with the order they were found in), the rest
    open, acknowledged or dismissed; returns their ids in the order the gap list shows them: the gaps
    still there newest found first, then the resolved ones most recently resolved first."""
    from datetime import timedelta

    _gaps(company, n)
    now = timezone.now()
    gaps = list(Gap.objects.filter(company=company).order_by("pk"))
    for i, gap in enumerate(gaps):
        if i % 3 == 0:
            gap.status, gap.resolved_at = GapStatus.RESOLVED, now - timedelta(hours=(i * 7) % 40)
        else:
            gap.status = (GapStatus.OPEN, GapStatus.ACKNOWLEDGED, GapStatus.DISMISSED)[i % 3]
    Gap.objects.bulk_update(gaps, ["status", "resolved_at"])
    still_there = sorted((g for g in gaps if g.resolved_at is None), key=lambda g: -g.pk)
    resolved = sorted((g for g in gaps if g.resolved_at is not None), key=lambda g: (g.resolved_at, g.pk), reverse=True)
    return [g.pk for g in still_there + resolved]
