"""The pages people use daily run the same number of queries with 5 rows as with 50: nothing is
fetched per row, so a company with a million invoices costs each page no more queries than a new one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoices.models import RECORD_LIST_ORDER, BatchState, ImportBatch, ImportKind, Invoice, TaxRecord
from recovery.models import OPEN_GAP_STATES, Gap, GapKind, GapStatus, ReconciliationRun, RunState

PAGES = {
    "dashboard": lambda gap: reverse("portal:home"),
    "gap list": lambda gap: reverse("recovery:recovery-gap-list"),
    "gap list filtered": lambda gap: reverse("recovery:recovery-gap-list") + "?status=open&kind=only_in_books",
    "gap list, a later page": lambda gap: reverse("recovery:recovery-gap-list") + "?page=2",
    "gap page": lambda gap: reverse("recovery:recovery-gap-detail", args=[gap.pk]),
    "invoice list": lambda gap: reverse("invoices:invoice-list"),
    "invoice list filtered": lambda gap: reverse("invoices:invoice-list") + "?issued_from=2026-01-01&counterparty=客户",
    "invoice list, one direction": lambda gap: reverse("invoices:invoice-list") + "?direction=issued",
    "import list": lambda gap: reverse("invoices:import-list"),
    "run list": lambda gap: reverse("recovery:recovery-run-list"),
    "gap API": lambda gap: "/api/gaps/",
    "run API": lambda gap: "/api/reconciliation-runs/",
    "invoice API": lambda gap: "/api/invoices/",
    "invoice API, one direction": lambda gap: "/api/invoices/?direction=issued&page=last",
    "tax-record API": lambda gap: "/api/tax-records/",
    "tax-record API, a late page": lambda gap: "/api/tax-records/?direction=issued&page=last",
}


def _add(company, start: int, count: int) -> None:
    """`count` more of everything the pages list: invoices, tax records, runs, imports and gaps (one
    open, one resolved in turn), numbered from `start`."""
    now = timezone.now()
    batches = ImportBatch.objects.bulk_create(
        ImportBatch(company=company, kind=ImportKind.BACKUP, state=BatchState.SUCCEEDED, finished_at=now)
        for _ in range(count)
    )
    records = [
        {
            "company": company,
            "direction": "issued",
            "invoice_key": f"{n:020d}",
            "digital_number": f"{n:020d}",
            "issue_date": date(2026, 1, 1) + timedelta(days=n % 200),
            "seller_tax_id": company.credit_code,
            "buyer_tax_id": "91310000MA1FL0XX2B",
            "buyer_name": f"客户{n}有限公司",
            "amount": Decimal("100.00"),
            "tax": Decimal("13.00"),
            "total": Decimal("113.00"),
            "invoice_type": "special",
            "batch": batches[0],
        }
        for n in range(start, start + count)
    ]
    invoices = Invoice.objects.bulk_create(Invoice(**r) for r in records)
    TaxRecord.objects.bulk_create(TaxRecord(**r, seen_at=now) for r in records)
    runs = ReconciliationRun.objects.bulk_create(
        ReconciliationRun(
            company=company,
            direction="issued",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
            state=RunState.SUCCEEDED,
            finished_at=now,
        )
        for _ in range(count)
    )
    Gap.objects.bulk_create(
        Gap(
            company=company,
            direction="issued",
            kind=GapKind.ONLY_IN_BOOKS,
            gap_key=invoice.invoice_key,
            invoice_key=invoice.invoice_key,
            invoice=invoice,
            issue_date=invoice.issue_date,
            amount_at_risk=invoice.total,
            status=GapStatus.OPEN if i % 2 else GapStatus.RESOLVED,
            resolved_at=None if i % 2 else now,
            first_seen_run=run,
            last_seen_run=run,
            first_seen_at=now - timedelta(days=i % 40),
            last_seen_at=now,
        )
        for i, (invoice, run) in enumerate(zip(invoices, runs, strict=True))
    )


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_runs_as_many_queries_for_50_rows_as_for_5(page, client_for, api_for, fiona, beijing, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    client = api_for(fiona) if page.endswith("API") else client_for(fiona)
    _add(beijing, 1, 5)
    gap = Gap.objects.filter(company=beijing).order_by("pk").first()
    path = PAGES[page](gap)
    client.get(path)  # the first request of a session may settle one-off state
    few = _queries(client, path)
    _add(beijing, 6, 45)
    assert _queries(client, path) == few


@pytest.mark.parametrize("orphans", [0, 10])
@pytest.mark.parametrize("rows", [125, 260])  # pages from the start, the middle and the end
def test_pages_found_by_key_first_hold_the_same_rows_in_the_same_order(beijing, orphans, rows):
    from django.core.paginator import Paginator

    from outage_portal.pages import DeferredPaginator

    _add(beijing, 1, rows)
    invoices = Invoice.objects.filter(company=beijing).order_by(*RECORD_LIST_ORDER)
    plain, deferred = Paginator(invoices, 50, orphans=orphans), DeferredPaginator(invoices, 50, orphans=orphans)
    assert deferred.num_pages == plain.num_pages
    for number in plain.page_range:
        assert list(deferred.page(number)) == list(plain.page(number))


def test_the_dashboards_trend_counts_each_day_as_a_filter_per_day_would(fiona, beijing):
    """The figures come from gaps grouped by the days they were found and closed; the reference here
    counts each day with its own filter (open at the end of the day: found before, not resolved and
    not dismissed by then; dismissed without a date: never open)."""
    from datetime import datetime, time

    from django.db.models import Count, Q, Sum

    from recovery import selectors

    _add(beijing, 1, 60)
    now = timezone.now()
    gaps = list(Gap.objects.filter(company=beijing).order_by("pk"))
    for i, gap in enumerate(gaps):
        gap.first_seen_at = now - timedelta(days=i % 45, hours=i)
        gap.status = [GapStatus.OPEN, GapStatus.ACKNOWLEDGED, GapStatus.RESOLVED, GapStatus.DISMISSED][i % 4]
        gap.resolved_at = now - timedelta(days=i % 13) if gap.status == GapStatus.RESOLVED or i % 7 == 0 else None
        gap.decided_at = None if i % 8 == 3 else now - timedelta(days=i % 17, hours=3)
    Gap.objects.bulk_update(gaps, ["first_seen_at", "status", "resolved_at", "decided_at"])

    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    days = [today - timedelta(days=selectors.TREND_DAYS - 1 - i) for i in range(selectors.TREND_DAYS)]
    ends = [datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz) for day in days]

    def open_on(moment):
        return (
            Q(first_seen_at__lt=moment)
            & ~Q(resolved_at__lt=moment)
            & ~Q(status=GapStatus.DISMISSED, decided_at__lt=moment)
            & ~Q(status=GapStatus.DISMISSED, decided_at__isnull=True)
        )

    open_now = Q(status__in=OPEN_GAP_STATES)
    row = Gap.objects.filter(company=beijing).aggregate(
        n=Count("id", filter=open_now),
        amount=Sum("amount_at_risk", filter=open_now),
        **{f"d{i}": Count("id", filter=open_on(end)) for i, end in enumerate(ends)},
    )
    figures = selectors.gap_figures(fiona, today=today)
    assert figures["open"] == row["n"] and figures["amount"] == row["amount"]
    assert figures["trend"] == [(day, row[f"d{i}"]) for i, day in enumerate(days)]
    assert len({n for _day, n in figures["trend"]}) > 3  # the days differ: the test compares something
