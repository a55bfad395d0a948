"""The gap summary the dashboard reads stays exact whoever writes gaps: reconciliation runs (first
run, rerun, resolution, reopening), people's decisions, reissue requests, bulk updates, deletions and
cascades. Exact means: the same rows as grouping the gaps themselves, and the same dashboard figures
as computing them from the gaps, which is what the dashboard did before the summary."""

from __future__ import annotations

import importlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import BooleanField, Case, Count, DateTimeField, F, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoices.models import TaxRecord
from recovery import selectors, services
from recovery.models import OPEN_GAP_STATES, Gap, GapKind, GapStatus, GapSummary
from tests.recovery.helpers import book, run, tax

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_alerts(monkeypatch):
    monkeypatch.setattr("notices.events.event_publish", lambda *a, **k: None)


# --- What the summary must hold, computed from the gaps ------------------------------------------


def _closed_at(gap: Gap) -> datetime | None:
    dismissed = gap.status == GapStatus.DISMISSED
    if dismissed and gap.resolved_at and gap.decided_at and gap.decided_at < gap.resolved_at:
        return gap.decided_at
    return gap.resolved_at or (gap.decided_at if dismissed else None)


def _summary_of_gaps() -> dict:
    expected: dict[tuple, tuple[int, Decimal]] = {}
    for gap in Gap.objects.all():
        if gap.status == GapStatus.DISMISSED and gap.decided_at is None:
            continue  # dismissed without a date: never counted
        closed = _closed_at(gap)
        key = (
            gap.company_id,
            gap.status in OPEN_GAP_STATES,
            timezone.localtime(closed).date() if closed else date.max,
            timezone.localtime(gap.first_seen_at).date(),
            gap.direction,
            gap.kind,
            gap.incident_kind,
            gap.incident_id or 0,
            gap.incident_title,
            gap.incident_url,
        )
        n, amount = expected.get(key, (0, Decimal("0")))
        expected[key] = (n + 1, amount + gap.amount_at_risk)
    return expected


def _summary() -> dict:
    return {
        (
            row.company_id,
            row.is_open,
            row.closed_on,
            row.found_on,
            row.direction,
            row.kind,
            row.incident_kind,
            row.incident_id,
            row.incident_title,
            row.incident_url,
        ): (row.gaps, row.amount_at_risk)
        for row in GapSummary.objects.all()
    }


# --- The dashboard's figures computed from the gaps (the queries the summary replaced) -----------


def _figures_from_gaps(user, today: date) -> dict:
    tz = timezone.get_current_timezone()
    days = [today - timedelta(days=selectors.TREND_DAYS - 1 - i) for i in range(selectors.TREND_DAYS)]
    ends = [datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz) for day in days]
    open_now = Q(status__in=OPEN_GAP_STATES)
    not_closed = (
        ~Q(resolved_at__lt=ends[0])
        & ~Q(status=GapStatus.DISMISSED, decided_at__lt=ends[0])
        & ~Q(status=GapStatus.DISMISSED, decided_at__isnull=True)
    )
    closed_at = Case(
        When(
            Q(status=GapStatus.DISMISSED, resolved_at__isnull=False, decided_at__lt=F("resolved_at")),
            then=F("decided_at"),
        ),
        When(resolved_at__isnull=False, then=F("resolved_at")),
        When(status=GapStatus.DISMISSED, then=F("decided_at")),
        default=None,
        output_field=DateTimeField(),
    )
    groups = (
        Gap.objects.for_user(user)
        .filter(Q(first_seen_at__lt=ends[-1]) & not_closed | open_now)
        .exclude(status=GapStatus.DISMISSED, decided_at__isnull=True)
        .annotate(
            found_on=TruncDate("first_seen_at", tzinfo=tz),
            closed_on=TruncDate(closed_at, tzinfo=tz),
            open_now=Case(When(open_now, then=Value(True)), default=Value(False), output_field=BooleanField()),
        )
        .values("found_on", "closed_on", "open_now")
        .annotate(n=Count("id"), amount=Sum("amount_at_risk"))
        .order_by()
    )
    n, amount, trend = 0, Decimal("0"), [0] * selectors.TREND_DAYS
    for group in groups:
        if group["open_now"]:
            n += group["n"]
            amount += group["amount"] or Decimal("0")
        for i, day in enumerate(days):
            if group["found_on"] <= day and (group["closed_on"] is None or group["closed_on"] > day):
                trend[i] += group["n"]
    return {"open": n, "amount": amount, "trend": list(zip(days, trend, strict=True))}


def _by_kind_from_gaps(user) -> list[tuple]:
    rows = (
        Gap.objects.for_user(user)
        .filter(status__in=OPEN_GAP_STATES)
        .values("kind")
        .annotate(n=Count("id"), amount=Sum("amount_at_risk"))
        .order_by("kind")
    )
    return [(r["kind"], r["n"], r["amount"]) for r in rows]


def _by_incident_from_gaps(user) -> list[tuple]:
    rows = (
        Gap.objects.for_user(user)
        .filter(status__in=OPEN_GAP_STATES)
        .values("incident_kind", "incident_id", "incident_title", "incident_url")
        .annotate(n=Count("id"), amount=Sum("amount_at_risk"))
    )
    return sorted(_incident_row(r) for r in rows)


def _incident_row(r: dict) -> tuple:
    return (-r["n"], r["incident_kind"], r["incident_id"] or 0, r["incident_title"], r["incident_url"], r["amount"])


def _assert_exact(*users) -> None:
    """The summary holds what the gaps say, and each user's dashboard figures are the gaps' figures."""
    assert _summary() == _summary_of_gaps()
    today = timezone.localdate()
    for user in users:
        assert selectors.gap_figures(user, today=today) == _figures_from_gaps(user, today)
        assert [(r["kind"], r["n"], r["amount"]) for r in selectors.gaps_by_kind(user)] == _by_kind_from_gaps(user)
        by_incident = selectors.gaps_by_incident(user, limit=1000)
        assert [_incident_row(r) for r in by_incident] == _by_incident_from_gaps(user)
        assert all(r["incident_id"] is None for r in by_incident if not r["incident_kind"])


# --- Writers -------------------------------------------------------------------------------------


def _books_and_tax(company, numbers: range, *, missing: set[str], differing: set[str]) -> None:
    for n in numbers:
        number = f"{n:08d}"
        book(company, number=number, amount=f"{100 + n}.00")
        if number not in missing:
            tax(company, number=number, amount=f"{100 + n + (7 if number in differing else 0)}.00")


def test_runs_and_peoples_decisions_keep_the_summary_and_the_dashboard_exact(beijing, xian, alice, fiona, charlie):
    _books_and_tax(
        beijing, range(1, 13), missing={"00000001", "00000002", "00000003", "00000004"}, differing={"00000005"}
    )
    tax(beijing, number="00000090", amount="300.00")  # only in the tax system
    _books_and_tax(xian, range(1, 4), missing={"00000001"}, differing=set())

    run(beijing)  # the first run: one INSERT of every gap
    run(xian)
    assert Gap.objects.filter(company=beijing).count() == 6
    _assert_exact(fiona, charlie)

    before = _summary()
    run(beijing)  # a rerun: every gap found again, nothing summarised changes
    assert _summary() == before
    _assert_exact(fiona)

    gaps = {g.invoice_key[-8:]: g for g in Gap.objects.filter(company=beijing)}
    # A window explains some gaps (as runs attribute them: one UPDATE of many rows).
    Gap.objects.filter(pk__in=[gaps["00000001"].pk, gaps["00000002"].pk]).update(
        incident_kind="incident", incident_id=7, incident_title="开票系统故障", incident_url="/incidents/7/"
    )
    _assert_exact(fiona)

    services.gap_acknowledge(gap=gaps["00000003"], user=alice)
    services.gap_assign(gap=gaps["00000003"], assignee=alice, user=alice)
    services.gap_dismiss(gap=gaps["00000005"], reason="金额已核对", user=alice)
    services.gap_link(
        gap=gaps["00000090"], tax_record=TaxRecord.objects.get(invoice_key__endswith="00000012"), reason="", user=alice
    )
    _assert_exact(fiona)

    # The tax system catches up on two invoices: the next run resolves their gaps.
    tax(beijing, number="00000001", amount="101.00")
    tax(beijing, number="00000004", amount="104.00")
    run(beijing)
    assert Gap.objects.get(pk=gaps["00000001"].pk).status == GapStatus.RESOLVED
    _assert_exact(fiona)

    # One of them vanishes again: the run reopens its gap.
    TaxRecord.objects.filter(company=beijing, invoice_key__endswith="00000004").delete()
    run(beijing)
    assert Gap.objects.get(pk=gaps["00000004"].pk).status == GapStatus.OPEN
    _assert_exact(fiona)

    # History: gaps found on different days, closed on others, amounts changed (one UPDATE of many rows).
    now = timezone.now()
    history = list(Gap.objects.filter(company=beijing).order_by("pk"))
    for i, gap in enumerate(history):
        gap.first_seen_at = now - timedelta(days=3 + 9 * i, hours=i)
        gap.amount_at_risk += i
        if gap.status == GapStatus.RESOLVED:
            gap.resolved_at = now - timedelta(days=i)
        if gap.status == GapStatus.DISMISSED:
            gap.decided_at = now - timedelta(days=2 * i)
    Gap.objects.bulk_update(history, ["first_seen_at", "amount_at_risk", "resolved_at", "decided_at"])
    assert len({n for _day, n in selectors.gap_figures(fiona, today=timezone.localdate())["trend"]}) > 2
    _assert_exact(fiona)

    Gap.objects.filter(pk=gaps["00000005"].pk).update(decided_at=None)  # dismissed without a date: never open
    gaps["00000002"].delete()
    _assert_exact(fiona, charlie)

    xian_id = xian.pk
    xian.delete()  # the company's gaps go with it, and so do its summary rows
    assert not GapSummary.objects.filter(company_id=xian_id).exists()
    _assert_exact(fiona)


def test_an_upsert_of_gaps_found_again_keeps_the_summary_exact(beijing, fiona):
    """INSERT ... ON CONFLICT DO UPDATE (the engine's upsert): new gaps are inserted, gaps found again
    are updated (a resolved one reopened, its amount changed) in the one statement."""
    from tests.recovery.helpers import _gaps

    _gaps(beijing, 6)
    Gap.objects.filter(gap_key__in=["K00000001", "K00000002"]).update(
        status=GapStatus.RESOLVED, resolved_at=timezone.now() - timedelta(days=1)
    )
    _assert_exact(fiona)
    found = list(Gap.objects.filter(gap_key__in=["K00000001", "K00000003"]))
    for gap in found:
        gap.pk, gap.status, gap.resolved_at, gap.amount_at_risk = None, GapStatus.OPEN, None, Decimal("99.50")
    fresh = Gap(**{f.attname: getattr(found[0], f.attname) for f in Gap._meta.concrete_fields})
    fresh.gap_key, fresh.kind = "K99999999", GapKind.ONLY_IN_BOOKS
    Gap.objects.bulk_create(
        [*found, fresh],
        update_conflicts=True,
        unique_fields=["company", "direction", "kind", "gap_key"],
        update_fields=["status", "resolved_at", "amount_at_risk"],
    )
    assert Gap.objects.get(gap_key="K00000001").status == GapStatus.OPEN
    assert Gap.objects.filter(company=beijing).count() == 7
    _assert_exact(fiona)


def test_closing_a_reissue_request_resolves_its_gaps_in_the_summary(beijing, alice, bob, fiona, gaps):
    from recovery.reissue import services as reissue_services
    from tests.recovery.reissue.fixtures import reissued

    req = reissued(beijing, alice, bob, gaps)
    _assert_exact(fiona)
    open_before = selectors.gap_figures(fiona, today=timezone.localdate())["open"]
    reissue_services.reissue_request_close(request=req, user=alice)
    assert selectors.gap_figures(fiona, today=timezone.localdate())["open"] == open_before - len(gaps)
    _assert_exact(fiona)


def test_the_summary_is_filled_from_the_gaps_already_recorded(beijing, fiona):
    """What migration 0017_gap_summary does for the gaps written before it: the summary it fills is exact."""
    from tests.recovery.helpers import _gaps

    _gaps(beijing, 20)
    Gap.objects.filter(pk__in=Gap.objects.order_by("pk").values("pk")[:5]).update(
        status=GapStatus.RESOLVED, resolved_at=timezone.now() - timedelta(days=2)
    )
    expected = _summary_of_gaps()
    migration = importlib.import_module("recovery.migrations.0017_gap_summary")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM recovery_gapsummary")
        cursor.execute(migration._fill(connection))
    assert _summary() == expected
    _assert_exact(fiona)


def test_the_dashboard_reads_the_summary_not_the_gaps(client_for, fiona, beijing):
    from tests.recovery.helpers import _gaps

    _gaps(beijing, 30)
    client = client_for(fiona)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert response.context["figures"]["open"] == 30
    assert not [q["sql"] for q in captured if '"recovery_gap"' in q["sql"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
@pytest.mark.parametrize("tables", ["recovery_gap", "recovery_gap, recovery_gapsummary"])  # the latter: a flush
def test_truncating_the_gaps_empties_the_summary(beijing, fiona, tables):
    from tests.recovery.helpers import _gaps

    _gaps(beijing, 10)
    assert GapSummary.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction holds deferred checks
        cursor.execute(f"TRUNCATE {tables} CASCADE")
    assert not GapSummary.objects.exists()
    _assert_exact(fiona)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row versions are PostgreSQL's")
def test_a_rerun_writes_nothing_to_the_summary(beijing):
    """A rerun rewrites every gap it finds again (last seen run and time), which the summary does not
    hold: its rows keep their row versions (no write, no lock against people deciding meanwhile)."""
    _books_and_tax(beijing, range(1, 9), missing={"00000001", "00000002"}, differing={"00000003"})
    run(beijing)

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, ctid::text, xmin::text FROM recovery_gapsummary ORDER BY id")
            return cursor.fetchall()

    before = versions()
    assert before
    run(beijing)
    assert versions() == before


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL is flushed with one TRUNCATE, which the trigger follows"
)
def test_deleting_gaps_after_the_summary_leaves_it_empty(beijing):
    """Django's flush (between transactional tests) deletes table after table in no set order: gaps
    deleted after their summary rows must not leave negative rows behind."""
    from tests.recovery.helpers import _gaps

    _gaps(beijing, 5)
    GapSummary.objects.all().delete()
    Gap.objects.all().delete()
    assert not GapSummary.objects.exists()
